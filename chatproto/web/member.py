"""
The WebSocket front end: one L{WebMember} per WebSocket connection, a thin
adapter over the member's L{MemberSession}, as L{ChatProtocol} is for the
line protocol.

What travels is the line protocol itself (docs/protocol.rst, "From a
browser"): each message the server sends holds one or more complete lines,
the very bytes a TCP member is sent, in a text frame; each message a client
sends is a line (a final line ending is optional; line endings inside it
separate lines, as in an unframed client's reads).  So the session, the
rooms and their shared rendering serve both front ends unchanged, and this
module only frames and unframes.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from twisted.internet.interfaces import IConsumer, IPushProducer, ITransport
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web.server import Request
from twisted.web.websocket import WebSocketTransport
from wsproto.utilities import LocalProtocolError
from zope.interface import implementer

from chatproto import wire
from chatproto.errors import ChatError
from chatproto.events import Event
from chatproto.protocol import describe, tune_socket
from chatproto.server import ChatServer
from chatproto.session import CLOSE_GRACE, MemberSession

# A final line ending a client may put on a message, not counted in
# --max-line, as on the line protocol.
_LINE_ENDING = 2


class _Overlong(str):
    """
    What a bounded buffer delivers for a text message over the limit.
    """


class _OverlongBytes(bytes):
    """
    What a bounded buffer delivers for a binary message over the limit.
    """


class _BoundedMessage:
    """
    Reassembles a message from its frames, as Twisted does, but keeps at
    most C{limit} characters (or bytes): past that, the rest of the message
    is dropped as it arrives, and the message is delivered as an empty
    L{_Overlong} (or L{_OverlongBytes}).
    """

    def __init__(self, empty: Any, overlong: Any, limit: int) -> None:
        self.empty = self.data = empty
        self.overlong = overlong
        self.limit = limit
        self.over = False

    def add(self, new: Any) -> None:
        if self.over:
            return
        if len(self.data) + len(new) > self.limit:
            self.over = True
            self.data = self.empty
        else:
            self.data += new

    def done(self) -> Any:
        result = self.overlong if self.over else self.data
        self.data, self.over = self.empty, False
        return result


def bound_messages(socket: WebSocketTransport, limit: int) -> bool:
    """
    Have the Twisted WebSocket connection C{socket} hold at most C{limit}
    characters of a message it is reassembling.

    Twisted (26.10) reassembles every message whole, however long, before
    handing it over: a client could make the server hold gigabytes.  Its
    reassembly buffers are private attributes of the connection; this
    swaps them for bounded ones.  Returns whether it could (a later
    Twisted may do without, or offer a limit of its own).
    """
    if not all(hasattr(socket, name) for name in ("_textBuffer", "_bytesBuffer")):
        return False
    socket._textBuffer = _BoundedMessage("", _Overlong(), limit)  # type: ignore[attr-defined]
    socket._bytesBuffer = _BoundedMessage(b"", _OverlongBytes(), limit)  # type: ignore[attr-defined]
    return True


@implementer(IConsumer)
class MessageWriter:
    """
    The consumer a session writes to: each write, one or more complete
    lines, goes out as one text message.  Flow control is the HTTP
    connection's: a producer registered here is paused while the socket's
    buffer is full.
    """

    def __init__(self, socket: WebSocketTransport, request: Request) -> None:
        self.socket = socket
        self.request = request

    def write(self, data: bytes) -> None:
        try:
            self.socket.sendTextMessage(data.decode(wire.ENCODING))
        except LocalProtocolError:
            # The WebSocket is closing: what is written now is dropped, as a
            # TCP transport drops writes after loseConnection.
            pass

    def registerProducer(self, producer: IPushProducer, streaming: bool) -> None:
        # Not socket.attachProducer: after the upgrade the HTTP channel is
        # still the TCP transport's producer, so that would raise.  The
        # channel passes its pause and resume on to the request's producer.
        self.request.registerProducer(producer, streaming)

    def unregisterProducer(self) -> None:
        self.request.unregisterProducer()


class WebMember:
    """
    A member's WebSocket connection: frames and unframes for its session.
    Implements Twisted's C{WebSocketProtocol} towards the socket and
    L{chatproto.session.FrontEnd} towards the session.
    """

    log = Logger()

    def __init__(self, server: ChatServer, request: Request) -> None:
        self.server = server
        self.request = request
        self.max_line = server.limits.max_line
        self.session: MemberSession | None = None
        self.socket: WebSocketTransport | None = None
        self._writer: MessageWriter | None = None
        # What arrived while input is paused, in order: lines, and None for
        # a message that was too long.
        self._waiting: deque[str | None] = deque()
        self._paused = False

    @property
    def connection(self) -> ITransport:
        """
        The HTTP connection the WebSocket runs on (TCP or TLS).
        """
        return self.request.channel.transport  # type: ignore[no-any-return]

    # WebSocketProtocol

    def negotiationStarted(self, transport: WebSocketTransport) -> None:
        self.socket = transport
        if not bound_messages(transport, self.max_line + _LINE_ENDING):
            self.log.error(
                "this Twisted's WebSocket messages cannot be bounded; "
                "a client may send messages of any size"
            )

    def negotiationFinished(self) -> None:
        # The upgrade's answer is written: from here on the session may
        # speak.
        assert self.socket is not None
        self._writer = MessageWriter(self.socket, self.request)
        tune_socket(self.connection)
        address = self.request.getClientAddress()
        self.session = self.server.connect(
            self, describe(address), getattr(address, "host", None)
        )
        self.session.start()

    def textMessageReceived(self, message: str) -> None:
        if type(message) is _Overlong:
            self._received(None)
            return
        data = message.encode(wire.ENCODING)
        self.server.metrics.bytes_received(len(data))
        self._message(message, data)

    def bytesMessageReceived(self, data: bytes | bytearray) -> None:
        if type(data) is _OverlongBytes:
            self._received(None)
            return
        self.server.metrics.bytes_received(len(data))
        self._message(wire.decode(bytes(data)), data)

    def pongReceived(self, payload: bytes) -> None:
        pass

    def connectionLost(self, reason: Failure) -> None:
        self._waiting.clear()
        if self.session is not None:
            self.session.connection_lost(reason)

    # Unframing: a message to lines

    def _message(self, text: str, data: bytes | bytearray) -> None:
        if len(data.removesuffix(b"\n").removesuffix(b"\r")) > self.max_line:
            self._received(None)
            return
        lines = text.split("\n")
        if len(lines) > 1 and not lines[-1]:
            lines.pop()  # the message ended with a line ending
        for line in lines:
            self._received(line.removesuffix("\r"))

    def _received(self, line: str | None) -> None:
        if self._paused or self._waiting:
            self._waiting.append(line)
        else:
            self._hand(line)

    def _hand(self, line: str | None) -> None:
        assert self.session is not None
        if line is None:
            self.session.line_too_long()
        else:
            self.session.line_received(line)

    # FrontEnd, for the session

    @property
    def consumer(self) -> IConsumer:
        assert self._writer is not None
        return self._writer

    def pause_input(self) -> None:
        # The frames of the current read may still come: they wait in
        # _waiting.  No more is read from the socket, so the client's own
        # buffers fill and it is pushed back on, as on the line protocol.
        if not self._paused:
            self._paused = True
            self.connection.pauseProducing()

    def resume_input(self) -> None:
        if not self._paused:
            return
        self._paused = False
        while self._waiting and not self._paused:
            self._hand(self._waiting.popleft())
        if not self._paused:
            self.connection.resumeProducing()

    def close(self) -> None:
        assert self.socket is not None
        try:
            self.socket.loseConnection()
        except LocalProtocolError:
            # The client closed first; its close is answered already.
            self.connection.loseConnection()

    def abort(self) -> None:
        self.connection.abortConnection()  # type: ignore[attr-defined]


class Refused:
    """
    A WebSocket connection the server cannot take (server full, too many
    from one address): says why, as the line protocol does, and closes; cuts
    it if the client does not let it close.
    """

    def __init__(self, error: ChatError, server: ChatServer, request: Request) -> None:
        self.line = wire.encode_event(Event("ERROR", error.code, error.reason))
        self.clock = server.clock
        self.request = request
        self.socket: WebSocketTransport | None = None
        self._cut: Any = None

    def negotiationStarted(self, transport: WebSocketTransport) -> None:
        self.socket = transport

    def negotiationFinished(self) -> None:
        assert self.socket is not None
        self._cut = self.clock.callLater(
            CLOSE_GRACE, self.request.channel.transport.abortConnection
        )
        self.socket.sendTextMessage(self.line.decode(wire.ENCODING))
        self.socket.loseConnection()

    def textMessageReceived(self, message: str) -> None:
        pass

    def bytesMessageReceived(self, data: bytes | bytearray) -> None:
        pass

    def pongReceived(self, payload: bytes) -> None:
        pass

    def connectionLost(self, reason: Failure) -> None:
        if self._cut is not None and self._cut.active():
            self._cut.cancel()


class MemberFactory:
    """
    Twisted's C{WebSocketServerFactory}: a L{WebMember} for each WebSocket
    connection to the server, or a L{Refused} when it cannot be taken.
    """

    log = Logger()

    def __init__(self, server: ChatServer) -> None:
        self.server = server

    def buildProtocol(self, request: Request) -> WebMember | Refused:
        address = request.getClientAddress()
        refusal = self.server.refusal(getattr(address, "host", None))
        if refusal is not None:
            self.log.info(
                "{peer} refused: {code}", peer=describe(address), code=refusal.code
            )
            return Refused(refusal, self.server, request)
        return WebMember(self.server, request)
