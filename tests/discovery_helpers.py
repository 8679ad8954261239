"""
Helpers for the tests that run servers and clients in a network namespace
(tests/netns.py): announced twistd servers, the client piped or in a
pseudo-terminal, ``chatproto host``, and the mDNS watcher.  Every wait is
bounded.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pexpect
from client_helpers import (
    TIMEOUT,
    PipedClient,
    PtyClient,
    Screen,
    client_env,
    wait_until,
)
from netns import Namespace
from servers import Twistd, twistd

HERE = Path(__file__).parent
CLIENT = [sys.executable, "-m", "chatproto.client"]
ANNOUNCED = r"announced on the local network as '([^']*)'"


@contextmanager
def announced_server(
    ns: Namespace,
    workdir: Path,
    *options: str,
    port: str = "tcp:0:interface=127.0.0.1",
) -> Iterator[Twistd]:
    """``twistd chatroom --announce`` in the namespace, once it is announced."""
    workdir.mkdir(exist_ok=True)
    with twistd(
        workdir,
        "--announce",
        *options,
        port=port,
        prefix=ns.command([]),
        env=client_env(),
    ) as server:
        server.wait_for_log(ANNOUNCED)
        yield server


def run_client(
    ns: Namespace, *args: str, stdin: str = "", timeout: float = 20
) -> subprocess.CompletedProcess[str]:
    """The client piped, in the namespace, to completion."""
    return subprocess.run(
        ns.command([*CLIENT, *args]),
        input=stdin,
        capture_output=True,
        text=True,
        env=client_env(),
        timeout=timeout,
    )


class NsPty(PtyClient):
    """A program of ours in a pseudo-terminal, in the namespace."""

    def __init__(self, ns: Namespace, *args: str, width: int = 120) -> None:
        command = ns.command([*CLIENT, *args])
        self.child = pexpect.spawn(
            command[0],
            command[1:],
            dimensions=(24, width),
            env=client_env(),
            timeout=TIMEOUT,
        )
        self.screen = Screen(width=width)

    def wait_exit_or_signal(self, timeout: float = TIMEOUT) -> int:
        """The exit status, as a shell gives it (128 + N for signal N)."""
        deadline = time.monotonic() + timeout
        while self.child.isalive():
            self.pump()
            if time.monotonic() > deadline:
                raise AssertionError("the program did not exit")
            time.sleep(0.02)
        self.pump()
        self.child.close()
        if self.child.signalstatus is not None:
            return 128 + self.child.signalstatus
        assert self.child.exitstatus is not None
        return self.child.exitstatus

    def prompt_is(self, text: str, what: str = "the prompt") -> None:
        self.wait_for(lambda s: s.cursor_row() == text, f"{what} {text!r}")


class Watcher:
    """tests/mdns_watch.py in the namespace: what a long-running browser sees."""

    def __init__(self, ns: Namespace, workdir: Path) -> None:
        self.out = workdir / f"watch-{time.monotonic_ns()}.out"
        with open(self.out, "wb") as out:
            self.process = subprocess.Popen(
                ns.command([sys.executable, str(HERE / "mdns_watch.py")]),
                stdin=subprocess.PIPE,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=client_env(),
            )
        self.wait_for("watching")

    def lines(self) -> list[str]:
        return self.out.read_text(errors="replace").splitlines()

    def wait_for(self, start: str, timeout: float = TIMEOUT) -> str:
        found: list[str] = []

        def seen() -> bool:
            found.extend(line for line in self.lines() if line.startswith(start))
            return bool(found)

        try:
            wait_until(seen, repr(start), timeout)
        except AssertionError:
            raise AssertionError(
                f"the watcher saw no {start!r}: {self.lines()}"
            ) from None
        return found[0]

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        try:
            self.process.wait(TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(TIMEOUT)


class NsPiped(PipedClient):
    """The client in pipe mode in the namespace, kept running (see
    PipedClient)."""

    def __init__(self, ns: Namespace, workdir: Path, *args: str) -> None:
        name = f"client-{time.monotonic_ns()}"
        self.out, self.err = workdir / f"{name}.out", workdir / f"{name}.err"
        with open(self.out, "wb") as out, open(self.err, "wb") as err:
            self.process = subprocess.Popen(
                ns.command([*CLIENT, *args]),
                stdin=subprocess.PIPE,
                stdout=out,
                stderr=err,
                env=client_env(),
            )
