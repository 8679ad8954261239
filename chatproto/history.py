"""
A room's history: the room events (messages, actions, joins, leaves,
renames) in id order, for replay on join, catch-up by id and C{/history}.

The reads the room makes must answer at once, from the reactor thread, so
every read is served by an in-memory tail, L{MemoryHistory}: the latest
L{DEFAULT_TAIL} entries.  A durable copy is optional and lives elsewhere
(L{chatproto.store}): it receives each appended entry through C{persist},
writes it off the reactor thread, and fills the tail at start-up.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable, Iterable
from typing import Protocol

from chatproto.events import Event

# How many entries the in-memory tail holds: the reach of /since and
# /history, and the most a join can replay.
DEFAULT_TAIL = 10_000


def first_id(stored: int, now: float) -> int:
    """
    The id to continue after when a server starts: past every id it has
    stored, and past the start time in milliseconds.

    The second term matters when ids were given but not stored: without a
    database, or in the last moments before a kill -9.  A client that saw
    one of those ids must not take a later message for one it has seen, so
    ids after a restart start above any id given before it, unless the
    server averaged more than 1000 room events a second or the clock went
    back.
    """
    return max(stored, int(now * 1000))


class History(Protocol):
    """
    What a room needs from its history.  Entries are L{Event}s with their
    C{id} and C{time} set; ids are strictly increasing.
    """

    @property
    def last_id(self) -> int:
        """
        The id of the newest entry, or the id to continue after when there
        is none yet (0 for a new history).
        """

    def append(self, event: Event) -> None:
        """
        Add the newest entry; its id must be greater than L{last_id}.
        """

    def recent(self, count: int) -> list[Event]:
        """
        The newest C{count} entries (fewer if there are not so many),
        oldest first.
        """

    def since(self, after: int, limit: int | None = None) -> list[Event]:
        """
        The entries held with an id greater than C{after}, oldest first: all
        of them, or the oldest C{limit}.
        """

    def before(self, id: int, count: int) -> list[Event]:
        """
        The C{count} newest entries with an id less than C{id}, oldest first.
        """


class MemoryHistory:
    """
    The newest C{capacity} entries of a history in a ring buffer; older ones
    fall out.

    @param last_id: where ids continue from: the newest id ever given, even
        if that entry is no longer held.
    @param entries: entries to start with, oldest first (from a durable
        store).
    @param persist: called with each appended entry, for a durable copy.
    """

    def __init__(
        self,
        capacity: int = DEFAULT_TAIL,
        last_id: int = 0,
        entries: Iterable[Event] = (),
        persist: Callable[[Event], None] | None = None,
    ) -> None:
        self._entries: deque[Event] = deque(entries, maxlen=capacity)
        newest = self._entries[-1].id if self._entries else 0
        self._last_id = max(last_id, newest)
        self._persist = persist

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def last_id(self) -> int:
        return self._last_id

    def append(self, event: Event) -> None:
        if event.id <= self._last_id:
            raise ValueError(f"history id {event.id} after {self._last_id}")
        self._entries.append(event)
        self._last_id = event.id
        if self._persist is not None:
            self._persist(event)

    def recent(self, count: int) -> list[Event]:
        return self.before(self._last_id + 1, count)

    def since(self, after: int, limit: int | None = None) -> list[Event]:
        # Ids increase along the deque: find the first entry after `after`
        # by bisection, so the cost is the size of the answer.
        entries = self._entries
        low, high = 0, len(entries)
        while low < high:
            middle = (low + high) // 2
            if entries[middle].id <= after:
                low = middle + 1
            else:
                high = middle
        end = len(entries) if limit is None else min(len(entries), low + limit)
        return list(itertools.islice(entries, low, end))

    def before(self, id: int, count: int) -> list[Event]:
        found: list[Event] = []
        if count <= 0:
            return found
        for event in reversed(self._entries):
            if event.id < id:
                found.append(event)
                if len(found) == count:
                    break
        found.reverse()
        return found

    def prune(self, older_than: float) -> int:
        """
        Forget the entries posted before C{older_than} (seconds since the
        epoch); return how many.
        """
        pruned = 0
        while self._entries and self._entries[0].time < older_than:
            self._entries.popleft()
            pruned += 1
        return pruned
