"""
The member session on its own, driven through a fake front end: no
sockets, no framing, a fake clock.  What every front end shares.
"""

from __future__ import annotations

from typing import Any

import pytest
from OpenSSL import SSL
from twisted.internet.defer import Deferred, succeed
from twisted.internet.error import ConnectionDone, ConnectionLost
from twisted.internet.task import Clock
from twisted.logger import capturedLogs, formatEvent
from twisted.python.failure import Failure

from chatproto.errors import ChatError, Code
from chatproto.history import History, MemoryHistory
from chatproto.limits import Limits
from chatproto.rooms import MemoryRoomStore, Rooms
from chatproto.server import ChatServer
from chatproto.session import CLOSE_GRACE, MemberSession, State


class FakeFront:
    """
    A front end that records what the session asks of it.
    """

    def __init__(self) -> None:
        self.written: list[bytes] = []
        self.producer: Any = None
        self.paused = False
        self.closed = False
        self.aborted = False
        self.consumer = self  # the session writes here

    # IConsumer
    def write(self, data: bytes) -> None:
        self.written.append(data)

    def registerProducer(self, producer: Any, streaming: bool) -> None:
        self.producer = producer

    def unregisterProducer(self) -> None:
        self.producer = None

    # FrontEnd
    def pause_input(self) -> None:
        self.paused = True

    def resume_input(self) -> None:
        self.paused = False

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.aborted = True

    def lines(self) -> list[str]:
        data, self.written = b"".join(self.written), []
        return data.decode().split("\r\n")[:-1]


class SlowHistories:
    """
    Histories read from a disk that answers when the test says so.
    """

    def __init__(self) -> None:
        self.waiting: list[Deferred[tuple[History, None]]] = []

    def open(self, key: str, name: str) -> Deferred[tuple[History, None]]:
        if key == "lobby":
            return succeed((MemoryHistory(), None))
        self.waiting.append(Deferred())
        return self.waiting[-1]

    def save(self, key: str, name: str, settings: object) -> None:
        pass

    def release(self, key: str, history: History) -> bool:
        return True


def make_server(histories: Any = None, **limits: Any) -> tuple[ChatServer, Clock]:
    clock = Clock()
    rooms = Rooms(
        ["lobby"],
        histories or MemoryRoomStore(clock.seconds),
        clock,
        schedule=lambda call: clock.callLater(0, call),
    )
    return ChatServer(rooms, Limits(**{"rate": 0, **limits}), clock), clock


def connect(server: ChatServer) -> tuple[MemberSession, FakeFront]:
    front = FakeFront()
    session = server.connect(front, "192.0.2.1:4711", "192.0.2.1")
    session.start()
    return session, front


def joined(server: ChatServer, nick: str) -> tuple[MemberSession, FakeFront]:
    session, front = connect(server)
    session.line_received(nick)
    front.lines()
    return session, front


def test_the_handshake_is_a_small_state_machine() -> None:
    server, _ = make_server()
    session, front = connect(server)
    assert session.state is State.CHOOSING_NICK
    assert front.lines() == ["NICK"]
    assert front.producer is not None  # the send queue watches the writes
    session.line_received("not valid!")
    assert session.state is State.CHOOSING_NICK
    session.line_received("alice")
    assert session.state is State.IN_ROOM
    assert front.lines()[-3:] == ["ROOM lobby", "JOIN alice", "USERS alice"]
    session.line_received("/quit")
    assert session.state is State.GONE
    assert front.closed and front.producer is None
    session.connection_lost(Failure(ConnectionDone()))
    assert server.sessions == {}


def test_a_throttled_member_is_paused_and_resumed_losing_nothing() -> None:
    server, clock = make_server(rate=2, burst=2)
    alice, alice_front = joined(server, "alice")
    bob, bob_front = joined(server, "bob")
    clock.advance(10)
    for n in range(5):
        alice.line_received(f"line {n}")
    clock.advance(0)
    assert alice_front.paused
    assert [line for line in bob_front.lines() if line.startswith("MSG")] == [
        "MSG alice line 0",
        "MSG alice line 1",
    ]
    for _ in range(6):
        clock.advance(0.5)
    assert not alice_front.paused
    assert [line for line in bob_front.lines() if line.startswith("MSG")] == [
        "MSG alice line 2",
        "MSG alice line 3",
        "MSG alice line 4",
    ]


