"""
The durable copy of a room's history, in SQLite (C{--history-db}).

Three parts:

  - L{load}: at start-up, before the port opens, open and check the
    database, and read the id to continue after and the newest entries.  It
    blocks, which is fine then, and turns every problem (a corrupt file, a
    read-only one, a missing directory) into one L{HistoryDatabaseError}.
  - L{SQLiteStore}: the blocking calls that write and prune.  Its connection
    is used only from one dedicated thread.
  - L{BatchWriter}: on the reactor thread, collects appended entries and
    hands them to that thread in one transaction every L{FLUSH_INTERVAL}
    seconds, so the fan-out rate is never tied to disk syncs.

An entry a member has seen is committed (WAL, C{synchronous=FULL}) within
L{FLUSH_INTERVAL} seconds plus the time one transaction takes, so within
L{DURABILITY_BOUND} seconds on a disk that is not failing.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any

from twisted.internet.defer import Deferred, succeed
from twisted.internet.interfaces import IReactorTime
from twisted.internet.task import LoopingCall
from twisted.logger import Logger

from chatproto.room import Event

# Seconds between two flushes of the batched writer.
FLUSH_INTERVAL = 0.5
# The documented bound: an entry is on disk this long after it was posted.
DURABILITY_BOUND = 1.0
# Entries kept for a retry when writes fail; beyond this the oldest go.
MAX_UNWRITTEN = 100_000

# No index on time: keeping one up to date cost a third of each insert, and
# the fan-out shares its core with the writer; pruning, once an hour on the
# writer's thread, scans the table instead.
_SCHEMA = """
CREATE TABLE IF NOT EXISTS history (
    id INTEGER PRIMARY KEY,
    room TEXT NOT NULL,
    time REAL NOT NULL,
    kind TEXT NOT NULL,
    args TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


# An entry's words are stored joined by U+001F, which the line protocol's
# cleaning removes from all that members send: cheaper than JSON, and the
# writer's thread takes the interpreter lock from the fan-out for less time.
# Words that contain it anyway (another front end) are stored as U+001E and
# a JSON array.
_SEPARATOR = "\x1f"
_JSON = "\x1e"


def _encode_words(words: tuple[str, ...]) -> str:
    text = _SEPARATOR.join(words)
    if text.count(_SEPARATOR) == len(words) - 1 and _JSON not in text:
        return text
    return _JSON + json.dumps(words)


def _decode_words(text: str) -> list[str]:
    if text.startswith(_JSON):
        words = json.loads(text[1:])
        if not all(isinstance(word, str) for word in words):
            raise ValueError("damaged entry")
        return words
    return text.split(_SEPARATOR)


class HistoryDatabaseError(Exception):
    """
    The history database cannot be used; the message is one line for the
    operator.
    """


def connect(path: str) -> sqlite3.Connection:
    """
    Open the history database at C{path}, creating it if need be, in WAL
    mode, and check that it can be written.

    @raise HistoryDatabaseError: if it cannot be used.
    """
    connection: sqlite3.Connection | None = None
    try:
        # The connection is opened on one thread and then used only from the
        # writer's thread, never from two at once.
        connection = sqlite3.connect(path, timeout=2.0, check_same_thread=False)
        connection.execute("PRAGMA journal_mode=WAL")
        # WAL with FULL syncs each commit: one sync per flush, not per line.
        connection.execute("PRAGMA synchronous=FULL")
        connection.executescript(_SCHEMA)
        # Take the write lock once: a read-only file or directory, or a
        # database another process is writing, fails here, not mid-chat.
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("ROLLBACK")
    except (sqlite3.Error, OSError) as error:
        if connection is not None:
            connection.close()
        raise HistoryDatabaseError(
            f"cannot use {path!r} as a history database: {error}"
        ) from None
    return connection


def load(path: str, room: str, count: int) -> tuple[int, list[Event]]:
    """
    Check the database at C{path} and read what a server needs to go on
    where it stopped: the newest id ever given, and the newest C{count}
    entries of C{room}, oldest first.  Blocking: for start-up only.

    @raise HistoryDatabaseError: if the database cannot be used.
    """
    connection = connect(path)
    try:
        stored = connection.execute(
            "SELECT max(id), (SELECT value FROM meta WHERE key = 'last_id') "
            "FROM history"
        ).fetchone()
        rows = connection.execute(
            "SELECT id, time, kind, args FROM history WHERE room = ? "
            "ORDER BY id DESC LIMIT ?",
            (room, count),
        ).fetchall()
        entries = [_event(*row) for row in reversed(rows)]
    except (sqlite3.Error, ValueError, TypeError) as error:
        raise HistoryDatabaseError(
            f"cannot read the history database {path!r}: {error}"
        ) from None
    finally:
        connection.close()
    return max(stored[0] or 0, stored[1] or 0), entries


def _event(id: int, time: float, kind: str, args: str) -> Event:
    event = Event(kind, *_decode_words(args))
    event.id, event.time = id, time
    return event


class SQLiteStore:
    """
    Writes and prunes one room's history.  Every method blocks: call them
    from the store's own thread only.
    """

    def __init__(self, connection: sqlite3.Connection, room: str) -> None:
        self._connection = connection
        self._room = room

    def write(self, events: Sequence[Event]) -> None:
        """
        Append C{events} in one transaction, committed before this returns.
        """
        room = self._room
        rows = [
            (event.id, room, event.time, event.kind, _encode_words(event.args))
            for event in events
        ]
        with self._connection:
            self._connection.executemany(
                "INSERT INTO history (id, room, time, kind, args) "
                "VALUES (?, ?, ?, ?, ?)",
                rows,
            )
            # Kept apart from the entries, so that pruning them all never
            # lets ids start again from a lower number.
            self._connection.execute(
                "INSERT INTO meta (key, value) VALUES ('last_id', ?) "
                "ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value)",
                (rows[-1][0],),
            )

    def prune(self, older_than: float) -> int:
        """
        Delete the room's entries posted before C{older_than}; return how
        many went.
        """
        with self._connection:
            cursor = self._connection.execute(
                "DELETE FROM history WHERE room = ? AND time < ?",
                (self._room, older_than),
            )
        return cursor.rowcount

    def close(self) -> None:
        self._connection.close()


RunInThread = Callable[..., Deferred[Any]]


class BatchWriter:
    """
    Collects entries on the reactor thread and writes them in batches on
    the store's thread: at most one transaction in flight, one every
    C{interval} seconds while there is something to write.

    @param run: runs a blocking call on the store's thread, returning a
        L{Deferred} that fires on the reactor thread with its result.
    """

    log = Logger()

    def __init__(
        self,
        write: Callable[[Sequence[Event]], None],
        run: RunInThread,
        clock: IReactorTime,
        interval: float = FLUSH_INTERVAL,
    ) -> None:
        self._write = write
        self._run = run
        self._interval = interval
        self._pending: list[Event] = []
        self._loop = LoopingCall(self._flush)
        self._loop.clock = clock
        self._stopped: Deferred[object] | None = None

    @property
    def pending(self) -> int:
        return len(self._pending)

    def add(self, event: Event) -> None:
        self._pending.append(event)

    def start(self) -> None:
        self._stopped = self._loop.start(self._interval, now=False)

    def stop(self) -> Deferred[None]:
        """
        Stop the timer, wait for a write in flight, and write what is left.
        """
        finished: Deferred[object] = (
            self._stopped if self._stopped is not None else succeed(None)
        )
        self._stopped = None
        if self._loop.running:
            self._loop.stop()
        return finished.addCallback(lambda _: self._flush()).addCallback(lambda _: None)

    def _flush(self) -> Deferred[None] | None:
        # LoopingCall waits for the Deferred returned here before it calls
        # again, so there is at most one write in flight.
        if not self._pending:
            return None
        batch, self._pending = self._pending, []
        return self._run(self._write, batch).addErrback(self._failed, batch)

    def _failed(self, failure: object, batch: list[Event]) -> None:
        # A failing disk must not stop the chat: keep the entries and try
        # again at the next flush, within a bound.
        self._pending[:0] = batch
        dropped = len(self._pending) - MAX_UNWRITTEN
        if dropped > 0:
            del self._pending[:dropped]
        self.log.failure(
            "writing {count} history entries failed; will retry"
            " ({dropped} oldest dropped)",
            failure,  # type: ignore[arg-type]
            count=len(batch),
            dropped=max(dropped, 0),
        )
