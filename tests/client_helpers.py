"""
Helpers for the client's tests: a Session driven through StringTransport
with a fake UI, a screen emulator to read what a terminal would show, a
chatroom server in a subprocess, a proxy that can drop the client's
connection, and the client in a pseudo-terminal or behind pipes. Every wait
is bounded.
"""

from __future__ import annotations

import os
import re
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import pexpect
from servers import SocketClient, make_certificate  # noqa: F401 (re-exported)
from twisted.conch.insults.helper import TerminalBuffer
from twisted.conch.insults.insults import ClientProtocol
from twisted.internet import error
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure

from chatproto.client.protocol import ChatClientProtocol
from chatproto.client.render import Line, plain
from chatproto.client.session import Session

TIMEOUT = 10.0
TWISTD = "from twisted.scripts.twistd import run; run()"


class FakeUI:
    def __init__(self) -> None:
        self.shown: list[str] = []
        self.notices: list[str] = []
        self.warnings: list[str] = []
        self.asked = 0
        self.states: list[tuple[str | None, bool]] = []

    def show(self, line: Line) -> None:
        self.shown.append(plain(line))

    def notice(self, text: str) -> None:
        self.notices.append(text)

    def warn(self, text: str) -> None:
        self.warnings.append(text)

    def ask_nick(self) -> None:
        self.asked += 1

    def state_changed(self, nick: str | None, online: bool) -> None:
        self.states.append((nick, online))


class Harness:
    def __init__(
        self, nick: str | None, interactive: bool = True, reconnect: bool = True
    ) -> None:
        self.ui = FakeUI()
        self.clock = Clock()
        self.session = Session(
            self.ui,
            nick=nick,
            interactive=interactive,
            reconnect=reconnect,
            clock=self.clock,
            where="chat.example:4000",
            now=lambda: datetime(2024, 1, 1, 12, 0),
        )
        self.status: list[int] = []
        self.session.done.addCallback(self.status.append)
        self.newest = 100  # the id of the server's newest room line
        self.connect()

    def connect(self) -> None:
        self.transport = StringTransport()
        self.client = ChatClientProtocol(self.session)
        self.client.makeConnection(self.transport)

    def server(self, *lines: str) -> None:
        self.client.dataReceived("".join(f"{line}\r\n" for line in lines).encode())

    def sent(self) -> list[str]:
        lines = self.transport.value().decode().split("\r\n")
        self.transport.clear()
        assert lines[-1] == ""
        return lines[:-1]

    def drop(self, reason: Exception | None = None) -> None:
        self.client.connectionLost(Failure(reason or error.ConnectionDone()))

    def join(self, nick: str, since: int | None = None) -> None:
        """Join as a server with history does, with nothing to replay."""
        self.server("NICK")
        options = ["/ids on"] + ([] if since is None else [f"/since {since}"])
        assert self.sent() == [*options, nick]
        self.server(f"WELCOME {nick} to lobby", f"HISTORY-END {self.newest}")
        self.live(f"JOIN {nick}")
        self.server(f"USERS {nick} bob")

    def live(self, line: str) -> int:
        """A room line said now, as a member with ids on gets it."""
        self.newest += 1
        self.server(f"ID {self.newest} {line}")
        return self.newest


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
        """Stop the server cleanly (SIGTERM): members are told it is shutting
        down, and a --history-db is written to the end."""
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
    env.update(
        TERM="xterm",
        LC_ALL="C.UTF-8",
        PYTHONUNBUFFERED="1",
        # A client that looks for servers looks on loopback only, even
        # outside the tests' network namespaces.
        CHATPROTO_MDNS_INTERFACES="127.0.0.1",
    )
    env.update(extra)
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


