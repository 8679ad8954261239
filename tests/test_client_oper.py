"""Logging in as an operator: --oper and --oper-password-file, the /oper
line sent before the nickname on every connection, and the answer in plain
words; the password never shown."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from client_helpers import TIMEOUT, Harness, client_command, client_env
from twisted.internet import error

from chatproto.client.login import OperLogin
from chatproto.client.options import parse_args

SECRET = "correct horse"


def oper_harness() -> Harness:
    h = Harness("teacher")
    h.session.oper = OperLogin("teacher", SECRET)
    return h


def test_the_login_goes_before_the_nickname_on_every_connection() -> None:
    h = oper_harness()
    h.server("NICK")
    assert h.sent() == ["/ids on", f"/oper teacher {SECRET}", "teacher"]
    h.server("INFO you are an operator now (teacher)", "WELCOME teacher to lobby")
    assert h.ui.notices == ["you are an operator now (teacher)"]
    h.server("ROOM lobby", "HISTORY-END 5", "ID 6 JOIN teacher", "USERS teacher")
    h.drop(error.ConnectionLost())
    h.connect()
    h.server("NICK")
    assert h.sent() == [
        "/ids on",
        f"/oper teacher {SECRET}",
        "/join lobby",
        "/since 6",
        "teacher",
    ]


def test_a_refusal_is_said_plainly_and_not_tried_again() -> None:
    h = oper_harness()
    h.server("NICK")
    h.sent()
    h.server("ERROR not-permitted wrong operator name or password")
    h.server("WELCOME teacher to lobby", "ROOM lobby", "HISTORY-END 5")
    assert h.ui.warnings == [
        "operator login as teacher refused: wrong operator name or password"
    ]
    # Later not-permitted errors are about something else.
    h.server("ERROR not-permitted only operators may /announce")
    assert h.ui.warnings[-1] == "only operators may /announce"
    h.drop(error.ConnectionLost())
    h.connect()
    h.server("NICK")
    assert h.sent() == ["/ids on", "/join lobby", "/since 5", "teacher"]


def test_the_password_is_never_shown() -> None:
    login = OperLogin("teacher", SECRET)
    assert SECRET not in repr(login)
    config = parse_args(["--oper", "teacher"])
    assert SECRET not in repr(config)
    h = oper_harness()
    h.server("NICK", "INFO you are an operator now (teacher)", "WELCOME teacher hi")
    ui = h.ui
    assert ui.notices == ["you are an operator now (teacher)"]
    assert not any(SECRET in line for line in ui.shown + ui.notices + ui.warnings)


def test_the_password_file(tmp_path: Path) -> None:
    secret = tmp_path / "oper"
    secret.write_text(f"{SECRET}\nignored\n")
    config = parse_args(["--oper", "teacher", "--oper-password-file", str(secret)])
    assert config.oper == "teacher" and config.oper_password == SECRET
    secret.write_text(f"{SECRET}\r\n")
    config = parse_args(["--oper", "teacher", "--oper-password-file", str(secret)])
    assert config.oper_password == SECRET


def run(*options: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        client_command(1, "--nick", "teacher", *options),
        capture_output=True,
        text=True,
        env=client_env(),
        timeout=TIMEOUT,
        stdin=subprocess.DEVNULL,
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read the password file"),
        ("", "cannot be used: an empty password is refused"),
        (" spaced \n", "may not begin or end with a space"),
    ],
)
def test_an_unusable_password_file_is_a_clear_error(
    tmp_path: Path, content: str | None, message: str
) -> None:
    path = tmp_path / "oper"
    if content is not None:
        path.write_text(content)
    done = run("--oper", "teacher", "--oper-password-file", str(path))
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr
    assert done.stdout == ""


def test_a_directory_is_not_a_password_file(tmp_path: Path) -> None:
    done = run("--oper", "teacher", "--oper-password-file", str(tmp_path))
    assert done.returncode == 2
    assert f"cannot read the password file {str(tmp_path)!r}" in done.stderr


def test_a_password_file_needs_oper(tmp_path: Path) -> None:
    path = tmp_path / "oper"
    path.write_text(SECRET)
    done = run("--oper-password-file", str(path))
    assert done.returncode == 2
    assert "--oper-password-file only makes sense with --oper" in done.stderr


def test_without_a_terminal_the_password_is_not_read_from_stdin() -> None:
    # A new session has no controlling terminal: nowhere to ask.
    done = run("--oper", "teacher", start_new_session=True)
    assert done.returncode == 2
    assert "no terminal to ask the password on; use --oper-password-file" in (
        done.stderr
    )
