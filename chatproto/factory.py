"""
The factory behind a listening port of the line protocol: a L{ChatProtocol}
per connection, or a refusal when the server is full.
"""

from __future__ import annotations

from twisted.internet.interfaces import IAddress
from twisted.internet.protocol import Factory, Protocol
from twisted.logger import Logger

from chatproto import wire
from chatproto.errors import ChatError
from chatproto.events import Event
from chatproto.protocol import ChatProtocol, describe
from chatproto.server import ChatServer
from chatproto.session import CLOSE_GRACE


class Refusal(Protocol):
    """
    Says why the connection is refused, before any handshake, and closes;
    cuts it if the peer does not let it close (a TLS handshake that never
    completes).
    """

    def __init__(self, error: ChatError, server: ChatServer) -> None:
        self.line = wire.encode_event(Event("ERROR", error.code, error.reason))
        self.clock = server.clock

    def connectionMade(self) -> None:
        self._cut = self.clock.callLater(CLOSE_GRACE, self.transport.abortConnection)
        self.transport.write(self.line)
        self.transport.loseConnection()

    def connectionLost(self, reason: object = None) -> None:
        if self._cut.active():
            self._cut.cancel()


class ChatFactory(Factory):
    """
    Builds a L{ChatProtocol} for each connection to a L{ChatServer}.
    """

    # The sessions log connections themselves, with the peer address.
    noisy = False
    log = Logger()

    def __init__(self, server: ChatServer) -> None:
        self.server = server

    def buildProtocol(self, addr: IAddress) -> Protocol:
        refusal = self.server.refusal(getattr(addr, "host", None))
        if refusal is not None:
            self.log.info(
                "{peer} refused: {code}", peer=describe(addr), code=refusal.code
            )
            return Refusal(refusal, self.server)
        protocol = ChatProtocol(self.server)
        protocol.factory = self
        return protocol
