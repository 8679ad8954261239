"""Command line: options, --help, and the errors people meet first."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest
from client_helpers import TIMEOUT, client_env

from chatproto.client import main
from chatproto.client.options import Config, parse_args


def test_defaults_need_no_argument() -> None:
    assert parse_args([]) == Config(
        host="localhost",
        port=4000,
        nick=None,
        tls=False,
        ca=None,
        reconnect=True,
        discover=True,
        list_only=False,
        browse=1.5,
    )


@pytest.mark.parametrize(
    "argv",
    [["--host", "localhost"], ["--port", "4000"], ["--host", "h", "--port", "1"]],
)
def test_an_address_turns_looking_on_the_network_off(argv: list[str]) -> None:
    assert not parse_args(argv).discover


def test_list_and_browse() -> None:
    config = parse_args(["--list", "--browse", "0.5"])
    assert (config.list_only, config.browse, config.discover) == (True, 0.5, True)


def test_every_option(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    argv = ["--host", "h", "--port", "4001", "--nick", "zoë", "--tls"]
    config = parse_args([*argv, "--ca", str(ca), "--no-reconnect"])
    assert config == Config("h", 4001, "zoë", True, str(ca), False, discover=False)


def test_help_explains_every_option_with_an_example(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--help"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    for option in (
        "--host",
        "--port",
        "--list",
        "--browse",
        "--nick",
        "--tls",
        "--ca",
        "--no-reconnect",
        "--oper",
        "--oper-password-file",
    ):
        assert f"example: {option}" in out or f"example: --tls {option}" in out
    assert "chatproto --host chat.example.org --port 4000 --nick alice" in out
    assert "NO_COLOR" in out and "pipe mode" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--port", "four"], "'four' is not a port number"),
        (["--port", "70000"], "between 1 and 65535"),
        (["--nick", " "], "the nickname is empty"),
        (["--ca", "x.pem"], "--ca only makes sense with --tls"),
        (["--tls", "--ca", "/nonexistent/ca.pem"], "cannot read the --ca file"),
        (["--colour"], "unrecognized arguments"),
        (["--list", "--host", "h"], "--list looks on the local network"),
        (["--browse", "0"], "'0' is not a number of seconds between 0.1 and 30"),
        (["--browse", "soon"], "'soon' is not a number of seconds"),
    ],
)
def test_usage_errors_exit_2_with_a_clear_message(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_bad_ca_file_is_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("not a certificate")
    assert main(["--tls", "--ca", str(ca), "--nick", "x"]) == 2
    assert f"cannot use --ca {ca}" in capsys.readouterr().err


def test_help_works_without_a_tty_or_server() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "chatproto.client", "--help"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=client_env(),
        timeout=TIMEOUT,
    )
    assert done.returncode == 0
    assert done.stdout.startswith("usage: chatproto")
    assert "\x1b" not in done.stdout


def test_pipe_mode_requires_a_nickname() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "chatproto.client"],
        input="hello\n",
        capture_output=True,
        text=True,
        env=client_env(),
        timeout=TIMEOUT,
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert "--nick is required when input or output is not a terminal" in done.stderr


def test_console_script_is_declared() -> None:
    (script,) = entry_points(group="console_scripts", name="chatproto")
    assert script.value == "chatproto.client:main"
    assert script.load() is main
