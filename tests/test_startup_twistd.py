"""
End to end: every start-up problem of twistd chatroom, in the foreground and
as a daemon, is one clear line and a non-zero exit status; never a
traceback, never a page of usage text.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from servers import twistd_command

TIMEOUT = 30


def run_twistd(workdir: Path, *arguments: str, daemon: bool = False) -> str:
    """
    Start twistd chatroom with C{arguments}, expecting it to fail; return
    what it said (standard output and error).
    """
    if daemon:
        mode = [f"--pidfile={workdir / 'twistd.pid'}", f"--logfile={workdir / 'log'}"]
    else:
        mode = ["-n", "--pidfile="]
    result = subprocess.run(
        [*twistd_command(), *mode, "chatroom", *arguments],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "Traceback" not in output
    assert "Options:" not in output and "Usage:" not in output
    if daemon:
        assert not (workdir / "twistd.pid").exists()
    return output


@pytest.mark.parametrize("daemon", [False, True], ids=["foreground", "daemon"])
@pytest.mark.parametrize(
    ("arguments", "wanted"),
    [
        (["--port", "abc"], "--port 'abc': not a port or an endpoint description"),
        (["--port", "tcp:"], "--port 'tcp:': the port and backlog= must be whole"),
        (["--port", "99999"], "--port 'tcp:99999': port 99999 does not exist"),
        (["--port", "ssl:4443"], "--port 'ssl:4443': cannot read "),
        (["--metrics", "abc"], "--metrics 'abc': not a port or an endpoint"),
        (["--metrics", "tcp:99999"], "--metrics 'tcp:99999': port 99999 does not"),
        (["--rate", "inf"], "--rate takes a number, not 'inf'"),
        (["--rate", "nan"], "--rate takes a number, not 'nan'"),
        (["--handshake-timeout", "1e999"], "--handshake-timeout takes a number"),
        (["--max-clients", "0"], "--max-clients must be from 1 to 1000000"),
        (["--history-keep", "inf"], "--history-keep takes a number"),
        (["--history-db", "."], "--history-db: cannot use '.' as a history database"),
        (["--motd", "missing.txt"], "--motd: cannot read the MOTD file "),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, list) else None,
)
def test_a_bad_option_is_one_line(
    tmp_path: Path, arguments: list[str], wanted: str, daemon: bool
) -> None:
    output = run_twistd(tmp_path, *arguments, daemon=daemon)
    assert output.startswith(f"twistd chatroom: {wanted}"), output
    assert output.count("\n") == 1, output


@pytest.mark.parametrize("daemon", [False, True], ids=["foreground", "daemon"])
@pytest.mark.parametrize("option", ["--port", "--metrics"])
def test_a_port_in_use_is_one_line(
    tmp_path: Path, taken_port: int, option: str, daemon: bool
) -> None:
    output = run_twistd(
        tmp_path,
        option,
        f"tcp:{taken_port}:interface=127.0.0.1",
        daemon=daemon,
    )
    assert output == (
        f"twistd chatroom: {option}: port {taken_port} is already in use (another "
        "server running?); stop that one or choose another port\n"
    )


def test_what_fails_only_while_listening_is_one_log_line(tmp_path: Path) -> None:
    # A UNIX socket in a directory that does not exist: nothing to check
    # beforehand, so it fails when twistd listens, after logging started.
    output = run_twistd(tmp_path, "--port", "unix:/nonexistent/chat.sock")
    problems = [line for line in output.splitlines() if "twistd chatroom:" in line]
    assert len(problems) == 1, output
    assert problems[0].endswith(
        "twistd chatroom: --port: cannot listen there: "
        "/nonexistent/chat.sock.lock: No such file or directory"
    )


def test_what_fails_only_while_listening_in_daemon_mode(tmp_path: Path) -> None:
    output = run_twistd(tmp_path, "--port", "unix:/nonexistent/chat.sock", daemon=True)
    # twistd's own two lines carry ours; the log has it in full.
    assert "--port: cannot listen there" in output
    log = (tmp_path / "log").read_text()
    assert "Traceback" not in log
    assert "twistd chatroom: --port: cannot listen there: " in log


def test_a_second_server_on_the_same_pidfile_is_one_line(tmp_path: Path) -> None:
    """The README's quick start without --pidfile=, twice in one directory."""
    (tmp_path / "twistd.pid").write_text(str(os.getpid()))  # a running process
    result = subprocess.run(
        [*twistd_command(), "-n", "chatroom", "--port", "tcp:0"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert result.returncode != 0
    assert result.stdout + result.stderr == (
        "twistd chatroom: another server is running from twistd.pid (process "
        f"{os.getpid()}); stop it, or give this one a --pidfile of its own "
        "(--pidfile= in the foreground), before chatroom\n"
    )
