"""
The line protocol: one L{ChatProtocol} per TCP connection.

It frames and cleans what the client sends, keeps the connection's state
(choosing a nickname, in the room, gone) and turns room events into lines.
The chat itself happens in L{chatproto.room}.
"""

from __future__ import annotations

import enum
import socket
from collections.abc import Sequence

from twisted.internet.error import ConnectionDone
from twisted.internet.interfaces import IAddress, IDelayedCall, IReactorTime, ITransport
from twisted.internet.protocol import connectionDone
from twisted.logger import Logger
from twisted.protocols.basic import LineReceiver
from twisted.python.failure import Failure

from chatproto import wire
from chatproto.commands import JoinOptions, handle_input, handle_join_option
from chatproto.errors import ChatError
from chatproto.fanout import Batch
from chatproto.limits import Limits, SendQueue, TokenBucket
from chatproto.metrics import NO_METRICS, Metrics
from chatproto.room import Event, Participant, Room

# How long a nickname reply without a line ending may sit before the client
# is taken to be one that never sends line endings.
UNFRAMED_AFTER = 0.3
MAX_NICK_ATTEMPTS = 5
# TCP keepalive: probe a connection idle this long, every KEEPALIVE_INTERVAL,
# and give up after KEEPALIVE_PROBES unanswered probes: a vanished laptop is
# noticed, and its nickname freed, in about two minutes.
KEEPALIVE_IDLE = 60
KEEPALIVE_INTERVAL = 10
KEEPALIVE_PROBES = 6


class State(enum.Enum):
    CHOOSING_NICK = "choosing a nickname"
    IN_ROOM = "in the room"
    GONE = "gone"


class Framing(enum.Enum):
    UNDECIDED = "undecided"
    LINES = "lines"
    UNFRAMED = "unframed"


