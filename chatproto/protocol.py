"""
The line protocol: one L{ChatProtocol} per TCP (or TLS, or UNIX) connection.

It frames what the client sends into lines, decodes them, and hands them to
the member's L{MemberSession}, which does everything else; the way back,
it gives the session the transport to write the encoded lines to.
"""

from __future__ import annotations

import enum
import socket

from twisted.internet.interfaces import IAddress, IConsumer, IDelayedCall, ITransport
from twisted.internet.protocol import connectionDone
from twisted.logger import Logger
from twisted.python.failure import Failure

from chatproto import wire
from chatproto.direct import direct_writes
from chatproto.framing import LinesReceiver
from chatproto.server import ChatServer
from chatproto.session import MemberSession, State

# How long a nickname reply without a line ending may sit before the client
# is taken to be one that never sends line endings.
UNFRAMED_AFTER = 0.3
# TCP keepalive: probe a connection idle this long, every KEEPALIVE_INTERVAL,
# and give up after KEEPALIVE_PROBES unanswered probes: a vanished laptop is
# noticed, and its nickname freed, in about two minutes.
KEEPALIVE_IDLE = 60
KEEPALIVE_INTERVAL = 10
KEEPALIVE_PROBES = 6


class Framing(enum.Enum):
    UNDECIDED = "undecided"
    LINES = "lines"
    UNFRAMED = "unframed"


class ChatProtocol(LinesReceiver):
    """
    A member's connection: the line protocol's framing, over a session.

    Line endings are C{\\n} with an optional C{\\r}; unframed clients are
    served in raw mode, one message per read.
    """

    delimiter = b"\n"
    log = Logger()

    def __init__(self, server: ChatServer) -> None:
        self.server = server
        self.max_line = server.limits.max_line
        # One byte more than max_line, for the CR of a CRLF line ending.
        self.MAX_LENGTH = self.max_line + 1
        self.framing = Framing.UNDECIDED
        self.session: MemberSession | None = None
        self._unframed_timer: IDelayedCall | None = None
        # Set while the rest of an overlong line is still arriving.
        self._discarding = False
        # What followed an overlong line in the same read.
        self._after_overlong = b""
        self._decoder = wire.incremental_decoder()
        self._consumer: IConsumer | None = None

    # Connection events

    def connectionMade(self) -> None:
        tune_socket(self.transport)
        self._consumer = direct_writes(self.transport)
        address = self.transport.getPeer()
        self.session = self.server.connect(
            self, describe(address), getattr(address, "host", None)
        )
        self.session.start()

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        if self._unframed_timer is not None and self._unframed_timer.active():
            self._unframed_timer.cancel()
        if self.session is not None:
            self.session.connection_lost(reason)

    # FrontEnd, for the session

    @property
    def consumer(self) -> IConsumer:
        if self._consumer is None:  # before connectionMade
            return self.transport  # type: ignore[return-value]
        return self._consumer

    def pause_input(self) -> None:
        self.pauseProducing()

    def resume_input(self) -> None:
        self.resumeProducing()

    def close(self) -> None:
        self.transport.loseConnection()

    def abort(self) -> None:
        self.transport.abortConnection()

    # Framing: bytes to text

    def dataReceived(self, data: bytes) -> None:
        received = bool(data)
        self.server.metrics.bytes_received(len(data))
        while True:
            if self._discarding:
                end = data.find(b"\n")
                if end < 0:
                    break
                self._discarding = False
                self._saw_line_ending()
                data = data[end + 1 :]
            super().dataReceived(data)
            # LinesReceiver stops after an overlong line; carry on with what
            # followed it.
            data, self._after_overlong = self._after_overlong, b""
            if not data:
                break
        if received and self.framing is Framing.UNDECIDED and self._choosing_nick():
            self._restart_unframed_timer()

    def _choosing_nick(self) -> bool:
        return self.session is not None and self.session.state is State.CHOOSING_NICK

    def lineReceived(self, line: bytes) -> None:
        self._saw_line_ending()
        if line.endswith(b"\r"):
            line = line[:-1]
        assert self.session is not None
        if len(line) > self.max_line:
            self.session.line_too_long()
            return
        # The read's next lines go to the session with this one, as many as
        # it would act on now (no more, so that lines over the rate wait
        # here, as bytes): a sender that pipelines lines costs less a line.
        more = (
            self.takeLines(self.max_line, self.session.lines_ready() - 1)
            if self.moreLines
            else []
        )
        if more:
            more.insert(0, line)
            taken = self.session.lines_received(wire.decode_lines(more))
            self.putBackLines(more[taken:])
        else:
            self.session.line_received(wire.decode(line))

    def lineLengthExceeded(self, line: bytes) -> None:
        # Unlike LineReceiver's default, keep the connection: report, skip
        # the rest of the overlong line, and go on with the next one.
        end = line.find(b"\n")
        if end < 0:
            self._discarding = True
        else:
            self._saw_line_ending()
            self._after_overlong = line[end + 1 :]
        assert self.session is not None
        self.session.line_too_long()

    def rawDataReceived(self, data: bytes) -> None:
        # An unframed client: each read is one message, though line endings
        # inside it still separate messages.
        assert self.session is not None
        if len(data) > self.max_line:
            self._decoder.reset()
            self.session.line_too_long()
            return
        pieces = self._decoder.decode(data).split("\n")
        if len(pieces) > 1 and not pieces[-1]:
            pieces.pop()  # the read ended with a line ending
        for piece in pieces:
            self.session.line_received(piece.removesuffix("\r"))

    def _restart_unframed_timer(self) -> None:
        if self._unframed_timer is not None and self._unframed_timer.active():
            self._unframed_timer.reset(UNFRAMED_AFTER)
        else:
            self._unframed_timer = self.server.clock.callLater(
                UNFRAMED_AFTER, self._decide_framing, Framing.UNFRAMED
            )

    def _saw_line_ending(self) -> None:
        if self.framing is Framing.UNDECIDED:
            self._decide_framing(Framing.LINES)

    def _decide_framing(self, framing: Framing) -> None:
        if self._unframed_timer is not None and self._unframed_timer.active():
            self._unframed_timer.cancel()
        self._unframed_timer = None
        self.framing = framing
        if framing is Framing.UNFRAMED:
            assert self.session is not None
            self.log.info("{peer} sends no line endings", peer=self.session.peer)
            self._discarding = False
            self.setRawMode()
            pending = self.clearLineBuffer()
            if pending:
                self.rawDataReceived(pending)


def tune_socket(transport: ITransport) -> None:
    # Under TLS the protocol's transport wraps the TCP one; the socket is at
    # the bottom.
    while getattr(transport, "transport", None) is not None:
        transport = transport.transport  # type: ignore[attr-defined]
    handle = getattr(transport, "getHandle", lambda: None)()
    if not isinstance(handle, socket.socket) or handle.family not in (
        socket.AF_INET,
        socket.AF_INET6,
    ):
        return
    handle.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    handle.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    if hasattr(socket, "TCP_KEEPIDLE"):  # Linux; elsewhere the OS default
        handle.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, KEEPALIVE_IDLE)
        handle.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, KEEPALIVE_INTERVAL)
        handle.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, KEEPALIVE_PROBES)


def describe(address: IAddress) -> str:
    """
    A peer address for the log: C{host:port}, C{[v6host]:port}, or whatever
    the address says of itself.
    """
    host = getattr(address, "host", None)
    port = getattr(address, "port", None)
    if host is None:
        return str(address)
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