def test_lines_wait_while_a_room_is_read_from_disk() -> None:
    histories = SlowHistories()
    server, clock = make_server(histories)
    alice, front = joined(server, "alice")
    alice.line_received("/join physics")
    alice.line_received("first in physics")
    alice.line_received("/who")
    assert front.paused
    assert front.lines() == []
    [opening] = histories.waiting
    opening.callback((MemoryHistory(), None))
    clock.advance(0)
    assert not front.paused
    lines = front.lines()
    assert lines[0] == "ROOM physics"
    assert lines[-2:] == ["MSG alice first in physics", "USERS alice"]


def test_lines_received_together_stop_where_the_intake_starts_to_wait() -> None:
    histories = SlowHistories()
    server, clock = make_server(histories)
    alice, front = joined(server, "alice")
    assert alice.lines_ready() > 1000
    taken = alice.lines_received(["hello", "/join physics", "later", "/who"])
    assert taken == 2, "the rest stays with the front end"
    assert alice.lines_ready() == 0
    alice.line_received("later")  # the front end hands them one by one
    assert front.paused
    histories.waiting[0].callback((MemoryHistory(), None))
    clock.advance(0)
    assert alice.lines_ready() > 1000
    assert alice.lines_received(["/who"]) == 1
    clock.advance(0)
    assert front.lines()[-2:] == ["MSG alice later", "USERS alice"]


def test_lines_ready_is_what_the_rate_allows() -> None:
    server, clock = make_server(rate=2, burst=3)
    alice, _ = joined(server, "alice")  # the nickname took a token
    assert alice.lines_ready() == 2
    assert alice.lines_received(["one", "two", "three"]) == 3
    assert alice.lines_ready() == 0


def test_two_members_opening_one_room_get_the_same_room() -> None:
    histories = SlowHistories()
    server, clock = make_server(histories)
    alice, _ = joined(server, "alice")
    bob, _ = joined(server, "bob")
    alice.line_received("/join physics")
    bob.line_received("/join PHYSICS")
    [opening] = histories.waiting  # read once
    opening.callback((MemoryHistory(), None))
    assert alice.current is not None and bob.current is not None
    assert alice.current.room is bob.current.room


def test_a_member_may_be_in_several_rooms_at_once() -> None:
    server, clock = make_server()
    alice, alice_front = joined(server, "alice")
    bob, bob_front = joined(server, "bob")
    carol, carol_front = joined(server, "carol")
    carol.join("physics")
    alice.enter("physics")  # and stays in the lobby
    clock.advance(0)
    for front in (alice_front, bob_front, carol_front):
        front.lines()
    assert sorted(alice.rooms) == ["lobby", "physics"]
    alice.rename("alicia")
    clock.advance(0)
    assert bob_front.lines() == carol_front.lines() == ["RENAME alice alicia"]
    alice.part("lobby", "busy")
    clock.advance(0)
    assert bob_front.lines() == ["LEAVE alicia busy"]
    assert alice.current is not None and alice.current.room.name == "physics"
    alice.quit("bye")
    clock.advance(0)
    assert carol_front.lines() == ["LEAVE alicia bye"]


def test_closing_cuts_a_connection_that_does_not_close() -> None:
    server, clock = make_server()
    session, front = connect(server)
    session.line_received("/quit")
    assert front.closed and not front.aborted
    clock.advance(CLOSE_GRACE)
    assert front.aborted
    session.connection_lost(Failure(ConnectionLost()))
    assert not clock.getDelayedCalls()


