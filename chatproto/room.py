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
from typing import TYPE_CHECKING, Protocol

from twisted.logger import Logger

from chatproto.errors import ChatError
from chatproto.fanout import Batch, Fanout, Scheduler
from chatproto.metrics import NO_METRICS, Metrics
from chatproto.nicknames import check_nick, look_alike_key, nick_key

if TYPE_CHECKING:
    from chatproto.history import History

# /history shows at most this many entries at a time (and 20 if not told).
HISTORY_PAGE_MAX = 100
HISTORY_PAGE_DEFAULT = 20


class Event:
    """
    Something a member is told: a kind (C{MSG}, C{JOIN}, ...) and its words,
    the last of which may contain spaces.

    @ivar rendered: front ends cache their renderings of the event here, so
        a fan-out formats each event once, not once per member.
    @ivar id: for an event posted to the whole room, its place in the room's
        history (strictly increasing); 0 for an event to some members only.
    @ivar time: when a room-wide event was posted, in seconds since the
        epoch (UTC); 0.0 for an event to some members only.
    """

    __slots__ = ("kind", "args", "rendered", "id", "time")

    def __init__(self, kind: str, *args: str) -> None:
        self.kind = kind
        self.args = args
        self.rendered: dict[str, bytes] = {}
        self.id = 0
        self.time = 0.0

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

    def deliver_batch(self, batch: Batch) -> None:
        """
        Send the room events of C{batch} to the member, in order.  Members
        often share one batch: render it once (C{batch.rendered}).  Must not
        raise and must not call back into the room synchronously.
        """

    def replay(self, entries: Sequence[Event], last_id: int) -> None:
        """
        Send the member earlier room events from the history, oldest first,
        then the end of the replay: C{last_id} is the id of the newest event
        in the room's history, whether or not it is among C{entries}.  Must
        not raise and must not call back into the room synchronously.
        """

    def disconnect(self) -> None:
        """
        Close the member's connection; the room has already let it go.
        """


class Room:
    """
    A named room: the members in it, unique by nickname, the fan-out that
    gives every member the same events in the same order, and the history of
    the events posted to everyone.

    @ivar motd: returns the message of the day, lines of plain text that each
        newcomer gets as C{INFO} lines right after C{WELCOME}.
    @ivar metrics: told of membership changes and of every fan-out.
    @ivar replay_count: how many of the latest history entries a newcomer
        is shown on joining (0: none).

    With a C{schedule}, room events are coalesced per reactor turn (see
    L{chatproto.fanout}); without, each is handed out as it is posted.
    """

    log = Logger()

    def __init__(
        self,
        name: str,
        motd: Callable[[], Sequence[str]] = tuple,
        metrics: Metrics = NO_METRICS,
        history: History | None = None,
        replay_count: int = 0,
        now: Callable[[], float] = time.time,
        schedule: Scheduler | None = None,
    ) -> None:
        if history is None:
            from chatproto.history import MemoryHistory

            history = MemoryHistory()
        self.name = name
        self.motd = motd
        self.metrics = metrics
        self.history = history
        self.replay_count = replay_count
        self._now = now
        self._members: dict[str, Participant] = {}  # by nick_key
        self._look_alikes: dict[str, Participant] = {}  # by look_alike_key
        # A snapshot of the members, rebuilt only when membership changes, so
        # a fan-out neither copies the member list nor trips over a change.
        self._everyone: tuple[Participant, ...] = ()
        # Deliveries wait here while a fan-out is under way, so that an event
        # posted during a delivery still reaches everyone in posting order.
        self._queue: deque[Callable[[], None]] = deque()
        self._delivering = False
        self._fanout = Fanout(lambda: self._everyone, schedule, metrics)

    def __len__(self) -> int:
        return len(self._members)

    def nicknames(self) -> list[str]:
        """
        The members' nicknames, sorted without regard to case.
        """
        # Sorted by the key each member already has, not computed anew: a
        # join storm asks for this list once per join.
        return [p.nick for p in sorted(self._everyone, key=_sort_key)]

    def find(self, nick: str) -> Participant | None:
        return self._members.get(nick_key(nick))

    def join(
        self,
        recipient: Recipient,
        nick: str,
        since: int | None = None,
        numbered: bool = False,
    ) -> Participant:
        """
        Admit C{recipient} under C{nick}.

        Before the live stream the newcomer is shown, as one replay, the
        latest C{replay_count} history entries, or if C{since} is given,
        every entry the history holds after that id (a member catching up
        after a dropped connection).

        @param numbered: the member wants the ids of live room events.
        @raise ChatError: if the nickname is invalid or taken.
        """
        participant = Participant(self, recipient, nick)
        participant.numbered = numbered
        self._claim(participant, nick)
        self._fanout.enter(participant)
        boundary = self.history.last_id
        self.post(
            Event("WELCOME", nick, f"to {self.name}; type /help for commands"),
            [participant],
        )
        for line in self.motd():
            self.post(Event("INFO", line), [participant])
        # /history goes back from the oldest entry the member has been shown,
        # or from its own JOIN.
        participant._history_cursor = boundary + 1
        if since is not None or self.replay_count:
            # No gap and no duplicate between the replay and the live stream.
            # Deliveries run one at a time, in queue order, on one thread,
            # and a room event gets its id and enters the history in the
            # very step that fans it out to the member snapshot.  The
            # newcomer entered the snapshot just above, when the newest id
            # in the history was `boundary`.  So every room event with an id
            # up to `boundary` was fanned out without the newcomer and is
            # offered by the replay; every later one gets a larger id, is
            # fanned out with the newcomer in the snapshot and arrives live,
            # after the replay since the replay is queued before it.  (The
            # newcomer's own JOIN is the first live event.  Were join called
            # during a fan-out, which Recipient forbids, events queued before
            # it would still arrive exactly once, though ahead of the replay.)
            self._enqueue(lambda: participant._replay_on_join(since, boundary))
        self.post(Event("JOIN", nick))
        self.post(Event("USERS", *self.nicknames()), [participant])
        return participant

    def post(
        self, event: Event, recipients: Collection[Participant] | None = None
    ) -> None:
        """
        Deliver C{event} to C{recipients}, or to every member if C{None}.

        An event for every member is a room event: when its turn in the
        queue comes it gets the next id and the time, and is appended to the
        history before it is fanned out.
        """
        if recipients is None:
            self._enqueue(lambda: self._fan_out(event))
        else:
            self._enqueue(lambda: self._send(event, recipients))

    def _enqueue(self, delivery: Callable[[], None]) -> None:
        self._queue.append(delivery)
        if self._delivering:
            return
        self._delivering = True
        try:
            while self._queue:
                self._queue.popleft()()
        finally:
            self._delivering = False

    def _fan_out(self, event: Event) -> None:
        event.id = self.history.last_id + 1
        event.time = self._now()
        self.history.append(event)
        self._fanout.post(event)

    def _send(self, event: Event, recipients: Collection[Participant]) -> None:
        started = time.perf_counter()
        for participant in recipients:
            # The member first gets the room events posted before this one.
            self._fanout.catch_up(participant)
            # One member's broken connection must not cost the others their
            # message (as in twisted.words' Group.receive).
            try:
                participant.recipient.deliver(event)
            except Exception:
                self.log.failure(
                    "delivering {event!r} to {nick}",
                    event=event,
                    nick=participant.nick,
                )
        # Counted once per event, never once per member.
        self.metrics.fanned_out(event, len(recipients), time.perf_counter() - started)

    def _replay(
        self, participant: Participant, entries: Sequence[Event], last_id: int
    ) -> None:
        def replay() -> None:
            self._fanout.catch_up(participant)
            try:
                participant.recipient.replay(entries, last_id)
            except Exception:
                self.log.failure("replaying history to {nick}", nick=participant.nick)

        self._enqueue(replay)

    def close(self) -> None:
        """
        Let everyone go at once, without LEAVE notices: everyone is leaving.
        """
        self._fanout.flush()
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
        self._fanout.catch_up(participant)
        self._release(participant)
        self._membership_changed()
        args = (participant.nick, reason) if reason else (participant.nick,)
        self.post(Event("LEAVE", *args))

    def _membership_changed(self) -> None:
        self._everyone = tuple(self._members.values())
        self.metrics.members_changed(len(self._everyone))


