"""
The chat domain: a room, its members and their nicknames, and the fan-out.

Nothing here knows about bytes, transports or line endings.  A front end (the
line protocol today; a WebSocket page or an IRC port later) implements
L{Recipient} for each connection, joins it to a L{Room}, and drives the
L{Participant} it gets back.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import Protocol

from twisted.logger import Logger

from chatproto.errors import ChatError
from chatproto.nicknames import check_nick, nick_key


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
    """

    log = Logger()

    def __init__(self, name: str) -> None:
        self.name = name
        self._members: dict[str, Participant] = {}
        # A snapshot of the members, rebuilt only when membership changes, so
        # a fan-out neither copies the member list nor trips over a change.
        self._everyone: tuple[Participant, ...] = ()
        # Events wait here while a fan-out is under way, so that an event
        # posted during a delivery still reaches everyone in posting order.
        self._queue: deque[tuple[Event, Iterable[Participant] | None]] = deque()
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
        key = self._claim(nick, None)
        participant = Participant(self, recipient, nick, key)
        self._members[key] = participant
        self._membership_changed()
        self.post(
            Event("WELCOME", nick, f"to {self.name}; type /help for commands"),
            [participant],
        )
        self.post(Event("JOIN", nick))
        self.post(Event("USERS", *self.nicknames()), [participant])
        return participant

    def post(
        self, event: Event, recipients: Iterable[Participant] | None = None
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
                for participant in self._everyone if targets is None else targets:
                    self._deliver(participant, event)
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

    def _claim(self, nick: str, claimant: Participant | None) -> str:
        key = check_nick(nick)
        holder = self._members.get(key)
        if holder is not None and holder is not claimant:
            raise ChatError("nick-taken", f"{holder.nick} is already in the room")
        return key

    def _rename(self, participant: Participant, new: str) -> None:
        key = self._claim(new, participant)
        old = participant.nick
        del self._members[participant.key]
        participant.nick, participant.key = new, key
        self._members[key] = participant
        self._membership_changed()
        self.post(Event("RENAME", old, new))

    def _remove(self, participant: Participant, reason: str) -> None:
        del self._members[participant.key]
        self._membership_changed()
        args = (participant.nick, reason) if reason else (participant.nick,)
        self.post(Event("LEAVE", *args))

    def _membership_changed(self) -> None:
        self._everyone = tuple(self._members.values())


class Participant:
    """
    A member's place in a room: what a front end calls to act for it.
    """

    def __init__(self, room: Room, recipient: Recipient, nick: str, key: str) -> None:
        self.room = room
        self.recipient = recipient
        self.nick = nick
        self.key = key
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
