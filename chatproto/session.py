"""
A member's session: everything a member is, whatever front end it came in
by (the line protocol, a WebSocket page, ...).

The session owns the handshake (the nickname and the options sent before
it), the flood control, the send-queue policy, the timers and the rooms the
member is in.  A front end only frames and unframes: it hands the session
each line of text the member sent and implements L{FrontEnd} for the way
back.  See L{chatproto.protocol.ChatProtocol} for the line protocol's.
"""

from __future__ import annotations

import enum
import itertools
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol

from twisted.cred.credentials import UsernamePassword
from twisted.internet.error import ConnectionDone
from twisted.internet.interfaces import IConsumer, IDelayedCall
from twisted.logger import Logger
from twisted.python.failure import Failure

from chatproto import commands, wire
from chatproto.errors import ChatError, Code
from chatproto.events import Batch, Event
from chatproto.intake import Intake
from chatproto.limits import SendQueue, TokenBucket
from chatproto.moderation import until
from chatproto.operators import AttemptLimiter, CheckerBusyError
from chatproto.room import Participant, Room

if TYPE_CHECKING:
    from chatproto.server import ChatServer

MAX_NICK_ATTEMPTS = 5
# Lines a connection may send before it has a nickname.  A client needs a
# handful (options, a nickname or two, /help); past this it is not trying.
MAX_LINES_BEFORE_NICK = 30
# How long a closing connection gets to take its last lines before it is
# cut (a peer that does not read, or a TLS handshake that never ends).
CLOSE_GRACE = 3.0
SHUTDOWN_NOTICE = "server shutting down"


class State(enum.Enum):
    CHOOSING_NICK = "choosing a nickname"
    IN_ROOM = "in a room"
    GONE = "gone"


class FrontEnd(Protocol):
    """
    What a session needs from the front end a member came in by.

    @ivar consumer: where the session writes what the member is sent,
        already encoded; the session registers a streaming producer on it
        to learn when the member stops reading.
    """

    consumer: IConsumer

    def pause_input(self) -> None:
        """
        Stop handing the session lines until L{resume_input}; they wait in
        the connection, in order.
        """

    def resume_input(self) -> None:
        """
        Hand the session the lines that waited, and those to come.
        """

    def close(self) -> None:
        """
        Close the connection once what was written is sent.
        """

    def abort(self) -> None:
        """
        Close the connection at once, dropping what is not sent yet.
        """


class JoinOptions:
    """
    What a connection asked for before its nickname, for its join.

    @ivar since: replay every line after this id instead of the latest ones.
    @ivar numbered: show ids on live room lines.
    @ivar room: the room to join first, instead of the default one.
    """

    def __init__(self) -> None:
        self.since: int | None = None
        self.numbered = False
        self.room: str | None = None


