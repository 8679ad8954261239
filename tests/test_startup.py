"""
Start-up problems: every bad option value, endpoint and busy port is one
clear UsageError (one line under twistd), and what fails while listening is
a StartupError naming the option.
"""

from __future__ import annotations

import errno
import os
import socket
import sys
from pathlib import Path

import pytest
import pytest_twisted
from servers import make_certificate
from twisted.internet.protocol import Factory, Protocol
from twisted.python import usage
from twisted.scripts.twistd import ServerOptions

from chatproto import startup
from chatproto.tap import _LIMIT_OPTIONS, Options

# Every option that takes a number.
NUMERIC = [name for name, *_ in _LIMIT_OPTIONS] + [
    "backlog",
    "history-replay",
    "history-keep",
]


def parse(*arguments: str) -> Options:
    options = Options()
    options.parseOptions(list(arguments))
    return options


@pytest.mark.parametrize("option", NUMERIC)
@pytest.mark.parametrize(
    "value", ["inf", "-inf", "nan", "1e999", "abc", "", "9" * 5000, "99999999999"]
)
def test_every_numeric_option_refuses_what_is_not_a_usable_number(
    option: str, value: str
) -> None:
    with pytest.raises(usage.UsageError) as raised:
        parse(f"--{option}", value)
    message = str(raised.value)
    assert message.startswith(f"--{option} ")
    assert "\n" not in message and len(message) < 200


@pytest.mark.parametrize(
    ("option", "value", "wanted"),
    [
        ("rate", "0.5", 0.5),
        ("rate", "1000000", 1e6),
        ("handshake-timeout", "86400", 86400),
        ("max-line", "1048576", 1 << 20),
        ("max-per-ip", "0", 0),
    ],
)
def test_numbers_within_bounds_are_taken(
    option: str, value: str, wanted: float
) -> None:
    limits = parse(f"--{option}", value)["limits"]
    assert getattr(limits, option.replace("-", "_")) == wanted


def test_bounds_are_said() -> None:
    with pytest.raises(usage.UsageError, match=r"^--handshake-timeout must be from 0 "):
        parse("--handshake-timeout", "86401")
    with pytest.raises(usage.UsageError, match=r"^--backlog must be from 1 to 65535"):
        parse("--backlog", "0")
    # The help says the same bounds.
    assert "From 0 to 86400." in str(Options())


@pytest.mark.parametrize(
    ("description", "wanted"),
    [
        ("abc", "not a port or an endpoint description; give a port number"),
        ("1x", "not a port or an endpoint description"),
        ("tcp:", "the port and backlog= must be whole numbers"),
        ("tcp:99999", "port 99999 does not exist; use 1 to 65535"),
        ("tcp:-1", "port -1 does not exist"),
        ("tcp:4000:backlog=0", "backlog= must be between 1 and 65535"),
        ("tcp:4000:colour=red", "not a valid endpoint description"),
        ("ssl:4443", "server.pem: No such file or directory (ssl: takes privateKey="),
        ("systemd:domain=INET:index=0", "systemd passed no such socket"),
    ],
)
@pytest.mark.parametrize("option", ["port", "metrics"])
def test_bad_endpoints_are_one_line_naming_the_option(
    option: str,
    description: str,
    wanted: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)  # no server.pem here
    with pytest.raises(usage.UsageError) as raised:
        parse(f"--{option}", description)
    message = str(raised.value)
    assert message.startswith(f"--{option} {description!r}: ")
    assert wanted in message


