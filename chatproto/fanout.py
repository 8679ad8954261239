"""
The room's fan-out: every room event to every member, coalesced per turn.

Messages that arrive in one reactor turn (one pass over the sockets that are
ready) are collected, in order, and each member is handed them in one batch
when the turn's work is done: one write per member per turn instead of one per
member per message.  Direct events (a reply to one member) still go out at
once; a member first gets the room events of the turn that came before them,
so every member sees everything in the one room order.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from twisted.logger import Logger

from chatproto.events import Batch, Event
from chatproto.metrics import Metrics, NoMetrics

if TYPE_CHECKING:
    from chatproto.room import Participant

# Arranges for a call once the work of the current reactor turn is done, e.g.
# lambda call: reactor.callLater(0, call).
Scheduler = Callable[[Callable[[], None]], object]


class Fanout:
    """
    The events of the current turn, and how far each member has got.

    Each member's C{fanout_cursor} is the number of this turn's events it
    has been handed already (those before it joined count as handed).
    """

    log = Logger()

    def __init__(
        self,
        members: Callable[[], Sequence[Participant]],
        schedule: Scheduler | None,
        metrics: Metrics,
        room: str = "",
    ) -> None:
        self._members = members
        self._room = room
        # None: no coalescing, each event is handed out as it is posted.
        self._schedule = schedule
        self._metrics = metrics
        # Without metrics nobody reads the times: not taking them saves a
        # clock read per event and a call per event at each flush.
        self._timed = not isinstance(metrics, NoMetrics)
        self._turn: list[Event] = []
        self._posted: list[float] = []
        # reach[i] - reach[i - 1] members got event i (a difference array,
        # so counting costs one step per batch, not one per delivery).
        self._reach: list[int] = [0]
        self._flush_due = False

    def enter(self, participant: Participant) -> None:
        """
        C{participant} joins: it gets this turn's events from now on only.
        """
        participant.fanout_cursor = len(self._turn)

    def post(self, events: Sequence[Event]) -> None:
        """Hand C{events} to every member, in order, at the end of the turn."""
        self._turn.extend(events)
        if self._timed:
            self._posted.extend([time.perf_counter()] * len(events))
        self._reach.extend([0] * len(events))
        if self._schedule is None:
            self.flush()
        elif not self._flush_due:
            self._flush_due = True
            self._schedule(self.flush)

    def catch_up(self, participant: Participant) -> None:
        """
        Hand C{participant} the turn's events it has not had yet: before a
        direct event to it, or before it leaves.
        """
        start, end = participant.fanout_cursor, len(self._turn)
        if start < end:
            participant.fanout_cursor = end
            self._hand(participant, Batch(self._turn[start:], self._room), start, end)

    def flush(self) -> None:
        """
        Hand every member what it has not had of this turn; a new turn starts.
        """
        self._flush_due = False
        turn, posted, reach = self._turn, self._posted, self._reach
        if not turn:
            return
        # Start the new turn first: a delivery that makes a member leave
        # posts its LEAVE to the new turn.
        self._turn, self._posted, self._reach = [], [], [0]
        end = len(turn)
        shared = Batch(turn, self._room)
        # Most members have had nothing of the turn yet: they share one
        # batch, counted once after the loop; this loop is the per-member
        # cost of a delivery, so it calls as little as it can.
        whole = 0
        for participant in self._members():
            start = participant.fanout_cursor
            participant.fanout_cursor = 0
            if start == 0:
                whole += 1
                try:
                    participant.recipient.deliver_batch(shared)
                except Exception:
                    self.log.failure("delivering to {nick}", nick=participant.nick)
            elif start < end:
                self._hand(
                    participant, Batch(turn[start:], self._room), start, end, reach
                )
        if not self._timed:
            return
        reach[0] += whole
        reach[end] -= whole
        done = time.perf_counter()
        recipients = 0
        for index, event in enumerate(turn):
            recipients += reach[index]
            self._metrics.fanned_out(event, recipients, done - posted[index])

    def _hand(
        self,
        participant: Participant,
        batch: Batch,
        start: int,
        end: int,
        reach: list[int] | None = None,
    ) -> None:
        if reach is None:
            reach = self._reach
        # One member's broken connection must not cost the others their
        # messages (as in twisted.words' Group.receive).
        try:
            participant.recipient.deliver_batch(batch)
        except Exception:
            self.log.failure("delivering to {nick}", nick=participant.nick)
        reach[start] += 1
        reach[end] -= 1
