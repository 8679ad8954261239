"""
Helpers for the client's tests: a screen emulator to read what a terminal
would show, a chatroom server in a subprocess, and the client in a
pseudo-terminal or behind pipes. Every wait is bounded.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pexpect
from servers import SocketClient, make_certificate  # noqa: F401 (re-exported)
from twisted.conch.insults.helper import TerminalBuffer
from twisted.conch.insults.insults import ClientProtocol
from twisted.internet.testing import StringTransport

TIMEOUT = 10.0
TWISTD = "from twisted.scripts.twistd import run; run()"


class Screen:
    """What a VT102 terminal shows after some output (ASCII text only)."""

    def __init__(self, width: int = 80, height: int = 24) -> None:
        self.parser = ClientProtocol(TerminalBuffer)
        self.parser.makeConnection(StringTransport())
        self.buffer: TerminalBuffer = self.parser.terminal
        self.buffer.width, self.buffer.height = width, height
        self.buffer.reset()
        self.raw = b""

    def feed(self, data: bytes) -> None:
        self.raw += data
        self.parser.dataReceived(data)

    def lines(self) -> list[str]:
        return bytes(self.buffer).decode("ascii", "replace").split("\n")

    def text(self) -> str:
        return "\n".join(line for line in self.lines() if line)

    def cursor_row(self) -> str:
        return self.lines()[self.buffer.y]

    def cursor(self) -> tuple[int, int]:
        return self.buffer.x, self.buffer.y


def wait_until(check: Callable[[], bool], what: str, timeout: float = TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


class Server:
    """A chatroom server run by twistd in a subprocess."""

    def __init__(
        self, workdir: Path, port: int = 0, listen: str = "tcp", *options: str
    ) -> None:
        """Listen on 127.0.0.1:port; ``listen`` is "tcp" or "ssl:<options>"."""
        self.workdir = workdir
        self.log = workdir / f"twistd-{time.monotonic_ns()}.log"
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-c",
                TWISTD,
                "-n",
                "--pidfile=",
                f"--logfile={self.log}",
                "chatroom",
                "--port",
                f"{listen}:{port}:interface=127.0.0.1",
                *options,
            ],
            cwd=workdir,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.port = int(self._wait_for_log(r"starting on (\d+)").group(1))

    def _log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def _wait_for_log(self, pattern: str) -> re.Match[str]:
        found: list[re.Match[str]] = []

        def check() -> bool:
            match = re.search(pattern, self._log_text())
            if match:
                found.append(match)
            elif self.process.poll() is not None:
                raise AssertionError(f"twistd exited:\n{self._log_text()}")
            return bool(match)

        wait_until(check, f"{pattern!r} in the server log")
        return found[0]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(TIMEOUT)


@contextmanager
def running_server(workdir: Path) -> Iterator[Server]:
    server = Server(workdir)
    try:
        yield server
    finally:
        server.stop()


def client_command(port: int, *options: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "chatproto.client",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        *options,
    ]


def client_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    env.update(TERM="xterm", LC_ALL="C.UTF-8", PYTHONUNBUFFERED="1", **extra)
    return env


class PtyClient:
    """The interactive client in a pseudo-terminal, read through a Screen."""

    def __init__(self, port: int, *options: str, width: int = 80, **env: str):
        command = client_command(port, *options)
        self.child = pexpect.spawn(
            command[0],
            command[1:],
            dimensions=(24, width),
            env=client_env(**env),
            timeout=TIMEOUT,
        )
        self.screen = Screen(width=width)

    def pump(self) -> None:
        """Feed whatever the client wrote so far to the screen."""
        for _ in range(1000):
            try:
                data = self.child.read_nonblocking(65536, timeout=0)
            except (pexpect.TIMEOUT, pexpect.EOF):
                return
            self.screen.feed(data)

    def wait_for(
        self, check: Callable[[Screen], bool], what: str, timeout: float = TIMEOUT
    ) -> None:
        def pumped() -> bool:
            self.pump()
            return check(self.screen)

        try:
            wait_until(pumped, what, timeout)
        except AssertionError:
            raise AssertionError(
                f"timed out waiting for {what}; screen:\n{self.screen.text()}"
            ) from None

    def wait_for_text(self, text: str, timeout: float = TIMEOUT) -> None:
        self.wait_for(lambda s: text in s.text(), repr(text), timeout)

    def send(self, data: str | bytes) -> None:
        self.child.send(data)

    def wait_exit(self, timeout: float = TIMEOUT) -> int:
        deadline = time.monotonic() + timeout
        while self.child.isalive():
            self.pump()
            if time.monotonic() > deadline:
                raise AssertionError("the client did not exit")
            time.sleep(0.02)
        self.pump()
        self.child.close()
        status = self.child.exitstatus
        assert status is not None, f"killed by signal {self.child.signalstatus}"
        return status

    def close(self) -> None:
        if self.child.isalive():
            self.child.kill(signal.SIGKILL)
        self.child.close(force=True)


def run_piped(
    port: int, stdin: str, *options: str, timeout: float = TIMEOUT
) -> subprocess.CompletedProcess[str]:
    """The client in pipe mode, to completion."""
    return subprocess.run(
        client_command(port, *options),
        input=stdin,
        capture_output=True,
        text=True,
        env=client_env(),
        timeout=timeout,
    )


class Watcher(SocketClient):
    """A plain socket member of the room, to see what a client really sent."""

    def __init__(self, port: int, nick: str) -> None:
        super().__init__(port)
        self.expect("NICK")
        self.send(nick.encode() + b"\r\n")
        self.expect(f"WELCOME {nick}", prefix=True)