def _sort_key(participant: Participant) -> str:
    return participant.key


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
        # The member wants ids on live room events (/ids on).
        self.numbered = False
        # How many of the current turn's room events it has been handed.
        self.fanout_cursor = 0
        # /history shows the entries before this id; it moves back with
        # each page.
        self._history_cursor = 0

    def __repr__(self) -> str:
        return f"<Participant {self.nick} in {self.room.name}>"

    def bring_up_to_date(self) -> None:
        """
        Hand the member the room events posted so far that are still waiting
        for the end of the turn: before a line the front end sends it.
        """
        self.room._fanout.catch_up(self)

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

    def catch_up(self, after: int) -> None:
        """
        Replay every history entry after id C{after} that the history still
        holds.
        """
        history = self.room.history
        self.room._replay(self, history.since(after), history.last_id)

    def show_history(self, count: int = HISTORY_PAGE_DEFAULT) -> None:
        """
        Replay up to C{count} (at most L{HISTORY_PAGE_MAX}) entries from
        before the earliest this member has been shown; each call goes
        further back.
        """
        history = self.room.history
        count = max(1, min(count, HISTORY_PAGE_MAX))
        entries = history.before(self._history_cursor, count)
        if entries:
            self._history_cursor = entries[0].id
        self.room._replay(self, entries, history.last_id)

    def show_ids(self, on: bool) -> None:
        self.numbered = on
        if on:
            self.notify("ids on: room lines now come as ID <id> <line>")
        else:
            self.notify("ids off")

    def _replay_on_join(self, since: int | None, boundary: int) -> None:
        # Runs in its turn in the room's queue; see Room.join for why
        # `boundary` separates the replay from the live stream.
        history = self.room.history
        if since is None:
            entries = history.before(boundary + 1, self.room.replay_count)
        else:
            entries = history.since(since)
            while entries and entries[-1].id > boundary:
                entries.pop()
        if entries:
            self._history_cursor = entries[0].id
        self.room._replay(self, entries, boundary)

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
