"""
The service that keeps a room's history for twistd: the in-memory tail,
its durable copy in SQLite if asked for, and pruning.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from twisted.application.service import Service
from twisted.internet.defer import Deferred
from twisted.internet.task import LoopingCall
from twisted.internet.threads import deferToThreadPool
from twisted.logger import Logger
from twisted.python.threadpool import ThreadPool

from chatproto.history import DEFAULT_TAIL, MemoryHistory
from chatproto.room import Event
from chatproto.store import BatchWriter, SQLiteStore, connect

# Seconds between two prunings (--history-keep).
PRUNE_INTERVAL = 3600.0
DAY = 86400.0


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


class HistoryKeeper(Service):
    """
    Owns L{history}, the room's in-memory tail.  With a database path, every
    entry appended to it is written there by a L{BatchWriter} on a thread of
    its own; with C{keep_days}, entries older than that are pruned every
    L{PRUNE_INTERVAL} seconds, in memory and on disk.
    """

    log = Logger()

    def __init__(
        self,
        room: str,
        last_id: int = 0,
        entries: Sequence[Event] = (),
        path: str | None = None,
        keep_days: float | None = None,
        capacity: int = DEFAULT_TAIL,
        reactor: Any = None,
        now: Callable[[], float] = time.time,
    ) -> None:
        if reactor is None:
            from twisted.internet import reactor
        self._reactor = reactor
        self._room = room
        self._path = path
        self._keep = None if keep_days is None else keep_days * DAY
        self._now = now
        self._store: SQLiteStore | None = None
        self._pool: ThreadPool | None = None
        self.writer: BatchWriter | None = None
        persist = None
        if path is not None:
            self.writer = BatchWriter(self._write, self._in_thread, reactor)
            persist = self.writer.add
        self.history = MemoryHistory(capacity, last_id, entries, persist)
        self._pruning = LoopingCall(self._prune)
        self._pruning.clock = reactor

    def privilegedStartService(self) -> None:
        # After twistd has daemonised (a SQLite connection must not cross a
        # fork) and before the port opens; a failure stops start-up.
        super().privilegedStartService()
        if self._path is not None:
            self._store = SQLiteStore(connect(self._path), self._room)

    def startService(self) -> None:
        super().startService()
        if self._store is not None and self.writer is not None:
            # One thread, so the connection is used from one thread only and
            # writes happen in order.
            self._pool = ThreadPool(1, 1, "chatproto-history")
            self._pool.start()
            self.writer.start()
        if self._keep is not None:
            self._pruning.start(PRUNE_INTERVAL, now=True)

    def stopService(self) -> Deferred[None] | None:
        super().stopService()
        if self._pruning.running:
            self._pruning.stop()
        if self.writer is None or self._pool is None:
            return None
        pool, store = self._pool, self._store
        assert store is not None

        def close(_: object) -> Deferred[None]:
            return deferToThreadPool(self._reactor, pool, store.close)

        def stop_pool(result: object) -> object:
            pool.stop()
            return result

        return self.writer.stop().addCallback(close).addBoth(stop_pool)

    def _in_thread(self, f: Callable[..., Any], *args: Any) -> Deferred[Any]:
        assert self._pool is not None
        return deferToThreadPool(self._reactor, self._pool, f, *args)

    def _write(self, events: Sequence[Event]) -> None:
        assert self._store is not None
        self._store.write(events)

    def _prune(self) -> Deferred[None] | None:
        assert self._keep is not None
        older_than = self._now() - self._keep
        self.history.prune(older_than)
        if self._store is None or self._pool is None:
            return None
        return self._in_thread(self._store.prune, older_than).addErrback(
            lambda failure: self.log.failure("pruning the history failed", failure)
        )
