"""
The factory behind the listening port: builds a protocol per connection,
enforces the connection limits, and shuts everyone down cleanly.
"""

from __future__ import annotations

from collections import Counter

from twisted.internet.defer import Deferred, succeed
from twisted.internet.interfaces import IAddress, IReactorTime
from twisted.internet.protocol import Factory, Protocol
from twisted.logger import Logger

from chatproto import wire
from chatproto.limits import Limits
from chatproto.metrics import NO_METRICS, Metrics
from chatproto.protocol import ChatProtocol, describe
from chatproto.room import Event, Room

DEFAULT_LIMITS = Limits()
SHUTDOWN_NOTICE = "server shutting down"
# How long connections get to flush their last lines when the server stops.
SHUTDOWN_GRACE = 3.0


class Refusal(Protocol):
    """
    Says why the connection is refused, before any handshake, and closes.
    """

    def __init__(self, code: str, reason: str) -> None:
        self.line = wire.encode_event(Event("ERROR", code, reason))

    def connectionMade(self) -> None:
        self.transport.write(self.line)
        self.transport.loseConnection()


class ChatFactory(Factory):
    """
    Builds a L{ChatProtocol} for each connection to one room.
    """

    # The protocols log connections themselves, with the peer address.
    noisy = False
    log = Logger()

    def __init__(
        self,
        room: Room,
        limits: Limits = DEFAULT_LIMITS,
        clock: IReactorTime | None = None,
        metrics: Metrics = NO_METRICS,
    ) -> None:
        if clock is None:
            from twisted.internet import reactor as clock
        self.room = room
        self.limits = limits
        self.clock = clock
        self.metrics = metrics
        # Every live connection, with the host it came from.
        self.protocols: dict[ChatProtocol, str | None] = {}
        self._per_host: Counter[str] = Counter()
        self._all_closed: list[Deferred[None]] = []

    def buildProtocol(self, addr: IAddress) -> Protocol:
        host = getattr(addr, "host", None)
        if len(self.protocols) >= self.limits.max_clients:
            self.log.info("{peer} refused: server full", peer=describe(addr))
            return Refusal(
                "server-full",
                f"the server has its maximum of {self.limits.max_clients} "
                "connections; try again later",
            )
        if (
            self.limits.max_per_ip
            and host is not None
            and self._per_host[host] >= self.limits.max_per_ip
        ):
            self.log.info("{peer} refused: too many connections", peer=describe(addr))
            return Refusal(
                "too-many-connections",
                f"at most {self.limits.max_per_ip} connections from one address",
            )
        protocol = ChatProtocol(self.room, self.clock, self.limits, self.metrics)
        protocol.factory = self
        self.protocols[protocol] = host
        if host is not None:
            self._per_host[host] += 1
        return protocol

    def connection_closed(self, protocol: ChatProtocol) -> None:
        host = self.protocols.pop(protocol, None)
        if host is not None:
            self._per_host[host] -= 1
            if not self._per_host[host]:
                del self._per_host[host]
        if not self.protocols:
            waiting, self._all_closed = self._all_closed, []
            for waiter in waiting:
                waiter.callback(None)

    def shut_down(self) -> Deferred[None]:
        """
        Tell every connection the server is stopping and close it; fires when
        all are closed.  Connections that have not flushed within
        L{SHUTDOWN_GRACE} seconds (a member that does not read) are aborted.
        """
        self.room.close()
        for protocol in list(self.protocols):
            protocol.shut_down(SHUTDOWN_NOTICE)
        if not self.protocols:
            return succeed(None)
        closed: Deferred[None] = Deferred()
        self._all_closed.append(closed)
        timer = self.clock.callLater(SHUTDOWN_GRACE, self._abort_all)

        def stop_timer(result: None) -> None:
            if timer.active():
                timer.cancel()
            return result

        return closed.addBoth(stop_timer)

    def _abort_all(self) -> None:
        for protocol in list(self.protocols):
            protocol.transport.abortConnection()