class MemberSession:
    """
    One member, from its connection to its departure.

    @ivar nick: its nickname once it has one (C{""} before).
    @ivar key: the nickname's key.
    @ivar numbered: the member wants ids on live room lines (C{/ids on}).
    @ivar current: where its chat lines go: the room the line protocol shows.
    """

    log = Logger()

    def __init__(
        self, server: ChatServer, front: FrontEnd, peer: str, host: str | None
    ) -> None:
        self.server = server
        self.front = front
        self.peer = peer
        self.host = host
        self.clock = server.clock
        self.limits = limits = server.limits
        self.metrics = server.metrics
        self.state = State.CHOOSING_NICK
        self.nick = self.key = ""
        self.numbered = False
        self.options = JoinOptions()
        self.rooms: dict[str, Participant] = {}
        self.current: Participant | None = None
        self._attempts = 0
        self._lines_before_nick = 0
        self.operator: str | None = None  # the operator's name, once logged in
        self._logins: AttemptLimiter | None = None
        self._handshake_timer: IDelayedCall | None = None
        self._close_timer: IDelayedCall | None = None
        bucket = (
            TokenBucket(limits.rate, limits.burst, self.clock)
            if limits.rate > 0
            else None
        )
        self.intake = Intake(self.clock, bucket, front, self._throttled)
        self._connected = True
        self._sendq = SendQueue(front.consumer, limits.sendq, self._send_queue_exceeded)

    def __repr__(self) -> str:
        return f"<MemberSession {self.nick or self.peer} {self.state.name}>"

    @property
    def joined(self) -> bool:
        return self.state is State.IN_ROOM

    # From the front end

    def start(self) -> None:
        """
        The connection is made: ask for a nickname.
        """
        self.log.info("{peer} connected", peer=self.peer)
        self.metrics.connection_accepted()
        if self.limits.handshake_timeout > 0:
            # From the first byte, whatever the stage: a TLS handshake that
            # never completes is timed out too.
            self._handshake_timer = self.clock.callLater(
                self.limits.handshake_timeout, self._handshake_timed_out
            )
        self.reply(Event("NICK"))

    def line_received(self, text: str) -> None:
        """
        One line the member sent, decoded but not cleaned.  Every line,
        valid or not, counts against the member's rate.
        """
        self.intake.admit(self._text_received, text)

    def lines_ready(self) -> int:
        """
        How many lines, sent now, would be acted on at once: a front end
        hands L{lines_received} at most that many.
        """
        return self.intake.allowance()

    def lines_received(self, texts: Sequence[str]) -> int:
        """
        Lines the member sent together, decoded but not cleaned: the same
        as L{line_received} for each in turn, up to the line that makes the
        intake hold the rest back (over the rate, or waiting).  A run of
        lines that only speak in the current room (most lines, under load)
        goes to the room in one piece.

        @return: How many of C{texts} were taken, at least one; the front
            end keeps the others and hands them over again (the first of
            them is then held, and the member's input paused, until the
            intake is ready).
        """
        position, count = 0, len(texts)
        while position < count:
            if position and not self.intake.idle:
                break
            run = self._speech_run(texts, position)
            taken = self.intake.take_up_to(len(run)) if run else 0
            if taken:
                said = [text for text in run[:taken] if text.strip()]
                if said:
                    assert self.current is not None
                    self.current.say_all(said)
                position += taken
            else:
                self.line_received(texts[position])
                position += 1
        return position

    def _speech_run(self, texts: Sequence[str], start: int) -> list[str]:
        # What the lines from texts[start] on say, up to the first command:
        # what the member may say at once, as it is in a room that limits
        # no one's speech (blank lines are in the run, as every line costs
        # the rate).  Empty if the member is not in such a room.
        if self.state is not State.IN_ROOM:
            return []
        assert self.current is not None
        if self.current.room.moderation.restricted:
            return []
        run = []
        for text in itertools.islice(texts, start, None):
            said = commands.speech(wire.clean_text(text))
            if said is None:
                break
            run.append(said)
        return run

    def line_too_long(self) -> None:
        """
        The member sent a line over the limit; the front end dropped it.
        """
        self.intake.admit(self._report_line_too_long)

    def connection_lost(self, reason: Failure) -> None:
        self._connected = False
        if self._logins is not None:
            self._logins.cancel()
        self._cancel_timers()
        if self._close_timer is not None and self._close_timer.active():
            self._close_timer.cancel()
        self._close_timer = None
        why = "connection closed" if reason.check(ConnectionDone) else "connection lost"
        if self.state is State.IN_ROOM:
            self.log.info(
                "{peer} {nick} left: {why}", peer=self.peer, nick=self.nick, why=why
            )
            self._depart(why)
        elif self.state is State.CHOOSING_NICK:
            self.log.info(
                "{peer} disconnected before choosing a nickname: {why}",
                peer=self.peer,
                why=_describe(reason),
            )
        self.state = State.GONE
        self.server.disconnected(self)

    # For the room: the Recipient interface

    def deliver(self, event: Event) -> None:
        if event.id and self.numbered:
            self._sendq.write(wire.encode_numbered(event))
        else:
            self._sendq.write(wire.encode_event(event))

    def deliver_batch(self, batch: Batch) -> None:
        self._sendq.write(wire.encode_batch(batch, self.numbered))

    def replay(self, entries: Sequence[Event], last_id: int, more: int = 0) -> None:
        # Outside the room's fan-out, so its bytes are counted here.
        data = b"".join(wire.encode_replay(entries, last_id, more))
        self._sendq.write(data)
        self.metrics.bytes_sent(len(data))

    # Replies

    def reply(self, event: Event) -> None:
        """
        Send the member a line of its own, outside any fan-out: after the
        room events it has not had yet, as it would expect.
        """
        self._direct(event)
        self.metrics.bytes_sent(len(wire.encode_event(event)))  # cached

    def _direct(self, event: Event) -> None:
        for participant in self.rooms.values():
            participant.bring_up_to_date()
        self.deliver(event)

    def notify(self, text: str) -> None:
        self.reply(Event("INFO", text))

    def report(self, error: ChatError) -> None:
        self.reply(Event("ERROR", error.code, error.reason))

    # Flood control: see L{Intake}

    def _throttled(self, first: bool) -> None:
        if first:
            self.log.info("{peer} rate-limited", peer=self.peer)
            self.report(
                ChatError(
                    Code.RATE_LIMITED,
                    f"you are sending faster than {self.limits.rate:g} lines a "
                    "second; your lines are being slowed down, none is lost",
                )
            )
        self.metrics.throttled()

    def charge(self, entries: int) -> None:
        """
        The member was sent C{entries} history entries: they cost tokens.
        """
        self.intake.charge(entries)

    # Text to actions, by state

    def _text_received(self, text: str) -> None:
        if self.state is State.CHOOSING_NICK:
            self._lines_before_nick += 1
            if self._lines_before_nick > MAX_LINES_BEFORE_NICK:
                self._drop_flooder()
            elif text.startswith("/"):
                self._command(wire.clean_text(text), before_nick=True)
            elif text.strip():
                # Not cleaned: a nickname with control characters is
                # rejected, never silently altered.
                self._nick_received(text)
        elif self.state is State.IN_ROOM:
            text = wire.clean_text(text)
            if text.strip():
                self._command(text, before_nick=False)

    def _command(self, text: str, before_nick: bool) -> None:
        try:
            if before_nick:
                commands.handle_before_nick(self, text)
            else:
                commands.handle_input(self, text)
        except ChatError as error:
            self.report(error)
            if before_nick and error.code in _ABOUT_THE_NICK:
                self._nick_rejected(error, report=False)

    def _report_line_too_long(self) -> None:
        error = ChatError(
            Code.LINE_TOO_LONG,
            f"lines are limited to {self.limits.max_line} bytes; discarded",
        )
        if self.state is State.CHOOSING_NICK:
            self.report(error)
            self._nick_rejected(error, report=False)
        else:
            self.report(error)

    def _drop_flooder(self) -> None:
        self.log.info("{peer} flooded before choosing a nickname", peer=self.peer)
        self.report(
            ChatError(
                Code.FLOOD,
                f"{MAX_LINES_BEFORE_NICK} lines without a nickname; goodbye",
            )
        )
        self.close()

    # The handshake

    def _nick_received(self, nick: str) -> None:
        try:
            self.server.claim_nick(self, nick)
        except ChatError as error:
            self.report(error)
            self._nick_rejected(error, report=False)
            return
        self.nick = nick
        try:
            # Banned from the default room is banned from the server.
            self._check_not_banned(self.server.rooms.default)
        except ChatError as error:
            self.log.info("{peer} {nick} refused: banned", peer=self.peer, nick=nick)
            self.server.release_nick(self)
            self.report(error)
            self.close()
            return
        self.state = State.IN_ROOM
        if self._handshake_timer is not None and self._handshake_timer.active():
            self._handshake_timer.cancel()
        self._handshake_timer = None
        self.numbered = self.options.numbered
        wanted = self.options.room
        self._open(
            wanted or self.server.rooms.default.name,
            lambda room: self._welcome(room, self.options.since),
            fallback=wanted is not None,
        )

    def _welcome(self, room: Room, since: int | None) -> None:
        self.log.info(
            "{peer} joined {room} as {nick}",
            peer=self.peer,
            room=room.name,
            nick=self.nick,
        )
        self.reply(
            Event("WELCOME", self.nick, f"to {room.name}; type /help for commands")
        )
        for line in self.server.motd():
            self.notify(line)
        self._enter(room, since)

    def _nick_rejected(self, error: ChatError, report: bool = True) -> None:
        self._attempts += 1
        self.metrics.nick_rejected()
        self.log.info(
            "{peer} nickname rejected: {code}", peer=self.peer, code=error.code
        )
        if report:
            self.report(error)
        if self._attempts >= MAX_NICK_ATTEMPTS:
            self.report(
                ChatError(
                    Code.TOO_MANY_ATTEMPTS,
                    f"{MAX_NICK_ATTEMPTS} nicknames rejected; goodbye",
                )
            )
            self.close()
        else:
            self.reply(Event("NICK"))

    def _handshake_timed_out(self) -> None:
        self._handshake_timer = None
        self.log.info("{peer} chose no nickname in time", peer=self.peer)
        self.metrics.handshake_timed_out()
        self.report(
            ChatError(
                Code.HANDSHAKE_TIMEOUT,
                f"no nickname chosen in {self.limits.handshake_timeout:g} seconds",
            )
        )
        self.close()

    # Rooms

    def _open(
        self, name: str, then: Callable[[Room], None], fallback: bool = False
    ) -> None:
        """
        Open the room called C{name} (it may have to be read from disk) and
        call C{then} with it; meanwhile what the member sends waits.  If it
        cannot be opened or the member is banned from it, the member is told
        why; with C{fallback}, it goes to the default room instead.
        """

        def opened(room: Room) -> None:
            if self.state is State.GONE:
                return
            self._check_not_banned(room)
            then(room)

        def failed(failure: Failure) -> None:
            failure.trap(ChatError)
            if self.state is State.GONE:
                return
            self.report(failure.value)  # type: ignore[arg-type]
            if fallback:
                # The option's room is not to be had, and with it goes the
                # meaning of its /since: the default room's usual replay.
                self._welcome(self.server.rooms.default, None)

        opening = self.server.rooms.open(name, self.key)
        opening.addCallback(opened).addErrback(failed).addErrback(
            lambda failure: self.log.failure("opening {room}", failure, room=name)
        )
        self.intake.wait_for(opening)

    def _check_not_banned(self, room: Room) -> None:
        if self.operator is not None:
            return
        ban = room.moderation.banned(self.key, self.host)
        if ban is not None:
            raise ChatError(
                Code.BANNED,
                f"you are banned from {room.name} "
                f"{until(ban.until, self.clock.seconds())}",
            )

    def _enter(self, room: Room, since: int | None = None) -> None:
        participant = self.rooms.get(room.key)
        if participant is None:
            participant = self.rooms[room.key] = room.join(self, since)
        self.current = participant

    def join(self, name: str) -> None:
        """
        Move to the room called C{name} (made if need be and allowed): the
        room the member was in sees it leave.  This is the line protocol's
        /join, which shows one room at a time.
        """
        current = self.current
        if current is not None and self.server.rooms.same(current.room, name):
            self.notify(f"you are already in {current.room.name}")
            return

        def move(room: Room) -> None:
            if current is not None and current.room is not room:
                self.log.info(
                    "{peer} {nick} moved from {old} to {new}",
                    peer=self.peer,
                    nick=self.nick,
                    old=current.room.name,
                    new=room.name,
                )
                self._part(current, f"went to {room.name}")
            self._enter(room)

        self._open(name, move)

    def enter(self, name: str) -> None:
        """
        Go into the room called C{name} as well, staying in the others: for
        front ends that show several rooms at once.  It becomes the current
        room.
        """
        self._open(name, self._enter)

    def part(self, name: str, reason: str = "") -> None:
        """
        Leave the room called C{name} (not the last one: that is L{quit}).

        @raise ChatError: if the member is not in it.
        """
        found = [p for p in self.rooms.values() if self.server.rooms.same(p.room, name)]
        if not found:
            raise ChatError(Code.NO_SUCH_ROOM, f"you are not in {name}")
        if len(self.rooms) == 1:
            raise ChatError(Code.USAGE, f"{name} is your only room; /quit leaves")
        self._part(found[0], reason)
        if self.current is found[0]:
            self.current = next(iter(self.rooms.values()))

    def _part(self, participant: Participant, reason: str) -> None:
        del self.rooms[participant.room.key]
        participant.leave(reason)

    def in_room(self) -> Participant:
        assert self.current is not None
        return self.current

    # Acting

    def tell(self, nick: str, text: str) -> None:
        """
        Send C{text} privately to the member called C{nick}, wherever it is,
        with a copy to the sender.

        @raise ChatError: if nobody is called C{nick}.
        """
        target = self.server.find(nick)
        if target is None or not target.joined:
            raise ChatError(Code.NO_SUCH_NICK, f"nobody called {nick} is here")
        started = time.perf_counter()
        event = Event("PRIVATE", self.nick, target.nick, text)
        target._direct(event)
        if target is not self:
            self._direct(event)
        self.metrics.fanned_out(
            event, 1 if target is self else 2, time.perf_counter() - started
        )

    def rename(self, new: str) -> None:
        """
        @raise ChatError: if C{new} is invalid or someone else's.
        """
        if new == self.nick:
            self.notify(f"you are already called {new}")
            return
        self.server.claim_nick(self, new, previous=self.nick)
        old, self.nick = self.nick, new
        for participant in self.rooms.values():
            participant.room.post(Event("RENAME", old, new))

    def show_ids(self, on: bool) -> None:
        self.numbered = on
        if on:
            self.notify("ids on: room lines now come as ID <id> <line>")
        else:
            self.notify("ids off")

    def quit(self, reason: str = "") -> None:
        """
        Leave every room, and have the front end close the connection.
        """
        if self.state is State.IN_ROOM:
            self.log.info("{peer} {nick} quit", peer=self.peer, nick=self.nick)
            self._depart(reason)
        self.close()

    def shut_down(self, notice: str = SHUTDOWN_NOTICE) -> None:
        """
        The server is stopping: say so and close, telling nobody else (the
        rooms have closed).
        """
        if self.state is State.IN_ROOM:
            self.log.info(
                "{peer} {nick} left: {why}", peer=self.peer, nick=self.nick, why=notice
            )
        self.notify(notice)
        self.rooms.clear()
        self.current = None
        self.close()

    # Speaking, and moderation

    def speak(self, text: str, action: bool = False) -> None:
        """
        Say C{text} (or act it, C{/me}) in the current room, if the room's
        moderation lets the member.

        @raise ChatError: C{muted} or C{slow-mode}.
        """
        participant = self.in_room()
        room = participant.room
        room.moderation.check_speech(self.key, self.may_moderate(room))
        if action:
            participant.act(text)
        else:
            participant.say(text)

    def may_moderate(self, room: Room) -> bool:
        """
        Operators may moderate every room; the member who made a room, that
        room (unless the server turned owners' moderation off).
        """
        if self.operator is not None:
            return True
        owner = room.moderation.settings.owner
        return bool(owner) and owner == self.key and self.server.rooms.owners_moderate

    def login(self, name: str, password: str) -> None:
        """
        Check C{name} and C{password} against the operators file, off the
        reactor thread; the member's lines wait meanwhile.  A few failures
        in a row slow this connection's next attempts down.
        """
        checker = self.server.checker
        if checker is None:
            raise ChatError(Code.NOT_PERMITTED, "this server has no operators")
        if self._logins is None:
            self._logins = AttemptLimiter(self.clock)
        credentials = UsernamePassword(name.encode(), password.encode())
        checking = self._logins.attempt(lambda: checker.requestAvatarId(credentials))

        def succeeded(operator: str) -> None:
            self.operator = operator
            self.log.info(
                "{peer} {nick} logged in as operator {operator}",
                peer=self.peer,
                nick=self.nick or "(no nickname yet)",
                operator=operator,
            )
            self.notify(f"you are an operator now ({operator})")

        def failed(failure: Failure) -> None:
            self.log.info(
                "{peer} operator login failed: {why}",
                peer=self.peer,
                why=type(failure.value).__name__,
            )
            if failure.check(CheckerBusyError):
                reason = "too many operator logins at once; try again in a moment"
            else:
                reason = "wrong operator name or password"
            self.report(ChatError(Code.NOT_PERMITTED, reason))

        checking.addCallbacks(succeeded, failed).addErrback(
            lambda failure: self.log.failure("operator login", failure)
        )
        self.intake.wait_for(checking)

    def removed_from(self, room: Room, why: str, code: Code) -> None:
        """
        A moderator put the member out of C{room} (C{why}, e.g. "kicked by
        teacher").  Out of the default room, its connection is closed, with
        C{ERROR <code>}; out of another, it goes back to the default room.
        """
        participant = self.rooms.get(room.key)
        if participant is None or self.state is not State.IN_ROOM:
            return
        default = self.server.rooms.default
        if room is default:
            self.log.info(
                "{peer} {nick} {why}", peer=self.peer, nick=self.nick, why=why
            )
            self.report(ChatError(code, f"you were {why}; goodbye"))
            self._depart(why)
            self.close()
            return
        self._part(participant, why)
        self.notify(f"you were {why} (out of {room.name})")
        if not self.rooms:
            self._enter(default)
        elif self.current is participant:
            self.current = next(iter(self.rooms.values()))

    # Leaving

    def _depart(self, reason: str) -> None:
        self.state = State.GONE
        for participant in self.rooms.values():
            participant.leave(reason)
        self.rooms.clear()
        self.current = None
        self.server.release_nick(self)

    def close(self) -> None:
        """
        Close the connection once what is queued is sent, and cut it if
        that takes longer than L{CLOSE_GRACE}.
        """
        if self.state is not State.GONE:
            if self.state is State.IN_ROOM:
                self._depart("")
            self.state = State.GONE
        self._cancel_timers()
        self._sendq.finish()
        if self._connected and self._close_timer is None:
            self._close_timer = self.clock.callLater(CLOSE_GRACE, self._cut)
            self.front.close()

    def _cut(self) -> None:
        self._close_timer = None
        self.log.info("{peer} did not close in time; cut", peer=self.peer)
        self.front.abort()

    def _send_queue_exceeded(self) -> None:
        # The member reads slower than the room talks: let it go rather than
        # hold ever more for it.  What it missed, it can catch up on later.
        # This runs inside a delivery, which must not call back into a room:
        # the member leaves its rooms in the next turn.
        self.log.info("{peer} send queue exceeded", peer=self.peer)
        self.metrics.slow_reader_dropped()
        if self.state is State.IN_ROOM:
            self.state = State.GONE
            self.clock.callLater(0, self._depart, "send queue exceeded")
        self.state = State.GONE
        self._cancel_timers()
        self.front.abort()

    def _cancel_timers(self) -> None:
        # The member is gone, or going: its lines are not acted on.
        self.intake.stop()
        if self._handshake_timer is not None and self._handshake_timer.active():
            self._handshake_timer.cancel()
        self._handshake_timer = None


# Errors before the nickname that count as a rejected nickname.
_ABOUT_THE_NICK = frozenset({Code.NICK_INVALID, Code.NICK_TAKEN})


def _describe(reason: Failure) -> str:
    if reason.check(ConnectionDone):
        return "connection closed"
    value = reason.value
    if type(value).__module__.startswith("OpenSSL"):
        # pyOpenSSL errors hold a list of (library, function, reason).
        details = value.args[0] if value.args else []
        reasons = [str(d[-1]) for d in details if isinstance(d, tuple) and d]
        return "TLS handshake failed: " + (", ".join(reasons) or str(value))
    return str(value).strip() or type(value).__name__
