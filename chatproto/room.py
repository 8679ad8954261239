"""
A room: the members in it, the fan-out that gives each of them the same
events in the same order, and the room's history.

Nothing here knows about bytes, transports, nicknames rules or commands.  A
member (L{chatproto.session.MemberSession}) implements L{Recipient}, joins a
L{Room}, and acts in it through the L{Participant} it gets back.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Collection, Sequence
from typing import Any, Protocol

from twisted.logger import Logger

from chatproto.events import Batch, Event
from chatproto.fanout import Fanout, Scheduler
from chatproto.history import History, MemoryHistory
from chatproto.metrics import NO_METRICS, Metrics
from chatproto.moderation import Moderation

# /history shows at most this many entries at a time (and 20 if not told).
HISTORY_PAGE_MAX = 100
HISTORY_PAGE_DEFAULT = 20
# A catch-up (/since) replays at most this many entries at a time; it then
# says there is more (HISTORY-MORE), and the client asks again from there.
SINCE_PAGE = 500


class Recipient(Protocol):
    """
    What a room needs from a member.  None of these may raise or call back
    into a room synchronously.

    @ivar nick: the member's nickname, as shown.
    @ivar key: the nickname's key (L{chatproto.names.name_key}), for sorting.
    """

    nick: str
    key: str

    def deliver(self, event: Event) -> None:
        """
        Send C{event} to the member.
        """

    def deliver_batch(self, batch: Batch) -> None:
        """
        Send the room events of C{batch} to the member, in order.  Members
        often share one batch: render it once (C{batch.rendered}).
        """

    def replay(self, entries: Sequence[Event], last_id: int, more: int) -> None:
        """
        Send the member earlier room events from the history, oldest first,
        then the end of the replay: C{last_id} is the id after which every
        room event reaches the member live.  C{more}, if not 0, is the id of
        the last entry sent when the history holds more after it than one
        replay gives.
        """


class Room:
    """
    A named room: the members in it, the fan-out that gives every member the
    same events in the same order, and the history of the events posted to
    everyone.

    @ivar name: the room's name, as shown.
    @ivar key: its identity (L{chatproto.names.name_key}).
    @ivar replay_count: how many of the latest history entries a newcomer
        is shown on joining (0: none).
    @ivar on_change: called with the room after each join and leave.

    With a C{schedule}, room events are coalesced per reactor turn (see
    L{chatproto.fanout}); without, each is handed out as it is posted.
    """

    log = Logger()

    def __init__(
        self,
        name: str,
        key: str = "",
        metrics: Metrics = NO_METRICS,
        history: History | None = None,
        replay_count: int = 0,
        now: Callable[[], float] = time.time,
        schedule: Scheduler | None = None,
        moderation: Moderation | None = None,
    ) -> None:
        self.name = name
        self.key = key or name
        self.metrics = metrics
        self.history: History = MemoryHistory() if history is None else history
        self.replay_count = replay_count
        self.moderation = (
            moderation if moderation is not None else Moderation(name, now=now)
        )
        self.on_change: Callable[[Room], None] = lambda room: None
        self._now = now
        self._members: dict[Recipient, Participant] = {}
        # A snapshot of the members, rebuilt only when membership changes, so
        # a fan-out neither copies the member list nor trips over a change.
        self._everyone: tuple[Participant, ...] = ()
        # Deliveries wait here while a fan-out is under way, so that an event
        # posted during a delivery still reaches everyone in posting order.
        self._queue: deque[tuple[Callable[..., None], tuple[Any, ...]]] = deque()
        self._delivering = False
        self._fanout = Fanout(lambda: self._everyone, schedule, metrics, name)

    def __len__(self) -> int:
        return len(self._members)

    def __repr__(self) -> str:
        return f"<Room {self.name} ({len(self)})>"

    def nicknames(self) -> list[str]:
        """
        The members' nicknames, sorted without regard to case.
        """
        # Sorted by the key each member already has, not computed anew: a
        # join storm asks for this list once per join.
        return [p.nick for p in sorted(self._everyone, key=_sort_key)]

    def participant(self, recipient: Recipient) -> Participant | None:
        return self._members.get(recipient)

    def join(self, recipient: Recipient, since: int | None = None) -> Participant:
        """
        Admit C{recipient}.  It is told the room's name (C{ROOM}), then
        shown, as one replay, the latest C{replay_count} history entries,
        or if C{since} is given, the entries the history holds after that
        id (a member catching up after a dropped connection); then everyone
        is told it joined, and it is told who is here.
        """
        participant = Participant(self, recipient)
        self._members[recipient] = participant
        self._membership_changed()
        self._fanout.enter(participant)
        boundary = self.history.last_id
        self.post(Event("ROOM", self.name), [participant])
        if self.moderation.settings.topic:
            self.post(self.topic_event(), [participant])
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
        self.post(Event("JOIN", recipient.nick))
        self.post(Event("USERS", *self.nicknames()), [participant])
        return participant

    def topic_event(self) -> Event:
        return Event("TOPIC", self.name, self.moderation.settings.topic)

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
            self._enqueue(self._fan_out, (event,))
        else:
            self._enqueue(self._send, event, recipients)

    def _enqueue(self, delivery: Callable[..., None], *args: Any) -> None:
        """
        Carry out C{delivery(*args)} after the deliveries already under way
        (one may post another): the room's events keep one order.
        """
        if self._delivering:
            self._queue.append((delivery, args))
            return
        self._delivering = True
        try:
            if self._queue:  # left behind by a delivery that raised
                self._queue.append((delivery, args))
            else:
                delivery(*args)
            while self._queue:
                delivery, args = self._queue.popleft()
                delivery(*args)
        finally:
            self._delivering = False

    def post_all(self, events: Sequence[Event]) -> None:
        """
        Post each of C{events} to every member, in order: the lines a member
        sent together.
        """
        self._enqueue(self._fan_out, events)

    def _fan_out(self, events: Sequence[Event]) -> None:
        history, now = self.history, self._now()
        appended = 0
        try:
            for event in events:
                event.id = history.last_id + 1
                event.time = now
                history.append(event)
                appended += 1
        finally:
            # What is in the history is fanned out, even if appending one
            # raised (its durable copy failed): as if posted one by one.
            self._fanout.post(
                events if appended == len(events) else events[:appended]
            )

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
        self,
        participant: Participant,
        entries: Sequence[Event],
        last_id: int,
        more: int = 0,
    ) -> None:
        def replay() -> None:
            self._fanout.catch_up(participant)
            try:
                participant.recipient.replay(entries, last_id, more)
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
        self._membership_changed()

    def _remove(self, participant: Participant, reason: str) -> None:
        self._fanout.catch_up(participant)
        if self._members.get(participant.recipient) is participant:
            del self._members[participant.recipient]
        self.moderation.left(participant.recipient.key)
        self._membership_changed()
        args = (participant.nick, reason) if reason else (participant.nick,)
        self.post(Event("LEAVE", *args))

    def _membership_changed(self) -> None:
        self._everyone = tuple(self._members.values())
        self.on_change(self)


def _sort_key(participant: Participant) -> str:
    return participant.recipient.key


class Participant:
    """
    A member's place in a room: what the member's session calls to act in it.
    """

    __slots__ = (
        "room",
        "recipient",
        "present",
        "fanout_cursor",
        "_history_cursor",
    )

    def __init__(self, room: Room, recipient: Recipient) -> None:
        self.room = room
        self.recipient = recipient
        self.present = True
        # How many of the current turn's room events it has been handed.
        self.fanout_cursor = 0
        # /history shows the entries before this id; it moves back with
        # each page.
        self._history_cursor = 0

    @property
    def nick(self) -> str:
        return self.recipient.nick

    def __repr__(self) -> str:
        return f"<Participant {self.nick} in {self.room.name}>"

    def bring_up_to_date(self) -> None:
        """
        Hand the member the room events posted so far that are still waiting
        for the end of the turn: before a line it is sent directly.
        """
        self.room._fanout.catch_up(self)

    def say(self, text: str) -> None:
        self.room.post(Event("MSG", self.nick, text))

    def say_all(self, texts: Sequence[str]) -> None:
        """L{say} each of C{texts}, in order."""
        nick = self.nick
        self.room.post_all([Event("MSG", nick, text) for text in texts])

    def act(self, text: str) -> None:
        self.room.post(Event("ACTION", self.nick, text))

    def tell(self, event: Event) -> None:
        """
        Send C{event} to this member alone, after the room events it has
        not had yet.
        """
        self.room.post(event, [self])

    def catch_up(self, after: int) -> int:
        """
        Replay the history entries after id C{after} that the history still
        holds, at most L{SINCE_PAGE} of them.

        @return: how many entries are replayed.
        """
        history = self.room.history
        entries = history.since(after, SINCE_PAGE + 1)
        more = 0
        if len(entries) > SINCE_PAGE:
            del entries[SINCE_PAGE:]
            more = entries[-1].id
        self.room._replay(self, entries, history.last_id, more)
        return len(entries)

    def show_history(self, count: int = HISTORY_PAGE_DEFAULT) -> int:
        """
        Replay up to C{count} (at most L{HISTORY_PAGE_MAX}) entries from
        before the earliest this member has been shown; each call goes
        further back.

        @return: how many entries are replayed.
        """
        history = self.room.history
        count = max(1, min(count, HISTORY_PAGE_MAX))
        entries = history.before(self._history_cursor, count)
        if entries:
            self._history_cursor = entries[0].id
        self.room._replay(self, entries, history.last_id)
        return len(entries)

    def _replay_on_join(self, since: int | None, boundary: int) -> None:
        # Runs in its turn in the room's queue; see Room.join for why
        # `boundary` separates the replay from the live stream.
        history = self.room.history
        more = 0
        if since is None:
            entries = history.before(boundary + 1, self.room.replay_count)
        else:
            entries = history.since(since, SINCE_PAGE + 1)
            while entries and entries[-1].id > boundary:
                entries.pop()
            if len(entries) > SINCE_PAGE:
                del entries[SINCE_PAGE:]
                more = entries[-1].id
        if entries:
            self._history_cursor = entries[0].id
        self.room._replay(self, entries, boundary, more)

    def who(self) -> None:
        self.tell(Event("USERS", *self.room.nicknames()))

    def leave(self, reason: str = "") -> None:
        """
        Leave the room; the other members are told why.  Idempotent.
        """
        if self.present:
            self.present = False
            self.room._remove(self, reason)
