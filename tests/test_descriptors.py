"""
File descriptors: the soft limit raised at start-up, --max-clients cut to
what the descriptors can serve, and a newcomer past that told
ERROR server-full instead of hanging in an accept() that fails.
"""

from __future__ import annotations

import resource
import socket
import sys
import time
from pathlib import Path

import pytest
from servers import TIMEOUT, twistd

from chatproto import descriptors
from chatproto.descriptors import RESERVE, Descriptors, fit, raise_limit
from chatproto.limits import Limits

NOFILE = resource.RLIMIT_NOFILE
INFINITY = resource.RLIM_INFINITY


class FakeLimits:
    def __init__(self, soft: int, hard: int, refuse: bool = False) -> None:
        self.now = (soft, hard)
        self.refuse = refuse

    def get(self, which: int) -> tuple[int, int]:
        assert which == NOFILE
        return self.now

    def set(self, which: int, limits: tuple[int, int]) -> None:
        assert which == NOFILE
        if self.refuse:
            raise ValueError("not allowed to set the file limit")
        self.now = limits


@pytest.mark.parametrize(
    ("soft", "hard", "wanted"),
    [
        (1024, 524288, Descriptors(524288, 524288, raised_from=1024)),
        (1024, 1024, Descriptors(1024, 1024)),
        (1024, INFINITY, Descriptors(1 << 20, INFINITY, raised_from=1024)),
        (INFINITY, INFINITY, Descriptors(INFINITY, INFINITY)),
    ],
)
def test_the_soft_limit_is_raised_to_the_hard_one(
    soft: int, hard: int, wanted: Descriptors
) -> None:
    limits = FakeLimits(soft, hard)
    assert raise_limit(limits.get, limits.set) == wanted
    assert limits.now[0] == wanted.limit


def test_a_limit_that_cannot_be_raised_is_kept() -> None:
    limits = FakeLimits(1024, INFINITY, refuse=True)
    assert raise_limit(limits.get, limits.set) == Descriptors(1024, INFINITY)


def test_max_clients_is_cut_to_what_the_descriptors_serve() -> None:
    fitted, said = fit(Limits(max_clients=10_000), Descriptors(1024, 1024))
    assert fitted.max_clients == 1024 - RESERVE
    assert said == (
        "1024 (the hard limit), so at most 768 clients, not --max-clients 10000 "
        "(256 are kept for the server's own files and for refusing newcomers); "
        "raise the hard limit (LimitNOFILE= in the systemd unit, ulimit -Hn) to "
        "serve more"
    )
    fitted, said = fit(
        Limits(max_clients=10_000), Descriptors(65536, 65536, raised_from=1024)
    )
    assert fitted.max_clients == 10_000
    assert said == "65536 (raised from 1024), enough for --max-clients 10000"
    fitted, said = fit(Limits(max_clients=10), Descriptors(257, 257))
    assert fitted.max_clients == 1
    assert said.startswith("257 (the hard limit), so at most 1 client, not ")
    fitted, said = fit(Limits(max_clients=5), Descriptors(INFINITY, INFINITY))
    assert fitted.max_clients == 5
    assert said == "unlimited, enough for --max-clients 5"


def test_the_options_apply_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from chatproto.tap import Options

    limits = FakeLimits(300, 400)
    monkeypatch.setattr(
        descriptors,
        "raise_limit",
        lambda: raise_limit(limits.get, limits.set),
    )
    options = Options()
    options.parseOptions(["--max-clients", "500"])
    assert options["limits"].max_clients == 400 - RESERVE
    assert options["descriptors"].startswith("400 (raised from 300), so at most")


# Run twistd with these descriptor limits, as ulimit or LimitNOFILE would.
LIMITED = """
import os, resource, sys
resource.setrlimit(resource.RLIMIT_NOFILE, (int(sys.argv[1]), int(sys.argv[2])))
os.execv(sys.argv[3], sys.argv[3:])
"""


def limited(soft: int, hard: int) -> list[str]:
    return [sys.executable, "-c", LIMITED, str(soft), str(hard)]


def test_the_banner_says_what_max_clients_can_reach(tmp_path: Path) -> None:
    with twistd(tmp_path, prefix=limited(300, 600)) as server:
        banner = server.wait_for_log(r"chatproto \S+: rooms .*").group(0)
        server.stop()
    assert "--max-clients 344," in banner
    assert (
        "file descriptors: 600 (raised from 300), so at most 344 clients, "
        "not --max-clients 10000 (256 are kept for" in banner
    )


def test_newcomers_past_the_descriptors_get_server_full(tmp_path: Path) -> None:
    """
    With 512 descriptors, 256 connections are served and every later one is
    told ERROR server-full at once; none is left hanging.
    """
    with twistd(tmp_path, prefix=limited(512, 512)) as server:
        sockets = []
        try:
            for _ in range(400):
                sockets.append(socket.create_connection(("127.0.0.1", server.port)))
            firsts = [first_line(sock) for sock in sockets]
        finally:
            for sock in sockets:
                sock.close()
        server.stop()
    assert firsts[: 512 - RESERVE] == ["NICK"] * (512 - RESERVE)
    full = firsts[512 - RESERVE :]
    assert [line for line in full if not line.startswith("ERROR server-full ")] == []


def first_line(sock: socket.socket) -> str:
    """The first line the server sends, or what was there after a bounded wait."""
    data = b""
    deadline = time.monotonic() + TIMEOUT / 2
    while b"\r\n" not in data:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return f"nothing after {TIMEOUT / 2:g} s"
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(4096)
        except TimeoutError:
            continue
        if not chunk:
            return f"closed after {data!r}"
        data += chunk
    return data.split(b"\r\n")[0].decode()
