"""
benchmarks/floor_server.c, the benchmark's floor peer: built with gcc as the
runner builds it, it relays over real sockets on 127.0.0.1 the IRC that
benchmarks/loadgen.c speaks; and benchmarks/run.py shows it next to the other
peers without making it a target.  No timing is measured here.
"""

from __future__ import annotations

import re
import select
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
TIMEOUT = 5.0


@pytest.fixture(scope="module")
def floor_binary(tmp_path_factory: pytest.TempPathFactory) -> Path:
    gcc = shutil.which("gcc")
    assert gcc, "gcc is needed to build benchmarks/floor_server.c"
    binary = tmp_path_factory.mktemp("floor") / "floor_server"
    source = BENCHMARKS / "floor_server.c"
    subprocess.run(
        [gcc, "-O2", "-Wall", "-Werror", "-o", str(binary), str(source)],
        check=True,
        timeout=60,
    )
    return binary


@pytest.fixture
def floor_port(floor_binary: Path) -> Iterator[int]:
    """A floor server on 127.0.0.1, on the port it tells on stderr."""
    proc = subprocess.Popen(
        [str(floor_binary), "--port", "0"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        assert proc.stderr is not None
        ready, _, _ = select.select([proc.stderr], [], [], TIMEOUT)
        assert ready, "floor_server said nothing"
        told = proc.stderr.readline().decode()
        found = re.search(r"listening on 127\.0\.0\.1:(\d+)", told)
        assert found, told
        yield int(found.group(1))
        assert proc.poll() is None, "floor_server exited"
    finally:
        proc.kill()
        proc.wait(timeout=TIMEOUT)
        proc.stderr.close()  # type: ignore[union-attr]


class IrcClient:
    """A blocking IRC client as loadgen.c's: lines in, lines out."""

    def __init__(self, port: int, nick: str) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        self.buf = b""
        self.nick = nick

    def send(self, line: str) -> None:
        self.sock.sendall(line.encode() + b"\r\n")

    def line(self) -> str:
        deadline = time.monotonic() + TIMEOUT
        while b"\r\n" not in self.buf:
            assert time.monotonic() < deadline, f"{self.nick}: no line"
            chunk = self.sock.recv(4096)
            assert chunk, f"{self.nick}: the server closed the connection"
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode()

    def join(self) -> list[str]:
        """Register and join #bench; the lines up to 366 (end of NAMES)."""
        self.send(f"NICK {self.nick}")
        self.send(f"USER {self.nick} 0 * :{self.nick}")
        assert self.line().split()[1] == "001"
        self.send("JOIN #bench")
        lines = [self.line() for _ in range(2)]
        assert lines[-1].split()[1] == "366", lines
        return lines


def test_floor_relays_to_the_others_not_the_sender(floor_port: int) -> None:
    a, b, c = (IrcClient(floor_port, n) for n in ("m0", "m1", "m2"))
    try:
        assert a.join()[0] == ":m0!u@h JOIN #bench"
        assert b.join()[0] == ":m1!u@h JOIN #bench"
        assert a.line() == ":m1!u@h JOIN #bench"  # a JOIN goes to every member
        c.join()
        assert a.line() == b.line() == ":m2!u@h JOIN #bench"

        a.send("PRIVMSG #bench :0 123 xxxx")
        a.send("PING :token")
        relayed = ":m0!u@h PRIVMSG #bench :0 123 xxxx"
        assert b.line() == c.line() == relayed
        # no echo: a's next line is the answer to the PING it sent after
        assert a.line() == ":floor PONG floor :token"

        # a member gone leaves the others served
        c.sock.close()
        b.send("PRIVMSG #bench :1 456 yyyy")
        assert a.line() == ":m1!u@h PRIVMSG #bench :1 456 yyyy"
    finally:
        for client in (a, b, c):
            client.sock.close()


def kernel_buffering() -> int:
    """At most what the kernel holds for one loopback connection without its
    reader reading: the sender's largest send buffer and the receiver's
    initial receive buffer (it grows only as the reader reads)."""
    wmem = Path("/proc/sys/net/ipv4/tcp_wmem").read_text().split()
    rmem = Path("/proc/sys/net/ipv4/tcp_rmem").read_text().split()
    return int(wmem[2]) + int(rmem[1])


def test_floor_delivers_everything_a_slow_reader_could_not_take(
    floor_port: int,
) -> None:
    """What the kernel does not take waits in the member's buffer: all of it
    arrives, in order, once the member reads."""
    sender, reader = IrcClient(floor_port, "m0"), IrcClient(floor_port, "m1")
    try:
        sender.join()
        reader.join()
        assert sender.line() == ":m1!u@h JOIN #bench"
        text = "x" * 400
        count = 2 * kernel_buffering() // len(text) + 1
        batch = "".join(f"PRIVMSG #bench :{i} {text}\r\n" for i in range(count))
        sender.sock.sendall(batch.encode())
        sender.send("PING :sent")
        assert sender.line() == ":floor PONG floor :sent"  # all of it was read
        expected = "".join(
            f":m0!u@h PRIVMSG #bench :{i} {text}\r\n" for i in range(count)
        ).encode()
        got = bytearray(reader.buf)
        deadline = time.monotonic() + 30
        while len(got) < len(expected) and time.monotonic() < deadline:
            chunk = reader.sock.recv(1 << 20)
            assert chunk, "the server closed the slow reader's connection"
            got += chunk
        assert got == expected
    finally:
        sender.sock.close()
        reader.sock.close()


def load_run() -> Any:
    sys.path.insert(0, str(BENCHMARKS))
    try:
        import run
    finally:
        sys.path.remove(str(BENCHMARKS))
    return run


def latency_summary(run: Any, server: str, p50_us: float, p99_us: float) -> Any:
    row = {"status": "OK", "lat_p50_us": p50_us, "lat_p99_us": p99_us}
    return run.Summary("latency-steady", server, [row])


def test_the_floor_is_a_peer_row_but_not_a_target() -> None:
    run = load_run()
    assert "floor" in run.ALL_PEERS  # in the default --peers
    summ = {
        ("latency-steady", name): latency_summary(run, name, p50, p99)
        for name, p50, p99 in (
            ("chatproto", 5000, 20000),
            ("ngircd", 6000, 30000),
            ("inspircd", 7000, 31000),
            ("floor", 1000, 4000),  # far ahead of chatproto
        )
    }
    vs_peers = "\n".join(run.peer_lines(summ, [s for _, s in summ]))
    assert "vs floor" in vs_peers and "5.00x" in vs_peers  # p99 20 / 4 ms
    rows = [r for r in run.targets(summ, quick=False) if r[0] == "latency-steady"]
    assert rows == [
        [
            "latency-steady",
            "at or ahead of ngircd and inspircd",
            "p50 5.00 vs 6.00, p99 20.00 vs 30.00 ms",
            "MET",
        ]
    ]