class PipedClient:
    """The client in pipe mode, kept running: its stdin stays open until
    ``finish``; its output goes to files that tests read as it grows."""

    def __init__(self, workdir: Path, port: int, *options: str) -> None:
        name = f"client-{time.monotonic_ns()}"
        self.out, self.err = workdir / f"{name}.out", workdir / f"{name}.err"
        with open(self.out, "wb") as out, open(self.err, "wb") as err:
            self.process = subprocess.Popen(
                client_command(port, *options),
                stdin=subprocess.PIPE,
                stdout=out,
                stderr=err,
                env=client_env(),
            )

    def stdout(self) -> str:
        return self.out.read_text(errors="replace")

    def stderr(self) -> str:
        return self.err.read_text(errors="replace")

    def wait_for(
        self, text: str, stream: str = "stdout", timeout: float = TIMEOUT
    ) -> None:
        read = self.stdout if stream == "stdout" else self.stderr
        try:
            wait_until(lambda: text in read(), repr(text), timeout)
        except AssertionError:
            raise AssertionError(
                f"no {text!r} on {stream}; stdout:\n{self.stdout()}\n"
                f"stderr:\n{self.stderr()}"
            ) from None

    def send(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line.encode() + b"\n")
        self.process.stdin.flush()

    def finish(self, timeout: float = TIMEOUT) -> int:
        """End the input (the client then leaves); return the exit status."""
        assert self.process.stdin is not None
        self.process.stdin.close()
        return self.process.wait(timeout)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(TIMEOUT)
        if self.process.stdin is not None:
            self.process.stdin.close()


class Proxy:
    """A TCP proxy on 127.0.0.1 to a server, run by a thread.

    ``cut`` closes every connection through it and stops listening (new
    connections are refused), as when a laptop loses its Wi-Fi; ``resume``
    listens again on the same port.
    """

    def __init__(self, target: int) -> None:
        self.target = target
        self.listener: socket.socket | None = self._listen(0)
        self.port = self.listener.getsockname()[1]
        self.peers: dict[socket.socket, socket.socket] = {}
        self.requests: list[str] = []
        self.done = threading.Condition()
        self.stopped = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _listen(self, port: int) -> socket.socket:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen()
        return listener

    def cut(self) -> None:
        self._ask("cut")

    def resume(self) -> None:
        self._ask("resume")

    def close(self) -> None:
        self._ask("stop")
        self.thread.join(TIMEOUT)

    def _ask(self, request: str) -> None:
        with self.done:
            self.requests.append(request)
            if not self.done.wait_for(lambda: request not in self.requests, TIMEOUT):
                raise AssertionError(f"the proxy did not {request}")

    def _run(self) -> None:
        while not self.stopped:
            sockets = list(self.peers) + ([self.listener] if self.listener else [])
            readable, _, _ = select.select(sockets, [], [], 0.02)
            for sock in readable:
                if sock is self.listener:
                    self._accept(sock)
                elif sock in self.peers:
                    self._forward(sock)
            with self.done:
                for request in self.requests:
                    self._carry_out(request)
                self.requests.clear()
                self.done.notify_all()

    def _accept(self, listener: socket.socket) -> None:
        client, _ = listener.accept()
        server = socket.create_connection(("127.0.0.1", self.target), TIMEOUT)
        self.peers[client], self.peers[server] = server, client

    def _forward(self, sock: socket.socket) -> None:
        try:
            data = sock.recv(65536)
            if data:
                self.peers[sock].sendall(data)
                return
        except OSError:
            pass
        other = self.peers.pop(sock)
        self.peers.pop(other, None)
        sock.close()
        other.close()

    def _carry_out(self, request: str) -> None:
        if request in ("cut", "stop"):
            for sock in self.peers:
                sock.close()
            self.peers.clear()
            if self.listener is not None:
                self.listener.close()
                self.listener = None
        if request == "resume" and self.listener is None:
            self.listener = self._listen(self.port)
        if request == "stop":
            self.stopped = True


class Watcher(SocketClient):
    """A plain socket member of the room, to see what a client really sent."""

    def __init__(self, port: int, nick: str) -> None:
        super().__init__(port)
        self.expect("NICK")
        self.send(nick.encode() + b"\r\n")
        self.expect(f"WELCOME {nick}", prefix=True)
