"""
Test helpers: a member connection driven through a StringTransport.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from twisted.internet.address import IPv4Address
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransportWithDisconnection

from chatproto.events import Event
from chatproto.factory import ChatFactory
from chatproto.limits import Limits
from chatproto.metrics import NO_METRICS, Metrics
from chatproto.protocol import ChatProtocol
from chatproto.room import Room
from chatproto.rooms import MemoryRoomStore, Rooms
from chatproto.server import ChatServer
from chatproto.session import MemberSession

_next_port = iter(range(40000, 60000))


class Connection:
    """
    One client connection to a L{ChatProtocol}, with what it was sent.
    """

    def __init__(self, factory: ChatFactory, host: str = "192.0.2.7") -> None:
        address = IPv4Address("TCP", host, next(_next_port))
        self.transport = StringTransportWithDisconnection(peerAddress=address)
        self.clock: Clock = factory.server.clock  # type: ignore[assignment]
        protocol = factory.buildProtocol(address)
        self.refused = not isinstance(protocol, ChatProtocol)
        self.protocol: ChatProtocol = protocol  # type: ignore[assignment]
        self.transport.protocol = self.protocol
        self.protocol.makeConnection(self.transport)
        self._seen = 0

    def send(self, data: bytes) -> None:
        """
        One read from the client, and the end of that reactor turn.
        """
        self.protocol.dataReceived(data)
        self.clock.advance(0)

    def received(self) -> list[str]:
        """
        Every line received since the last call, once the room has handed
        out the current turn's events.
        """
        self.clock.advance(0)
        data = self.transport.value()
        new, self._seen = data[self._seen :], len(data)
        assert new.endswith(b"\r\n") or not new, new
        return new.decode("utf-8").split("\r\n")[:-1] if new else []

    @property
    def closed(self) -> bool:
        return not self.transport.connected

    @property
    def session(self) -> MemberSession:
        assert self.protocol.session is not None
        return self.protocol.session


def line_factory(
    clock: Any,
    rooms: Sequence[str] = ("lobby",),
    new_rooms: bool = True,
    max_rooms: int = 100,
    replay: int = 0,
    metrics: Metrics = NO_METRICS,
    motd: Callable[[], Sequence[str]] = tuple,
    owners_moderate: bool = True,
    operators: Any = None,
    checker: Any = None,
    **limits: Any,
) -> ChatFactory:
    """
    A chat server on C{clock} (which also stamps the rooms' histories), and
    a line-protocol factory for it.  Ids start at 1 in every room.
    """
    server = ChatServer(
        Rooms(
            rooms,
            # first_id(0, 0.0) is 0 on a fake clock: ids start at 1.
            MemoryRoomStore(now=clock.seconds),
            clock,
            new_rooms=new_rooms,
            max_rooms=max_rooms,
            owners_moderate=owners_moderate,
            replay_count=replay,
            metrics=metrics,
            now=clock.seconds,
            schedule=lambda call: clock.callLater(0, call),
        ),
        Limits(**limits),
        clock,
        metrics=metrics,
        motd=motd,
        operators=operators,
        checker=checker,
    )
    return ChatFactory(server)


class Server:
    """
    A chat server and a line-protocol factory on a fake clock (which also
    stamps the rooms' histories).  Its ids start at 1 in every room.
    """

    def __init__(
        self,
        metrics: Metrics = NO_METRICS,
        motd: Callable[[], Sequence[str]] = tuple,
        replay: int = 0,
        rooms: Sequence[str] = ("lobby",),
        new_rooms: bool = True,
        max_rooms: int = 100,
        owners_moderate: bool = True,
        operators: Any = None,
        checker: Any = None,
        **limits: Any,
    ) -> None:
        self.clock = Clock()
        # No rate limit unless a test asks for one: most tests send fast.
        self.factory = line_factory(
            self.clock,
            rooms,
            new_rooms,
            max_rooms,
            replay,
            metrics,
            motd,
            owners_moderate,
            operators,
            checker,
            **{"rate": 0, **limits},
        )
        self.server = self.factory.server
        self.rooms = self.server.rooms
        self.limits = self.server.limits

    @property
    def room(self) -> Room:
        """
        The default room.
        """
        return self.rooms.default

    def connect(self, host: str = "192.0.2.7") -> Connection:
        return Connection(self.factory, host)

    def member(self, nick: str) -> Connection:
        """
        A connection that has joined as C{nick}, its inbox emptied.
        """
        connection = self.connect()
        connection.send(nick.encode("utf-8") + b"\r\n")
        lines = connection.received()
        assert lines[1].startswith("WELCOME "), lines
        return connection


class RecordedMetrics:
    """
    A L{Metrics} that records the calls made to it, as C{(name, *args)}.
    """

    def __init__(self) -> None:
        self.calls: list[tuple[object, ...]] = []

    def named(self, name: str) -> list[tuple[object, ...]]:
        return [call[1:] for call in self.calls if call[0] == name]

    def connection_accepted(self) -> None:
        self.calls.append(("connection_accepted",))

    def members_changed(self, count: int) -> None:
        self.calls.append(("members_changed", count))

    def rooms_changed(self, count: int) -> None:
        self.calls.append(("rooms_changed", count))

    def nick_rejected(self) -> None:
        self.calls.append(("nick_rejected",))

    def fanned_out(self, event: Event, recipients: int, seconds: float) -> None:
        assert seconds >= 0
        self.calls.append(("fanned_out", event, recipients))

    def bytes_received(self, count: int) -> None:
        self.calls.append(("bytes_received", count))

    def bytes_sent(self, count: int) -> None:
        self.calls.append(("bytes_sent", count))

    def throttled(self) -> None:
        self.calls.append(("throttled",))

    def slow_reader_dropped(self) -> None:
        self.calls.append(("slow_reader_dropped",))

    def handshake_timed_out(self) -> None:
        self.calls.append(("handshake_timed_out",))