def test_tls_files_that_are_not_a_key_and_its_certificate(tmp_path: Path) -> None:
    cert, key = make_certificate(tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    other_cert, _ = make_certificate(other)
    with pytest.raises(usage.UsageError, match="does not match the private key"):
        parse("--port", f"ssl:4443:privateKey={key}:certKey={other_cert}")
    with pytest.raises(usage.UsageError, match="must be PEM files"):
        parse("--port", f"ssl:4443:privateKey={cert}")
    # The right pair is fine, and gets the backlog.
    port = parse("--port", f"ssl:4443:privateKey={key}:certKey={cert}")["port"]
    assert port.endswith(":backlog=1024")


def test_a_port_in_use_is_found_before_listening(taken_port: int) -> None:
    with pytest.raises(usage.UsageError) as raised:
        startup.check_free("port", f"tcp:{taken_port}:interface=127.0.0.1")
    assert str(raised.value) == (
        f"--port: port {taken_port} is already in use (another server "
        "running?); stop that one or choose another port"
    )
    # Any free port, and endpoints that are not a fixed TCP port, pass.
    startup.check_free("port", "tcp:0:interface=127.0.0.1")
    startup.check_free("port", "unix:/nonexistent/chat.sock")


@pytest.mark.parametrize(
    ("code", "wanted"),
    [
        (errno.EACCES, "not allowed to listen on port 80: ports below 1024 need root"),
        (errno.EADDRNOTAVAIL, "this machine has no such address; check interface="),
        (errno.EMFILE, "cannot listen there: Too many open files"),
    ],
)
def test_why_a_port_cannot_be_had_in_words(code: int, wanted: str) -> None:
    assert startup._bind_error(80, OSError(code, os.strerror(code))).startswith(wanted)


def test_an_address_not_on_this_machine() -> None:
    with pytest.raises(usage.UsageError, match="this machine has no such address"):
        # TEST-NET-1 (RFC 5737): never a local address.
        startup.check_free("metrics", "tcp:4000:interface=192.0.2.1")


def twistd_parse(*arguments: str) -> ServerOptions:
    config = ServerOptions()
    config.parseOptions(["chatroom", *arguments])
    return config


@pytest.mark.parametrize(
    ("arguments", "wanted"),
    [
        (["--rate", "nan"], "twistd chatroom: --rate takes a number, not 'nan'"),
        (
            ["--frobnicate"],
            "twistd chatroom: option --frobnicate not recognized "
            "(twistd chatroom --help lists the options)",
        ),
        (
            ["--motd", "/nonexistent/motd.txt"],
            "twistd chatroom: --motd: cannot read the MOTD file "
            "/nonexistent/motd.txt: No such file or directory",
        ),
    ],
)
def test_under_twistd_a_problem_ends_the_process_with_one_line(
    arguments: list[str], wanted: str
) -> None:
    with pytest.raises(SystemExit) as raised:
        twistd_parse(*arguments)
    assert raised.value.code == wanted


def test_under_twistd_a_port_in_use_ends_it_before_forking(taken_port: int) -> None:
    with pytest.raises(SystemExit) as raised:
        twistd_parse("--metrics", f"tcp:{taken_port}:interface=127.0.0.1")
    assert raised.value.code == (
        f"twistd chatroom: --metrics: port {taken_port} is already in use "
        "(another server running?); stop that one or choose another port"
    )


def test_under_twistd_one_port_for_two_options_is_one_line() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    endpoint = f"tcp:{port}:interface=127.0.0.1"
    with pytest.raises(SystemExit) as raised:
        twistd_parse("--port", endpoint, "--metrics", endpoint)
    assert raised.value.code == (
        f"twistd chatroom: --metrics: port {port} is --port's too; "
        "give each its own port"
    )


def test_under_twistd_a_running_servers_pidfile_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("twistd.pid").write_text(str(os.getpid()))  # this process runs
    with pytest.raises(SystemExit) as raised:
        twistd_parse("--port", "tcp:0:interface=127.0.0.1")
    assert raised.value.code == (
        f"twistd chatroom: another server is running from twistd.pid (process "
        f"{os.getpid()}); stop it, or give this one a --pidfile of its own "
        "(--pidfile= in the foreground), before chatroom"
    )


def test_a_stale_pidfile_is_left_to_twistd(tmp_path: Path) -> None:
    pidfile = tmp_path / "twistd.pid"
    startup.check_pidfile(str(pidfile))  # none
    pidfile.write_text("999999999")  # no such process
    startup.check_pidfile(str(pidfile))
    pidfile.write_text("not a number")  # twistd says so in one line
    startup.check_pidfile(str(pidfile))


def test_under_twistd_a_start_up_error_is_logged_as_one_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    reported: list[str] = []
    monkeypatch.setattr(
        startup._log, "critical", lambda text, **kw: reported.append(text.format(**kw))
    )
    twistd_parse("--port", "tcp:0:interface=127.0.0.1")
    error = startup.StartupError("--port: port 4000 is already in use")
    sys.excepthook(startup.StartupError, error, None)
    assert reported == ["twistd chatroom: --port: port 4000 is already in use"]


class Quiet(Factory):
    protocol = Protocol


@pytest_twisted.ensureDeferred
async def test_listening_says_where_it_really_listens() -> None:
    listening = startup.Listening("port", "tcp:0:interface=127.0.0.1", Quiet())
    assert listening.where() == "tcp:0:interface=127.0.0.1"
    listening.privilegedStartService()
    try:
        host, port = listening.where().split(":")
        assert host == "127.0.0.1" and int(port) > 0
    finally:
        await listening.stopService()


def test_listening_turns_a_port_taken_meanwhile_into_a_start_up_error(
    taken_port: int,
) -> None:
    listening = startup.Listening(
        "port", f"tcp:{taken_port}:interface=127.0.0.1", Quiet()
    )
    with pytest.raises(startup.StartupError) as raised:
        listening.privilegedStartService()
    assert str(raised.value) == (
        f"--port: port {taken_port} is already in use (another server "
        "running?); stop that one or choose another port"
    )
