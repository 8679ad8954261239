"""
python -m chatproto.operators NAME, in a subprocess: the password from
standard input, or asked twice on a terminal (a pty, through pexpect).
"""

from __future__ import annotations

import io
import shlex
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest

from chatproto.operators.roster import read_operators

TIMEOUT = 20.0
COMMAND = [sys.executable, "-m", "chatproto.operators"]


def run(cwd: Path, *args: str, stdin: bytes) -> subprocess.CompletedProcess[bytes]:
    # From elsewhere than the checkout: the installed package runs.
    return subprocess.run(
        [*COMMAND, *args],
        input=stdin,
        capture_output=True,
        cwd=cwd,
        timeout=TIMEOUT,
        check=False,
    )


def checked_line(tmp_path: Path, line: str, name: str, password: str) -> None:
    """The line, appended to a file, names NAME with PASSWORD."""
    path = tmp_path / "operators"
    with path.open("a") as file:
        file.write(line)
    operator = read_operators(str(path))[name.casefold()]
    assert operator.name == name
    assert operator.password_hash.matches(password)
    assert not operator.password_hash.matches(password + "x")


@pytest.mark.parametrize(
    ("stdin", "password"),
    [
        (b"correct horse\n", "correct horse"),
        (b"windows line\r\n", "windows line"),
        (b"no newline", "no newline"),
        (b"first line\nsecond line\n", "first line"),
        ("zoë's ключ\n".encode(), "zoë's ключ"),
    ],
)
def test_password_from_standard_input(
    tmp_path: Path, stdin: bytes, password: str
) -> None:
    done = run(tmp_path, "Teacher", stdin=stdin)
    assert done.returncode == 0, done.stderr
    assert done.stderr == b""
    out = done.stdout.decode()
    assert out.count("\n") == 1 and out.startswith("Teacher scrypt$32768$8$1$")
    assert password.encode() not in done.stdout
    checked_line(tmp_path, out, "Teacher", password)


@pytest.mark.parametrize(
    ("stdin", "message"),
    [
        (b"\n", "an empty password is refused"),
        (b"", "no password on standard input"),
        (b" spaced\n", "a password may not begin or end with a space"),
        (
            b"tab\there\n",
            "a password may not contain control characters, tabs or bidi "
            "overrides: the server removes them from every line",
        ),
        (b"caf\xe9\n", "the password on standard input is not UTF-8"),
    ],
)
def test_refused_passwords_print_nothing_and_exit_1(
    tmp_path: Path, stdin: bytes, message: str
) -> None:
    done = run(tmp_path, "teacher", stdin=stdin)
    assert done.returncode == 1
    assert done.stdout == b""
    assert done.stderr.decode() == f"python -m chatproto.operators: {message}\n"


@pytest.mark.parametrize("name", ["two words", "", "dot.ted", "a" * 25, "/oper"])
def test_bad_names_exit_2(tmp_path: Path, name: str) -> None:
    done = run(tmp_path, name, stdin=b"password\n")
    assert done.returncode == 2
    assert done.stdout == b""
    assert done.stderr.decode() == (
        f"python -m chatproto.operators: {name!r} cannot be an operator: "
        "a nickname is 1 to 24 letters, digits, _ or -\n"
    )


def test_no_name_is_a_usage_error(tmp_path: Path) -> None:
    done = run(tmp_path, stdin=b"")
    assert done.returncode == 2
    assert b"usage: python -m chatproto.operators [-h] NAME" in done.stderr
    assert done.stdout == b""


def on_a_terminal(tmp_path: Path, name: str) -> tuple[pexpect.spawn, io.BytesIO]:
    """The tool on a pty, its output appended to a file as the README says."""
    command = shlex.join([*COMMAND, name])
    seen = io.BytesIO()
    child = pexpect.spawn(
        "/bin/sh",
        ["-c", f'{command} >> operators; echo "status=$?"'],
        cwd=str(tmp_path),
        timeout=TIMEOUT,
        env={"PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8"},
    )
    child.logfile_read = seen
    return child, seen


def test_on_a_terminal_the_password_is_asked_twice_without_echo(
    tmp_path: Path,
) -> None:
    child, seen = on_a_terminal(tmp_path, "teacher")
    try:
        child.expect_exact("Password for teacher: ")
        child.sendline("typed secret")
        child.expect_exact("The same password again: ")
        child.sendline("typed secret")
        child.expect(r"status=(\d+)")
        assert child.match.group(1) == b"0"
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert b"typed secret" not in seen.getvalue()
    line = (tmp_path / "operators").read_text()
    (tmp_path / "operators").unlink()
    checked_line(tmp_path, line, "teacher", "typed secret")


@pytest.mark.parametrize(
    ("first", "second", "message"),
    [
        ("one", "two", "the two passwords differ; nothing was printed"),
        ("", "", "an empty password is refused"),
    ],
)
def test_on_a_terminal_a_refused_password_writes_nothing(
    tmp_path: Path, first: str, second: str, message: str
) -> None:
    child, _ = on_a_terminal(tmp_path, "teacher")
    try:
        child.expect_exact("Password for teacher: ")
        child.sendline(first)
        child.expect_exact("The same password again: ")
        child.sendline(second)
        child.expect_exact(f"python -m chatproto.operators: {message}")
        child.expect(r"status=(\d+)")
        assert child.match.group(1) == b"1"
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert (tmp_path / "operators").read_text() == ""