def test_a_closed_connection_is_not_cut() -> None:
    server, clock = make_server()
    session, front = connect(server)
    session.line_received("/quit")
    session.connection_lost(Failure(ConnectionDone()))
    assert not clock.getDelayedCalls()
    assert not front.aborted


def test_a_slow_reader_leaves_in_the_next_turn_not_inside_a_delivery() -> None:
    server, clock = make_server(sendq=1024)
    alice, _ = joined(server, "alice")
    bob, bob_front = joined(server, "bob")
    bob_front.producer.pauseProducing()  # bob's socket is full
    for n in range(40):
        alice.line_received(f"message {n:03d} " + "x" * 40)
    room = server.rooms.default
    room._fanout.flush()  # the turn's fan-out: bob's queue overflows in it
    assert bob_front.aborted
    assert bob.state is State.GONE
    assert server.rooms.default.nicknames() == ["alice", "bob"]
    clock.advance(0)  # the next turn: bob leaves
    assert server.rooms.default.nicknames() == ["alice"]
    bob.connection_lost(Failure(ConnectionLost()))
    assert server.find("bob") is None


def test_connection_lost_before_the_nickname_is_quiet() -> None:
    server, clock = make_server(handshake_timeout=60)
    session, front = connect(server)
    session.connection_lost(Failure(ConnectionDone()))
    assert session.state is State.GONE
    assert not clock.getDelayedCalls()
    assert server.sessions == {}


def test_put_out_of_the_current_room_of_several_goes_on_in_another() -> None:
    server, clock = make_server()
    alice, alice_front = joined(server, "alice")
    bob, bob_front = joined(server, "bob")
    alice.enter("physics")
    clock.advance(0)
    assert alice.current is not None
    alice.removed_from(alice.current.room, "kicked by teacher", Code.KICKED)
    clock.advance(0)
    assert alice.current is not None and alice.current.room.name == "lobby"
    bob_front.lines()
    alice.line_received("still here")
    clock.advance(0)
    assert bob_front.lines() == ["MSG alice still here"]


def test_closing_twice_cuts_once() -> None:
    server, clock = make_server()
    session, front = connect(server)
    cuts: list[bool] = []
    front.abort = lambda: cuts.append(True)  # type: ignore[method-assign]
    session.line_received("/quit")
    session.shut_down()
    clock.advance(CLOSE_GRACE)
    assert cuts == [True]
    assert not clock.getDelayedCalls()


def test_a_failed_tls_handshake_is_logged_with_its_reason() -> None:
    server, _ = make_server()
    session, _ = connect(server)
    reason = SSL.Error([("SSL routines", "", "wrong version number")])
    with capturedLogs() as events:
        session.connection_lost(Failure(reason))
    [text] = [formatEvent(event) for event in events]
    assert text.endswith(
        "disconnected before choosing a nickname: "
        "TLS handshake failed: wrong version number"
    )


def test_parting_the_current_room_goes_on_in_another() -> None:
    server, clock = make_server()
    alice, _ = joined(server, "alice")
    bob, bob_front = joined(server, "bob")
    alice.enter("physics")
    clock.advance(0)
    alice.part("physics")
    clock.advance(0)
    assert alice.current is not None and alice.current.room.name == "lobby"
    bob_front.lines()
    alice.line_received("back")
    clock.advance(0)
    assert bob_front.lines() == ["MSG alice back"]


def test_parting_a_room_one_is_not_in_is_an_error() -> None:
    server, clock = make_server()
    alice, _ = joined(server, "alice")
    alice.enter("physics")
    clock.advance(0)
    with pytest.raises(ChatError) as raised:
        alice.part("maths")
    assert raised.value.code is Code.NO_SUCH_ROOM
    assert sorted(alice.rooms) == ["lobby", "physics"]


def test_parting_ones_only_room_is_refused() -> None:
    server, _ = make_server()
    alice, _ = joined(server, "alice")
    with pytest.raises(ChatError) as raised:
        alice.part("lobby")
    assert raised.value.code is Code.USAGE
    assert sorted(alice.rooms) == ["lobby"]
