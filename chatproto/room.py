"""
The chat domain: a room, its members and their nicknames, and the fan-out.

Nothing here knows about bytes, transports or line endings.  A front end (the
line protocol today; a WebSocket page or an IRC port later) implements
L{Recipient} for each connection, joins it to a L{Room}, and drives the
L{Participant} it gets back.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Collection, Sequence
from typing import Protocol

from twisted.logger import Logger

from chatproto.errors import ChatError
from chatproto.metrics import NO_METRICS, Metrics
from chatproto.nicknames import check_nick, look_alike_key, nick_key


class Event:
    """
    Something a member is told: a kind (C{MSG}, C{JOIN}, ...) and its words,
    the last of which may contain spaces.

    @ivar rendered: front ends cache their rendering of the event here, so a
        fan-out formats each event once, not once per member.
    """

    __slots__ = ("kind", "args", "rendered")

    def __init__(self, kind: str, *args: str) -> None:
        self.kind = kind
        self.args = args
        self.rendered: dict[str, bytes] = {}

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Event):
            return NotImplemented
        return (self.kind, self.args) == (other.kind, other.args)

    def __hash__(self) -> int:
        return hash((self.kind, self.args))

    def __repr__(self) -> str:
        return f"Event{(self.kind, *self.args)!r}"


class Recipient(Protocol):
    """
    What the room needs from a member's connection.
    """

    def deliver(self, event: Event) -> None:
        """
        Send C{event} to the member.  Must not raise and must not call back
        into the room synchronously.
        """

    def disconnect(self) -> None:
        """
        Close the member's connection; the room has already let it go.
        """


class Room:
    """
    A named room: the members in it, unique by nickname, and the fan-out that
    gives every member the same events in the same order.

    @ivar motd: returns the message of the day, lines of plain text that each
        newcomer gets as C{INFO} lines right after C{WELCOME}.
    @ivar metrics: told of membership changes and of every fan-out.
    """

    log = Logger()

    def __init__(
        self,
        name: str,
        motd: Callable[[], Sequence[str]] = tuple,
        metrics: Metrics = NO_METRICS,
    ) -> None:
        self.name = name
        self.motd = motd
        self.metrics = metrics
        self._members: dict[str, Participant] = {}  # by nick_key
        self._look_alikes: dict[str, Participant] = {}  # by look_alike_key
        # A snapshot of the members, rebuilt only when membership changes, so
        # a fan-out neither copies the member list nor trips over a change.
        self._everyone: tuple[Participant, ...] = ()
        # Events wait here while a fan-out is under way, so that an event
        # posted during a delivery still reaches everyone in posting order.
        self._queue: deque[tuple[Event, Collection[Participant] | None]] = deque()
        self._delivering = False

    def __len__(self) -> int:
        return len(self._members)

    def nicknames(self) -> list[str]:
        """
        The members' nicknames, sorted without regard to case.
        """
        return sorted((p.nick for p in self._everyone), key=nick_key)

    def find(self, nick: str) -> Participant | None:
        return self._members.get(nick_key(nick))

    def join(self, recipient: Recipient, nick: str) -> Participant:
        """
        Admit C{recipient} under C{nick}.

        @raise ChatError: if the nickname is invalid or taken.
        """
        participant = Participant(self, recipient, nick)
        self._claim(participant, nick)
        self.post(
            Event("WELCOME", nick, f"to {self.name}; type /help for commands"),
            [participant],
        )
        for line in self.motd():
            self.post(Event("INFO", line), [participant])
        self.post(Event("JOIN", nick))
        self.post(Event("USERS", *self.nicknames()), [participant])
        return participant

    def post(
        self, event: Event, recipients: Collection[Participant] | None = None
    ) -> None:
        """
        Deliver C{event} to C{recipients}, or to every member if C{None}.
        """
        self._queue.append((event, recipients))
        if self._delivering:
            return
        self._delivering = True
        try:
            while self._queue:
                event, targets = self._queue.popleft()
                members = self._everyone if targets is None else targets
                started = time.perf_counter()
                for participant in members:
                    self._deliver(participant, event)
                # Counted once per event, never once per member.
                self.metrics.fanned_out(
                    event, len(members), time.perf_counter() - started
                )
        finally:
            self._delivering = False

    def _deliver(self, participant: Participant, event: Event) -> None:
        # One member's broken connection must not cost the others their
        # message (as in twisted.words' Group.receive).
        try:
            participant.recipient.deliver(event)
        except Exception:
            self.log.failure(
                "delivering {event!r} to {nick}", event=event, nick=participant.nick
            )

    def close(self) -> None:
        """
        Let everyone go at once, without LEAVE notices: everyone is leaving.
        """
        for participant in self._everyone:
            participant.present = False
        self._members.clear()
        self._look_alikes.clear()
        self._membership_changed()

    def _claim(self, participant: Participant, nick: str) -> None:
        """
        Register C{nick} for C{participant}, in place of the nickname it had.

        @raise ChatError: if C{nick} is invalid, or someone else has it or
            one that looks like it.
        """
        key = check_nick(nick)
        look_alike = look_alike_key(nick)
        for holder in (self._members.get(key), self._look_alikes.get(look_alike)):
            if holder is not None and holder is not participant:
                if nick_key(holder.nick) == key:
                    reason = f"{holder.nick} is already in the room"
                else:
                    reason = f"{nick} looks too much like {holder.nick}, who is here"
                raise ChatError("nick-taken", reason)
        self._release(participant)
        participant.nick, participant.key, participant.look_alike = (
            nick,
            key,
            look_alike,
        )
        self._members[key] = participant
        self._look_alikes[look_alike] = participant
        self._membership_changed()

    def _release(self, participant: Participant) -> None:
        if self._members.get(participant.key) is participant:
            del self._members[participant.key]
            del self._look_alikes[participant.look_alike]

    def _rename(self, participant: Participant, new: str) -> None:
        old = participant.nick
        self._claim(participant, new)
        self.post(Event("RENAME", old, new))

    def _remove(self, participant: Participant, reason: str) -> None:
        self._release(participant)
        self._membership_changed()
        args = (participant.nick, reason) if reason else (participant.nick,)
        self.post(Event("LEAVE", *args))

    def _membership_changed(self) -> None:
        self._everyone = tuple(self._members.values())
        self.metrics.members_changed(len(self._everyone))


class Participant:
    """
    A member's place in a room: what a front end calls to act for it.
    """

    def __init__(self, room: Room, recipient: Recipient, nick: str) -> None:
        self.room = room
        self.recipient = recipient
        self.nick = nick
        # Set by the room when it registers the nickname.
        self.key = self.look_alike = ""
        self.present = True

    def __repr__(self) -> str:
        return f"<Participant {self.nick} in {self.room.name}>"

    def say(self, text: str) -> None:
        self.room.post(Event("MSG", self.nick, text))

    def act(self, text: str) -> None:
        self.room.post(Event("ACTION", self.nick, text))

    def tell(self, nick: str, text: str) -> None:
        """
        Send C{text} privately to the member called C{nick}, with a copy to
        the sender.

        @raise ChatError: if nobody is called C{nick}.
        """
        target = self.room.find(nick)
        if target is None:
            raise ChatError("no-such-nick", f"nobody called {nick} is in the room")
        event = Event("PRIVATE", self.nick, target.nick, text)
        self.room.post(event, [self] if target is self else [target, self])

    def who(self) -> None:
        self.room.post(Event("USERS", *self.room.nicknames()), [self])

    def notify(self, text: str) -> None:
        self.room.post(Event("INFO", text), [self])

    def rename(self, new: str) -> None:
        """
        @raise ChatError: if C{new} is invalid or someone else's.
        """
        if new == self.nick:
            self.notify(f"you are already called {new}")
        else:
            self.room._rename(self, new)

    def leave(self, reason: str = "") -> None:
        """
        Leave the room; the other members are told why.  Idempotent.
        """
        if self.present:
            self.present = False
            self.room._remove(self, reason)

    def quit(self, reason: str = "") -> None:
        """
        Leave the room and have the front end close the connection.
        """
        self.leave(reason)
        self.recipient.disconnect()
