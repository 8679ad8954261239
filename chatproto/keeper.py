"""
The service that keeps the rooms' histories for twistd: each room's
in-memory tail, their durable copy in SQLite if asked for, and pruning.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from twisted.application.service import Service
from twisted.internet.defer import Deferred, succeed
from twisted.internet.task import LoopingCall
from twisted.internet.threads import deferToThreadPool
from twisted.logger import Logger
from twisted.python.threadpool import ThreadPool

from chatproto.events import Event
from chatproto.history import DEFAULT_TAIL, History, MemoryHistory, first_id
from chatproto.moderation import RoomSettings
from chatproto.store import (
    BatchWriter,
    Loaded,
    Lock,
    SQLiteStore,
    StoredRoom,
    connect,
)

__all__ = ["DAY", "PRUNE_INTERVAL", "HistoryKeeper", "first_id"]

# Seconds between two prunings (--history-keep).
PRUNE_INTERVAL = 3600.0
DAY = 86400.0


class HistoryKeeper(Service):
    """
    The rooms' histories and settings (a L{chatproto.rooms.RoomStore}):
    each room's in-memory tail, and with a database path, every entry
    appended to a tail is written there by a L{BatchWriter} on a thread of
    its own, and the rooms' settings as they change.  With
    C{keep_days}, entries older than that are pruned every
    L{PRUNE_INTERVAL} seconds, in memory and on disk.

    @param loaded: what L{chatproto.store.load} read at start-up: the named
        rooms' newest ids and entries.
    @param default_room: the default room's key and name, for the migration
        of an older database.
    """

    log = Logger()

    def __init__(
        self,
        loaded: Loaded | None = None,
        path: str | None = None,
        keep_days: float | None = None,
        capacity: int = DEFAULT_TAIL,
        reactor: Any = None,
        now: Callable[[], float] = time.time,
        default_room: tuple[str, str] = ("lobby", "lobby"),
    ) -> None:
        if reactor is None:
            from twisted.internet import reactor
        self._reactor = reactor
        self._path = path
        self._keep = None if keep_days is None else keep_days * DAY
        self._capacity = capacity
        self._now = now
        self._default_room = default_room
        self._loaded = dict(loaded.rooms) if loaded is not None else {}
        self._live: dict[str, MemoryHistory] = {}
        self._names: dict[str, str] = {}
        self._store: SQLiteStore | None = None
        self._lock: Lock | None = None
        self._pool: ThreadPool | None = None
        self.writer: BatchWriter | None = None
        if path is not None:
            self.writer = BatchWriter(self._write, self._in_thread, reactor)
        self._pruning = LoopingCall(self._prune)
        self._pruning.clock = reactor

    # The room store, for the rooms

    def open(
        self, key: str, name: str
    ) -> Deferred[tuple[History, RoomSettings | None]]:
        self._names[key] = name
        loaded = self._loaded.pop(key, None)
        if loaded is not None:
            return succeed(self._opened(key, loaded))
        if self._store is None:
            return succeed((self._tail(key, 0, []), None))
        # A room stored by an earlier run, or let go in this one: read it on
        # the store's thread, after any write in flight.
        store = self._store
        return self._in_thread(store.read_room, key, self._capacity).addCallback(
            lambda found: self._opened(key, found)
        )

    def _opened(
        self, key: str, stored: StoredRoom
    ) -> tuple[History, RoomSettings | None]:
        history = self._tail(key, stored.last_id, stored.entries)
        new = not stored.last_id and stored.settings == RoomSettings()
        return history, None if new else stored.settings

    def save(self, key: str, name: str, settings: RoomSettings) -> None:
        if self._store is None or self._pool is None:
            return
        # A copy: the reactor thread goes on changing the settings.
        settings = replace(settings, bans=dict(settings.bans))
        self._in_thread(self._store.save_settings, key, name, settings).addErrback(
            lambda failure: self.log.failure(
                "saving the settings of {room} failed", failure, room=name
            )
        )

    def release(self, key: str, history: History) -> bool:
        if self.writer is not None and self.writer.holds(lambda item: item[0] == key):
            return False  # not yet on disk: a reopening would not find it
        self._live.pop(key, None)
        return True

    def _tail(self, key: str, last_id: int, entries: Sequence[Event]) -> MemoryHistory:
        persist = None
        if self.writer is not None:
            add = self.writer.add

            def persist(event: Event) -> None:
                add((key, event))

        history = MemoryHistory(
            self._capacity, first_id(last_id, self._now()), entries, persist
        )
        self._live[key] = history
        return history

    # The service

    def privilegedStartService(self) -> None:
        # After twistd has daemonised (a SQLite connection must not cross a
        # fork) and before the port opens; a failure stops start-up.
        super().privilegedStartService()
        if self._path is not None:
            self._lock = Lock(self._path)
            self._store = SQLiteStore(connect(self._path, self._default_room))

    def startService(self) -> None:
        super().startService()
        if self._store is not None and self.writer is not None:
            # One thread, so the connection is used from one thread only and
            # writes and reads happen in order.
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
        pool, store, lock = self._pool, self._store, self._lock
        assert store is not None and lock is not None

        def close(_: object) -> Deferred[None]:
            return deferToThreadPool(self._reactor, pool, store.close)

        def stop_pool(result: object) -> object:
            pool.stop()
            lock.release()
            return result

        return self.writer.stop().addCallback(close).addBoth(stop_pool)

    def _in_thread(self, f: Callable[..., Any], *args: Any) -> Deferred[Any]:
        assert self._pool is not None
        return deferToThreadPool(self._reactor, self._pool, f, *args)

    def _write(self, entries: Sequence[tuple[str, Event]]) -> None:
        assert self._store is not None
        self._store.write(entries, self._names)

    def _prune(self) -> Deferred[None] | None:
        assert self._keep is not None
        older_than = self._now() - self._keep
        for history in self._live.values():
            history.prune(older_than)
        if self._store is None or self._pool is None:
            return None
        return self._in_thread(self._store.prune, older_than).addErrback(
            lambda failure: self.log.failure("pruning the history failed", failure)
        )
