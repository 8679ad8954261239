"""
Shared fixtures.  The reactor is imported inside fixtures, never at module
top, so that pytest-twisted can install the one it is asked for.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from client_helpers import Server


@pytest.fixture(autouse=True)
def reactor_left_clean() -> Iterator[None]:
    """
    Fail a test that leaves sockets or timers behind in the global reactor:
    pytest-twisted does not.
    """
    from twisted.internet import reactor

    def state() -> tuple[set[object], set[object], set[object]]:
        # The reactor's own wakers appear once it starts; they are not ours.
        readers = {
            reader
            for reader in reactor.getReaders()
            if not type(reader).__name__.endswith("Waker")
        }
        return readers, set(reactor.getWriters()), set(reactor.getDelayedCalls())

    before = state()
    yield
    after = state()
    leftovers = [
        f"{kind}: {sorted(map(repr, now - then))}"
        for kind, then, now in zip(
            ("readers", "writers", "delayed calls"), before, after, strict=True
        )
        if now - then
    ]
    assert not leftovers, "the test left the reactor dirty: " + "; ".join(leftovers)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium, one per test module (tests/web_browser.py)."""
    from web_browser import chromium

    with chromium() as driver:
        yield driver


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    """A chatroom server: twistd in a subprocess on a free port."""
    server = Server(tmp_path)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port on 127.0.0.1 that another program listens on."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        yield taken.getsockname()[1]
