"""
The line protocol: one L{ChatProtocol} per TCP connection.

It frames and cleans what the client sends, keeps the connection's state
(choosing a nickname, in the room, gone) and turns room events into lines.
The chat itself happens in L{chatproto.room}.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

from twisted.internet.error import ConnectionDone
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.internet.protocol import Factory, connectionDone
from twisted.logger import Logger
from twisted.protocols.basic import LineReceiver
from twisted.python.failure import Failure

from chatproto import wire
from chatproto.commands import handle_input
from chatproto.errors import ChatError
from chatproto.room import Event, Participant, Room

if TYPE_CHECKING:
    from twisted.internet.interfaces import IAddress

DEFAULT_MAX_LINE = 2048
# How long a nickname reply without a line ending may sit before the client
# is taken to be one that never sends line endings.
UNFRAMED_AFTER = 0.3
MAX_NICK_ATTEMPTS = 5


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

    def __init__(self, room: Room, clock: IReactorTime, max_line: int) -> None:
        self.room = room
        self.clock = clock
        self.max_line = max_line
        # One byte more than max_line, for the CR of a CRLF line ending.
        self.MAX_LENGTH = max_line + 1
        self.state = State.CHOOSING_NICK
        self.framing = Framing.UNDECIDED
        self.participant: Participant | None = None
        self.peer = "?"
        self._nick_attempts = 0
        self._unframed_timer: IDelayedCall | None = None
        # Set while the rest of an overlong line is still arriving.
        self._discarding = False
        # What followed an overlong line in the same read.
        self._after_overlong = b""
        self._decoder = wire.incremental_decoder()

    # Connection events

    def connectionMade(self) -> None:
        self.peer = _describe(self.transport.getPeer())
        self.log.info("{peer} connected", peer=self.peer)
        self.deliver(Event("NICK"))

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        if self._unframed_timer is not None and self._unframed_timer.active():
            self._unframed_timer.cancel()
        if self.state is State.IN_ROOM and self.participant is not None:
            why = (
                "connection closed"
                if reason.check(ConnectionDone)
                else "connection lost"
            )
            self.log.info(
                "{peer} {nick} left: {why}",
                peer=self.peer,
                nick=self.participant.nick,
                why=why,
            )
            self.participant.leave(why)
        else:
            self.log.info("{peer} disconnected", peer=self.peer)
        self.state = State.GONE

    # Framing: bytes to text

    def dataReceived(self, data: bytes) -> None:
        received = bool(data)
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
            if text.strip():
                self._nick_received(text)
        elif self.state is State.IN_ROOM:
            assert self.participant is not None
            text = wire.clean_text(text)
            if text.strip():
                try:
                    handle_input(self.participant, text)
                except ChatError as error:
                    self._report(error)
        # GONE: the connection is closing; what is still buffered is ignored.

    def _nick_received(self, nick: str) -> None:
        try:
            self.participant = self.room.join(self, nick)
        except ChatError as error:
            self._nick_rejected(error)
        else:
            self.state = State.IN_ROOM
            self.log.info(
                "{peer} joined {room} as {nick}",
                peer=self.peer,
                room=self.room.name,
                nick=nick,
            )

    def _nick_rejected(self, error: ChatError) -> None:
        self._nick_attempts += 1
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
            self.deliver(Event("NICK"))

    def _line_too_long(self) -> None:
        error = ChatError(
            "line-too-long", f"lines are limited to {self.max_line} bytes; discarded"
        )
        if self.state is State.CHOOSING_NICK:
            self._nick_rejected(error)
        else:
            self._report(error)

    def _report(self, error: ChatError) -> None:
        self.deliver(Event("ERROR", error.code, error.reason))

    # Recipient, for the room

    def deliver(self, event: Event) -> None:
        self.transport.write(wire.encode_event(event))

    def disconnect(self) -> None:
        if self.state is State.IN_ROOM and self.participant is not None:
            self.log.info(
                "{peer} {nick} quit", peer=self.peer, nick=self.participant.nick
            )
        self.state = State.GONE
        self.transport.loseConnection()


class ChatFactory(Factory):
    """
    Builds a L{ChatProtocol} for each connection to one room.
    """

    # The protocols log connections themselves, with the peer address.
    noisy = False

    def __init__(
        self,
        room: Room,
        max_line: int = DEFAULT_MAX_LINE,
        clock: IReactorTime | None = None,
    ) -> None:
        if clock is None:
            from twisted.internet import reactor as clock
        self.room = room
        self.max_line = max_line
        self.clock = clock

    def buildProtocol(self, addr: IAddress) -> ChatProtocol:
        protocol = ChatProtocol(self.room, self.clock, self.max_line)
        protocol.factory = self
        return protocol


def _describe(address: IAddress) -> str:
    host = getattr(address, "host", None)
    port = getattr(address, "port", None)
    if host is None:
        return str(address)
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
