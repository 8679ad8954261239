"""``chatproto host``'s parts: options, ports, what it tells the host."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from client_helpers import TIMEOUT, client_env

from chatproto.client import host
from chatproto.discovery.net import host_label
from chatproto.nicknames import nick_key
from chatproto.operators import format_line, hash_password, read_operators


def test_defaults() -> None:
    config = host.parse_args([])
    assert config == host.HostConfig("lobby", None, 4000, True, [])


def test_other_options_are_left_for_the_server() -> None:
    config = host.parse_args(
        ["--nick", "teacher", "--history-replay", "5", "--room", "physics"]
    )
    assert (config.nick, config.room) == ("teacher", "physics")
    assert config.server_options == ["--history-replay", "5"]
    options = host.server_options(config, 4001)
    assert options["history-replay"] == 5
    assert options["room"] == "physics"
    assert options["port"].startswith("tcp:4001:")
    assert options["announce"]
    assert options["server-name"] == f"teacher on {host_label()}"


def test_our_port_and_room_win_and_a_server_name_may_be_given() -> None:
    config = host.parse_args(["--port", "5000", "--server-name", "lab", "-p", "6000"])
    options = host.server_options(config, 5000)
    assert options["port"].startswith("tcp:5000:")
    assert options["server-name"] == "lab"


def test_no_announce() -> None:
    options = host.server_options(host.parse_args(["--no-announce"]), 4000)
    assert not options["announce"]
    assert options["server-name"] == host_label()


def test_a_bad_server_option_is_a_usage_error() -> None:
    with pytest.raises(host.usage.UsageError, match="--history-replay"):
        host.server_options(host.parse_args(["--history-replay", "x"]), 4000)


def test_a_taken_port_is_skipped() -> None:
    taken = socket.socket()
    try:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert not host.port_is_free(port, "127.0.0.1")
        found = host.first_free_port(port, interface="127.0.0.1")
        assert found is not None and found > port
        assert host.first_free_port(port, tries=1, interface="127.0.0.1") is None
    finally:
        taken.close()
    assert host.port_is_free(port, "127.0.0.1")


def test_where_to_join() -> None:
    assert host.where_to_join(
        4001, "teacher on pc-12", ["192.168.1.20", "10.0.0.3"]
    ) == [
        "announced on the local network as 'teacher on pc-12': others join with "
        "a plain `chatproto`",
        "or with: chatproto --host 192.168.1.20 --port 4001 (or --host 10.0.0.3)",
    ]
    assert host.where_to_join(4000, None, ["192.168.1.20"]) == [
        "others join with: chatproto --host 192.168.1.20 --port 4000",
    ]
    assert host.where_to_join(
        4000, None, ["192.168.1.20"], ["http://192.168.1.20:8080/"]
    ) == [
        "others join with: chatproto --host 192.168.1.20 --port 4000",
        "or in a browser: http://192.168.1.20:8080/",
    ]
    assert host.where_to_join(4000, None, []) == [
        "this computer has no network address but loopback: only people on it "
        "can join (chatproto --port 4000)"
    ]


def test_it_needs_a_terminal() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "chatproto.client", "host", "--nick", "t"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=client_env(),
        timeout=TIMEOUT,
    )
    assert done.returncode == 2
    assert done.stderr == (
        "chatproto host: it needs a terminal; to run a room without one, use "
        "`twistd -n chatroom --announce`\n"
    )


def test_help() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "chatproto.client", "host", "--help"],
        capture_output=True,
        text=True,
        env=client_env(),
        timeout=TIMEOUT,
    )
    assert done.returncode == 0
    assert done.stdout.startswith("usage: chatproto host")
    flat = " ".join(done.stdout.split())
    for option in ("--room", "--nick", "--port", "--no-announce"):
        assert f"example: {option}" in flat
    assert "any option of `twistd chatroom` works too" in flat


def test_the_host_operator_file_is_private_and_removed(tmp_path: Path) -> None:
    operator = host.HostOperator.create("teacher")
    try:
        assert stat.S_IMODE(os.stat(operator.directory).st_mode) == 0o700
        assert stat.S_IMODE(os.stat(operator.path).st_mode) == 0o600
        assert operator.password not in repr(operator)
        roster = read_operators(operator.path)
        assert list(roster) == [nick_key("teacher")]
        found = roster[nick_key("teacher")]
        assert found.password_hash.matches(operator.password)
        assert not found.password_hash.matches(operator.password + "x")
        # Two hosts never share a password.
        other = host.HostOperator.create("teacher")
        assert other.password != operator.password
        other.remove()
    finally:
        operator.remove()
    assert not os.path.exists(operator.directory)


def test_the_host_operator_without_a_nickname_and_with_given_operators(
    tmp_path: Path,
) -> None:
    given = tmp_path / "operators"
    given.write_text(
        "# ours\n" + format_line("assistant", hash_password("pw", n=1024)) + "\n"
    )
    operator = host.HostOperator.create(None, str(given))
    try:
        assert operator.name == host.HOST_OPERATOR
        roster = read_operators(operator.path)
        assert set(roster) == {"assistant", nick_key(host.HOST_OPERATOR)}
    finally:
        operator.remove()


def test_given_operators_are_taken_out_of_the_server_options() -> None:
    assert host.given_operators(["--operators", "f", "--motd", "m"]) == (
        "f",
        ["--motd", "m"],
    )
    assert host.given_operators(["--operators=g"]) == ("g", [])
    assert host.given_operators(["--rate", "5"]) == (None, ["--rate", "5"])


def test_the_server_gets_the_operators_file(tmp_path: Path) -> None:
    operator = host.HostOperator.create("teacher")
    try:
        options = host.server_options(host.HostConfig(), 4000, operator.path)
        assert options["operators"].path == operator.path
        assert len(options["operators"]) == 1
    finally:
        operator.remove()
