"""The wire side of the client: bytes from the server in, events out."""

from __future__ import annotations

from typing import Protocol as Interface

from twisted.internet.protocol import Factory
from twisted.protocols.basic import LineReceiver
from twisted.python.failure import Failure

from .events import Event, parse_line


class TolerantLineReceiver(LineReceiver):
    """A LineReceiver for ``\\n`` or ``\\r\\n`` lines that survives long lines.

    A line longer than MAX_LENGTH is skipped up to its line ending (and
    ``lineSkipped`` called); the lines after it arrive intact and the
    connection stays up (LineReceiver's default is to drop it).
    """

    delimiter = b"\n"
    MAX_LENGTH = 1 << 20
    _skipping = False
    _pending: bytes | None = None

    def dataReceived(self, data: bytes) -> None:
        # Loop instead of recursing: lineLengthExceeded leaves what followed
        # the long line in self._pending for us to go on with. Each pass
        # consumes at least one line ending, so the loop ends.
        while True:
            if self._skipping:
                _, newline, data = data.partition(b"\n")
                if not newline:
                    return
                self._skipping = False
                self.lineSkipped()
            super().dataReceived(data)
            if self._pending is None:
                return
            data, self._pending = self._pending, None

    def lineLengthExceeded(self, line: bytes) -> None:
        # ``line`` starts with (part of) the long line and may hold more lines.
        self._skipping = True
        self._pending = line

    def lineReceived(self, line: bytes) -> None:
        if line.endswith(b"\r"):
            line = line[:-1]
        self.textReceived(line.decode("utf-8", "replace"))

    def textReceived(self, text: str) -> None:
        raise NotImplementedError

    def lineSkipped(self) -> None:
        pass


class Listener(Interface):
    """What the wire protocol reports to (the session)."""

    def connection_made(self, client: ChatClientProtocol) -> None: ...

    def event_received(self, event: Event) -> None: ...

    def line_skipped(self) -> None: ...

    def connection_lost(self, client: ChatClientProtocol, reason: Failure) -> None: ...


class ChatClientProtocol(TolerantLineReceiver):
    """Parse the server's lines into events for a listener; send lines."""

    def __init__(self, listener: Listener) -> None:
        self.listener = listener

    def connectionMade(self) -> None:
        self.listener.connection_made(self)

    def textReceived(self, text: str) -> None:
        event = parse_line(text)
        if event is not None:
            self.listener.event_received(event)

    def lineSkipped(self) -> None:
        self.listener.line_skipped()

    def send(self, text: str) -> None:
        """Send one line; line breaks inside ``text`` cannot split it."""
        text = text.replace("\r", " ").replace("\n", " ")
        self.transport.write(text.encode("utf-8") + b"\r\n")

    def close(self) -> None:
        self.transport.loseConnection()

    def connectionLost(self, reason: Failure = None) -> None:  # type: ignore[assignment]
        self.listener.connection_lost(self, reason)


class ChatClientFactory(Factory):
    """Build one ChatClientProtocol per connection, all reporting to one listener."""

    def __init__(self, listener: Listener) -> None:
        self.listener = listener

    def buildProtocol(self, addr: object) -> ChatClientProtocol:
        return ChatClientProtocol(self.listener)
