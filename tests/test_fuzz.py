"""
Fuzzing the protocol with hypothesis: arbitrary bytes, arbitrary splits,
arbitrary command lines, members coming and going.
"""

from __future__ import annotations

import unicodedata

from helpers import Connection, Server
from hypothesis import given, settings
from hypothesis import strategies as st

from chatproto.session import State

SLOTS = 4
BROADCAST = ("MSG ", "ACTION ", "RENAME ", "JOIN ", "LEAVE ")

lines = st.sampled_from(
    [
        b"m%d\n",
        b"m%d",
        b"/nick n%d\n",
        b"/nick watch\n",
        b"/quit bye\n",
        b"/quit\n",
        b"/me waves %d\n",
        b"/msg watch hi\n",
        b"/msg nobody hi\n",
        b"/who\n",
        b"/help\n",
        b"hello %d\n",
        b"//slash\n",
        b"\xff\xfe\x1b[2J\r\n",
        b"\xe2\x80\xae\n",
        b"/bogus\n",
        b"x" * 70 + b"\n",
    ]
)
operations = st.lists(
    st.tuples(
        st.integers(0, SLOTS - 1),
        st.one_of(
            lines.map(lambda line: line.replace(b"%d", b"7")),
            st.binary(max_size=40),
            st.just(b"DISCONNECT"),
            st.just(b"WAIT"),
        ),
    ),
    max_size=40,
)


def _is_clean(raw: bytes) -> bool:
    if not raw.endswith(b"\r\n") and raw:
        return False
    for line in raw.split(b"\r\n")[:-1]:
        text = line.decode("utf-8")  # raises on invalid UTF-8
        if any(unicodedata.category(char) == "Cc" for char in text):
            return False
    return True


class Tracked:
    """
    A connection, and where its membership starts and ends in the watcher's
    view of the room.
    """

    def __init__(self, server: Server) -> None:
        self.connection: Connection = server.connect()
        self.start: int | None = None
        self.end: int | None = None


@settings(deadline=None, max_examples=150)
@given(operations)
def test_invariants_hold_whatever_clients_send(ops: list[tuple[int, bytes]]) -> None:
    server = Server(max_line=64)
    watcher = server.member("watch")
    seen: list[str] = []  # the watcher's view of room events
    slots = [Tracked(server) for _ in range(SLOTS)]
    everyone = list(slots)

    def observe() -> None:
        before = len(seen)
        seen.extend(line for line in watcher.received() if line.startswith(BROADCAST))
        for tracked in everyone:
            session = tracked.connection.session
            if tracked.start is None and session.nick:
                tracked.start = _joined_at(seen, before, session.nick)
            if (
                tracked.start is not None
                and tracked.end is None
                and session.state is State.GONE
            ):
                tracked.end = _last(seen, "LEAVE ", session.nick)

    # Half the slots start in the room, so that fuzzing reaches past the
    # handshake quickly.
    for number, tracked in enumerate(slots[: SLOTS // 2]):
        tracked.connection.send(b"s%d\n" % number)
    observe()
    for slot, data in ops:
        tracked = slots[slot]
        if tracked.connection.closed:
            tracked = slots[slot] = Tracked(server)
            everyone.append(tracked)
        if data == b"DISCONNECT":
            tracked.connection.transport.loseConnection()
        elif data == b"WAIT":
            server.clock.advance(0.5)
        else:
            tracked.connection.send(data)
        observe()
    for tracked in everyone:
        tracked.connection.transport.loseConnection()
    observe()

    members = [tracked for tracked in everyone if tracked.start is not None]
    # Exactly one JOIN and one LEAVE per member connection.
    assert sum(line.startswith("JOIN ") for line in seen) == len(members)
    assert sum(line.startswith("LEAVE ") for line in seen) == len(members)
    assert server.room.nicknames() == ["watch"]
    for tracked in everyone:
        assert _is_clean(tracked.connection.transport.value())
    assert _is_clean(watcher.transport.value())
    # Every member saw the room's events in the watcher's order, from its
    # JOIN to its LEAVE.
    for tracked in members:
        assert tracked.start is not None and tracked.end is not None
        view = [
            line
            for line in _lines(tracked.connection.transport.value())
            if line.startswith(BROADCAST)
        ]
        assert view == seen[tracked.start : tracked.end]


def _joined_at(seen: list[str], since: int, nick: str) -> int:
    """
    Where the member now called C{nick} joined, among the events since
    C{since}: it may have been renamed since.
    """
    for index in range(len(seen) - 1, since - 1, -1):
        kind, *words = seen[index].split(" ")
        if kind == "RENAME" and words[1] == nick:
            nick = words[0]
        elif kind == "JOIN" and words[0] == nick:
            return index
    raise AssertionError(f"no JOIN of {nick} in {seen[since:]}")


def _last(seen: list[str], kind: str, nick: str) -> int:
    for index in range(len(seen) - 1, -1, -1):
        words = seen[index].split(" ")
        if seen[index].startswith(kind) and words[1] == nick:
            return index
    raise AssertionError(f"no {kind}{nick} in {seen}")


def _lines(raw: bytes) -> list[str]:
    return raw.decode("utf-8").split("\r\n")[:-1]