class ChatProtocol(LineReceiver):
    """
    A member's connection.

    Line endings are C{\\n} with an optional C{\\r}; unframed clients are
    served in raw mode, one message per read.
    """

    delimiter = b"\n"
    log = Logger()

    def __init__(
        self,
        room: Room,
        clock: IReactorTime,
        limits: Limits,
        metrics: Metrics = NO_METRICS,
    ) -> None:
        self.room = room
        self.clock = clock
        self.limits = limits
        self.metrics = metrics
        self.max_line = limits.max_line
        # One byte more than max_line, for the CR of a CRLF line ending.
        self.MAX_LENGTH = limits.max_line + 1
        self.state = State.CHOOSING_NICK
        self.framing = Framing.UNDECIDED
        self.participant: Participant | None = None
        # What the client asked for before its nickname (/since, /ids).
        self.join_options = JoinOptions()
        self.peer = "?"
        self._nick_attempts = 0
        self._unframed_timer: IDelayedCall | None = None
        self._handshake_timer: IDelayedCall | None = None
        self._throttle_timer: IDelayedCall | None = None
        # Set while the rest of an overlong line is still arriving.
        self._discarding = False
        # What followed an overlong line in the same read.
        self._after_overlong = b""
        self._decoder = wire.incremental_decoder()
        self._bucket = (
            TokenBucket(limits.rate, limits.burst, clock) if limits.rate > 0 else None
        )
        self._told_throttled = False
        self._sendq: SendQueue | None = None

    # Connection events

    def connectionMade(self) -> None:
        self.peer = describe(self.transport.getPeer())
        self.log.info("{peer} connected", peer=self.peer)
        self.metrics.connection_accepted()
        _tune_socket(self.transport)
        self._sendq = SendQueue(
            self.transport, self.limits.sendq, self._send_queue_exceeded
        )
        if self.limits.handshake_timeout > 0:
            self._handshake_timer = self.clock.callLater(
                self.limits.handshake_timeout, self._handshake_timed_out
            )
        self._reply(Event("NICK"))

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self._cancel_timers()
        if self.state is State.IN_ROOM and self.participant is not None:
            why = (
                "connection closed"
                if reason.check(ConnectionDone)
                else "connection lost"
            )
            self._leave(why)
        else:
            self.log.info("{peer} disconnected", peer=self.peer)
        self.state = State.GONE
        self.factory.connection_closed(self)

    def _cancel_timers(self) -> None:
        timers = (self._unframed_timer, self._handshake_timer, self._throttle_timer)
        for timer in timers:
            if timer is not None and timer.active():
                timer.cancel()

    def _leave(self, why: str) -> None:
        assert self.participant is not None
        self.log.info(
            "{peer} {nick} left: {why}",
            peer=self.peer,
            nick=self.participant.nick,
            why=why,
        )
        self.state = State.GONE
        self.participant.leave(why)

    # Framing: bytes to text

    def dataReceived(self, data: bytes) -> None:
        received = bool(data)
        self.metrics.bytes_received(len(data))
        while True:
            if self._discarding:
                end = data.find(b"\n")
                if end < 0:
                    break
                self._discarding = False
                self._saw_line_ending()
                data = data[end + 1 :]
            super().dataReceived(data)
            # LineReceiver stops after an overlong line; carry on with what
            # followed it.
            data, self._after_overlong = self._after_overlong, b""
            if not data:
                break
        if (
            received
            and self.framing is Framing.UNDECIDED
            and self.state is State.CHOOSING_NICK
        ):
            self._restart_unframed_timer()

    def lineReceived(self, line: bytes) -> None:
        self._saw_line_ending()
        if line.endswith(b"\r"):
            line = line[:-1]
        if len(line) > self.max_line:
            self._line_too_long()
        else:
            self._text_received(wire.decode(line))

    def lineLengthExceeded(self, line: bytes) -> None:
        # Unlike LineReceiver's default, keep the connection: report, skip
        # the rest of the overlong line, and go on with the next one.
        end = line.find(b"\n")
        if end < 0:
            self._discarding = True
        else:
            self._saw_line_ending()
            self._after_overlong = line[end + 1 :]
        self._line_too_long()

    def rawDataReceived(self, data: bytes) -> None:
        # An unframed client: each read is one message, though line endings
        # inside it still separate messages.
        if len(data) > self.max_line:
            self._decoder.reset()
            self._line_too_long()
            return
        for piece in self._decoder.decode(data).split("\n"):
            self._text_received(piece.removesuffix("\r"))

    def _restart_unframed_timer(self) -> None:
        if self._unframed_timer is not None and self._unframed_timer.active():
            self._unframed_timer.reset(UNFRAMED_AFTER)
        else:
            self._unframed_timer = self.clock.callLater(
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
            self.log.info("{peer} sends no line endings", peer=self.peer)
            self._discarding = False
            self.setRawMode()
            pending = self.clearLineBuffer()
            if pending:
                self.rawDataReceived(pending)

    # Text to actions, by state

    def _text_received(self, text: str) -> None:
        # Blank lines are ignored in every state.
        if self.state is State.CHOOSING_NICK:
            # Not cleaned: a nickname with control characters is rejected,
            # never silently altered.
            if text.startswith("/"):
                self._join_option_received(text)
            elif text.strip():
                self._nick_received(text)
        elif self.state is State.IN_ROOM:
            assert self.participant is not None
            text = wire.clean_text(text)
            if text.strip():
                try:
                    handle_input(self.participant, text)
                except ChatError as error:
                    self._report(error)
                if self._bucket is not None:
                    self._spend_token(self._bucket)
        # GONE: the connection is closing; what is still buffered is ignored.

    def _spend_token(self, bucket: TokenBucket) -> None:
        # Throttle, never drop: stop reading until the member may speak
        # again, so TCP pushes back on the sender and its lines wait, in
        # order, in its socket.  Other members are not touched.
        wait = bucket.take()
        if wait <= 0 or self.state is not State.IN_ROOM:
            return
        if not self._told_throttled:
            self._told_throttled = True
            self.log.info("{peer} rate-limited", peer=self.peer)
            self._report(
                ChatError(
                    "rate-limited",
                    f"you are sending faster than {self.limits.rate:g} lines a "
                    "second; your lines are being slowed down, none is lost",
                )
            )
        self.metrics.throttled()
        self.pauseProducing()
        self._throttle_timer = self.clock.callLater(wait, self._unthrottle, bucket)

    def _unthrottle(self, bucket: TokenBucket) -> None:
        if bucket.full():
            self._told_throttled = False
        self.resumeProducing()

    def _join_option_received(self, text: str) -> None:
        # Silent when accepted; a mistake counts as a rejected nickname, so
        # that a client cannot stay here for ever sending mistakes.
        try:
            known = handle_join_option(self.join_options, text)
        except ChatError as error:
            self._nick_rejected(error)
        else:
            if not known:
                self._nick_received(text)

    def _nick_received(self, nick: str) -> None:
        try:
            self.participant = self.room.join(
                self,
                nick,
                since=self.join_options.since,
                numbered=self.join_options.numbered,
            )
        except ChatError as error:
            self._nick_rejected(error)
        else:
            self.state = State.IN_ROOM
            if self._handshake_timer is not None:
                self._handshake_timer.cancel()
                self._handshake_timer = None
            self.log.info(
                "{peer} joined {room} as {nick}",
                peer=self.peer,
                room=self.room.name,
                nick=nick,
            )

    def _nick_rejected(self, error: ChatError) -> None:
        self._nick_attempts += 1
        self.metrics.nick_rejected()
        self.log.info(
            "{peer} nickname rejected: {code}", peer=self.peer, code=error.code
        )
        self._report(error)
        if self._nick_attempts >= MAX_NICK_ATTEMPTS:
            self._report(
                ChatError(
                    "too-many-attempts",
                    f"{MAX_NICK_ATTEMPTS} nicknames rejected; goodbye",
                )
            )
            self.disconnect()
        else:
            self._reply(Event("NICK"))

    def _line_too_long(self) -> None:
        error = ChatError(
            "line-too-long", f"lines are limited to {self.max_line} bytes; discarded"
        )
        if self.state is State.CHOOSING_NICK:
            self._nick_rejected(error)
        else:
            self._report(error)

    def _report(self, error: ChatError) -> None:
        self._reply(Event("ERROR", error.code, error.reason))

    def _reply(self, event: Event) -> None:
        # A line of the connection's own, outside the room's fan-out (which
        # counts the bytes it sends itself, once per event).  It comes after
        # the room events already posted, as the member would expect.
        if self.participant is not None and self.state is State.IN_ROOM:
            self.participant.bring_up_to_date()
        self.deliver(event)
        self.metrics.bytes_sent(len(wire.encode_event(event)))  # cached

    def _handshake_timed_out(self) -> None:
        self.log.info("{peer} chose no nickname in time", peer=self.peer)
        self.metrics.handshake_timed_out()
        self._report(
            ChatError(
                "handshake-timeout",
                f"no nickname chosen in {self.limits.handshake_timeout:g} seconds",
            )
        )
        self.disconnect()

    def _send_queue_exceeded(self) -> None:
        # The member reads slower than the room talks: let it go rather than
        # hold ever more for it.  What it missed, it can catch up on later.
        self.log.info("{peer} send queue exceeded", peer=self.peer)
        self.metrics.slow_reader_dropped()
        if self.state is State.IN_ROOM:
            self._leave("send queue exceeded")
        self.state = State.GONE
        self.transport.abortConnection()

    def shut_down(self, notice: str) -> None:
        """
        The server is stopping: say so and close, telling nobody else.
        """
        self._reply(Event("INFO", notice))
        self.disconnect()

    # Recipient, for the room

    def deliver(self, event: Event) -> None:
        assert self._sendq is not None
        if event.id and self._numbered():
            self._sendq.write(wire.encode_numbered(event))
        else:
            self._sendq.write(wire.encode_event(event))

    def deliver_batch(self, batch: Batch) -> None:
        assert self._sendq is not None
        self._sendq.write(wire.encode_batch(batch, self._numbered()))

    def replay(self, entries: Sequence[Event], last_id: int) -> None:
        # Outside the room's fan-out, so its bytes are counted here.
        assert self._sendq is not None
        data = b"".join(wire.encode_replay(entries, last_id))
        self._sendq.write(data)
        self.metrics.bytes_sent(len(data))

    def _numbered(self) -> bool:
        # While joining, the participant is not ours yet: the join options
        # say what it was created with.
        if self.participant is None:
            return self.join_options.numbered
        return self.participant.numbered

    def disconnect(self) -> None:
        if self.state is State.IN_ROOM and self.participant is not None:
            self.log.info(
                "{peer} {nick} quit", peer=self.peer, nick=self.participant.nick
            )
        self.state = State.GONE
        assert self._sendq is not None
        self._sendq.finish()
        self.transport.loseConnection()


def _tune_socket(transport: ITransport) -> None:
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
