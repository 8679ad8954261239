"""
The durable copy of the rooms' histories, in SQLite (C{--history-db}).

Three parts:

  - L{load}: at start-up, before the port opens, open and check the
    database (ours, not another program's; not in use by another server;
    migrated from an older release if need be), and read the newest entries
    of the named rooms.  It blocks, which is fine then, and turns every
    problem into one L{HistoryDatabaseError}.
  - L{SQLiteStore}: the blocking calls that write, read a room's tail and
    prune.  Its connection is used only from one dedicated thread.
  - L{BatchWriter}: on the reactor thread, collects appended entries and
    hands them to that thread in one transaction every L{FLUSH_INTERVAL}
    seconds, so the fan-out rate is never tied to disk syncs.

An entry a member has seen is committed (WAL, C{synchronous=FULL}) within
L{FLUSH_INTERVAL} seconds plus the time one transaction takes, so within
L{DURABILITY_BOUND} seconds on a disk that is not failing.
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from twisted.internet.defer import Deferred, succeed
from twisted.internet.interfaces import IReactorTime
from twisted.internet.task import LoopingCall
from twisted.logger import Logger

from chatproto.events import Event
from chatproto.moderation import Ban, RoomSettings

# Seconds between two flushes of the batched writer.
FLUSH_INTERVAL = 0.5
# The documented bound: an entry is on disk this long after it was posted.
DURABILITY_BOUND = 1.0
# Entries kept for a retry when writes fail; beyond this the oldest go.
MAX_UNWRITTEN = 100_000

# SQLite's header field for "which program's file is this": "chat".
APPLICATION_ID = 0x63686174
# 1: chatproto 0.1 (one room, no application_id); 2: rooms.
SCHEMA_VERSION = 2

# An entry's room and id are its key: ids increase within a room.  No index
# on time: keeping one up to date cost a third of each insert, and the
# fan-out shares its core with the writer; pruning, once an hour on the
# writer's thread, scans the table instead.  rooms.last_id is kept apart
# from the entries, so that pruning them all never lets a room's ids start
# again from a lower number.
_SCHEMA = """
CREATE TABLE rooms (
    key TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    last_id INTEGER NOT NULL,
    owner TEXT NOT NULL DEFAULT '',
    topic TEXT NOT NULL DEFAULT '',
    slow REAL NOT NULL DEFAULT 0
);
CREATE TABLE bans (
    room TEXT NOT NULL,
    key TEXT NOT NULL,
    nick TEXT NOT NULL,
    host TEXT,
    until REAL,
    by TEXT NOT NULL,
    PRIMARY KEY (room, key)
);
CREATE TABLE history (
    room TEXT NOT NULL,
    id INTEGER NOT NULL,
    time REAL NOT NULL,
    kind TEXT NOT NULL,
    args TEXT NOT NULL,
    PRIMARY KEY (room, id)
) WITHOUT ROWID;
"""
# What chatproto 0.1 wrote: its tables and the columns of its history.
_V1_TABLES = {"history", "meta"}
_V1_COLUMNS = ["id", "room", "time", "kind", "args"]


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


class Lock:
    """
    An exclusive lock on C{<database>.lock}, so that two servers never
    write one database.  (Not on the database file itself: closing any
    other descriptor of that file would drop SQLite's own locks.)
    """

    def __init__(self, path: str) -> None:
        self.path = path + ".lock"
        try:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as error:
            raise HistoryDatabaseError(
                f"cannot use {path!r}: cannot create {self.path!r}: {error.strerror}"
            ) from None
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(self._fd)
            raise HistoryDatabaseError(
                f"{path!r} is in use by another chatproto server (it holds "
                f"{self.path!r}); give each server a database of its own"
            ) from None

    def release(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def connect(
    path: str, default_room: tuple[str, str] = ("lobby", "lobby")
) -> sqlite3.Connection:
    """
    Open the history database at C{path}, creating it if need be, in WAL
    mode; check that it is ours and can be written; bring a database of an
    older release up to date (its entries become those of C{default_room},
    a key and a name).  A database that is not ours is left as it was.

    @raise HistoryDatabaseError: if it cannot be used.
    """
    connection: sqlite3.Connection | None = None
    try:
        # The connection is opened on one thread and then used only from the
        # writer's thread, never from two at once.
        connection = sqlite3.connect(
            path, timeout=2.0, check_same_thread=False, isolation_level=None
        )
        prepare = _check(connection, path)
        connection.execute("PRAGMA journal_mode=WAL")
        # WAL with FULL syncs each commit: one sync per flush, not per line.
        connection.execute("PRAGMA synchronous=FULL")
        # Take the write lock: a read-only file or directory, or a database
        # another process is writing, fails here, not mid-chat.
        connection.execute("BEGIN IMMEDIATE")
        if prepare is not None:
            prepare(connection, default_room)
            connection.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        connection.execute("COMMIT")
        connection.isolation_level = ""  # transactions by `with connection`
    except (sqlite3.Error, OSError, HistoryDatabaseError) as error:
        if connection is not None:
            connection.close()
        if isinstance(error, HistoryDatabaseError):
            raise
        raise HistoryDatabaseError(
            f"cannot use {path!r} as a history database: {error}"
        ) from None
    return connection


Prepare = Callable[[sqlite3.Connection, tuple[str, str]], None]


def _check(connection: sqlite3.Connection, path: str) -> Prepare | None:
    """
    Read, without writing, whose database this is: what it takes to make
    it one of ours of the current schema (None: nothing).

    @raise HistoryDatabaseError: if it is not ours, or too new.
    """
    [application_id] = connection.execute("PRAGMA application_id").fetchone()
    [version] = connection.execute("PRAGMA user_version").fetchone()
    tables = {
        name
        for [name] in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'"
        )
    }
    if application_id == APPLICATION_ID:
        if version > SCHEMA_VERSION:
            raise HistoryDatabaseError(
                f"{path!r} was written by a newer chatproto (schema {version}); "
                "upgrade this one"
            )
        return None
    if application_id != 0:
        raise HistoryDatabaseError(
            f"{path!r} belongs to another program (application_id "
            f"{application_id:#x}); give --history-db a file of its own"
        )
    if not tables:
        return lambda connection, default_room: _create_tables(connection)
    if tables == _V1_TABLES and _columns(connection, "history") == _V1_COLUMNS:
        return _migrate_from_v1
    raise HistoryDatabaseError(
        f"{path!r} is not a chatproto history database (it has the tables "
        f"{', '.join(sorted(tables))}); give --history-db a file of its own"
    )


def _create_tables(connection: sqlite3.Connection) -> None:
    # One statement at a time: executescript would commit the transaction.
    for statement in _SCHEMA.split(";"):
        if statement.strip():
            connection.execute(statement)


def _columns(connection: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in connection.execute(f"PRAGMA table_info({table})")]


def _migrate_from_v1(
    connection: sqlite3.Connection, default_room: tuple[str, str]
) -> None:
    # chatproto 0.1 kept one room per file: its entries become the default
    # room's, whatever it was called then.
    key, name = default_room
    connection.execute("ALTER TABLE history RENAME TO history_v1")
    _create_tables(connection)
    connection.execute(
        "INSERT INTO history (room, id, time, kind, args) "
        "SELECT ?, id, time, kind, args FROM history_v1",
        (key,),
    )
    connection.execute(
        "INSERT INTO rooms (key, name, last_id) VALUES (?, ?, max("
        "(SELECT coalesce(max(id), 0) FROM history_v1), "
        "(SELECT coalesce(max(value), 0) FROM meta WHERE key = 'last_id')))",
        (key, name),
    )
    connection.execute("DROP TABLE history_v1")
    connection.execute("DROP TABLE meta")


@dataclass
class StoredRoom:
    """
    What the database holds of a room: the newest id it ever gave, its
    newest entries (oldest first), and its settings.
    """

    last_id: int = 0
    entries: list[Event] = field(default_factory=list)
    settings: RoomSettings = field(default_factory=RoomSettings)


@dataclass
class Loaded:
    """
    What a server reads at start-up to go on where it stopped: each named
    room, by key.
    """

    rooms: dict[str, StoredRoom] = field(default_factory=dict)


def load(path: str, rooms: Sequence[tuple[str, str]], count: int) -> Loaded:
    """
    Check the database at C{path} (migrating it if need be, the first of
    C{rooms} being the default room) and read the newest C{count} entries of
    each of C{rooms} (key, name pairs).  Blocking: for start-up only.

    @raise HistoryDatabaseError: if the database cannot be used.
    """
    lock = Lock(path)
    try:
        connection = connect(path, rooms[0])
        try:
            store = SQLiteStore(connection)
            return Loaded({key: store.read_room(key, count) for key, _ in rooms})
        except (sqlite3.Error, ValueError, TypeError) as error:
            raise HistoryDatabaseError(
                f"cannot read the history database {path!r}: {error}"
            ) from None
        finally:
            connection.close()
    finally:
        lock.release()


def _event(id: int, time: float, kind: str, args: str) -> Event:
    event = Event(kind, *_decode_words(args))
    event.id, event.time = id, time
    return event


class SQLiteStore:
    """
    Writes, reads and prunes the rooms' histories.  Every method blocks:
    call them from the store's own thread only.
    """

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    def write(
        self, entries: Iterable[tuple[str, Event]], names: dict[str, str]
    ) -> None:
        """
        Append C{entries} (room key, entry) in one transaction, committed
        before this returns.  C{names} gives each room's name by key.
        """
        rows = []
        last: dict[str, int] = {}
        for key, event in entries:
            rows.append(
                (key, event.id, event.time, event.kind, _encode_words(event.args))
            )
            last[key] = event.id
        with self._connection:
            self._connection.executemany(
                "INSERT INTO history (room, id, time, kind, args) "
                "VALUES (?, ?, ?, ?, ?)",
                rows,
            )
            self._connection.executemany(
                "INSERT INTO rooms (key, name, last_id) VALUES (?, ?, ?) "
                "ON CONFLICT (key) DO UPDATE SET "
                "last_id = max(last_id, excluded.last_id), name = excluded.name",
                [(key, names.get(key, key), id) for key, id in last.items()],
            )

    def read_room(self, key: str, count: int) -> StoredRoom:
        """
        What is stored of room C{key}, with its newest C{count} entries.
        """
        found = self._connection.execute(
            "SELECT last_id, owner, topic, slow FROM rooms WHERE key = ?", (key,)
        ).fetchone()
        rows = self._connection.execute(
            "SELECT id, time, kind, args FROM history WHERE room = ? "
            "ORDER BY id DESC LIMIT ?",
            (key, count),
        ).fetchall()
        entries = [_event(*row) for row in reversed(rows)]
        settings = RoomSettings()
        if found is not None:
            settings.owner, settings.topic, settings.slow = found[1:]
            for nick_key, nick, host, ends, by in self._connection.execute(
                "SELECT key, nick, host, until, by FROM bans WHERE room = ?", (key,)
            ):
                settings.bans[nick_key] = Ban(nick, nick_key, host, ends, by)
        last_id = max(found[0] if found else 0, entries[-1].id if entries else 0)
        return StoredRoom(last_id, entries, settings)

    def save_settings(self, key: str, name: str, settings: RoomSettings) -> None:
        """
        Store room C{key}'s settings (its bans included) in one transaction.
        """
        with self._connection:
            self._connection.execute(
                "INSERT INTO rooms (key, name, last_id, owner, topic, slow) "
                "VALUES (?, ?, 0, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET "
                "owner = excluded.owner, topic = excluded.topic, "
                "slow = excluded.slow",
                (key, name, settings.owner, settings.topic, settings.slow),
            )
            self._connection.execute("DELETE FROM bans WHERE room = ?", (key,))
            self._connection.executemany(
                "INSERT INTO bans (room, key, nick, host, until, by) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (key, ban.key, ban.nick, ban.host, ban.until, ban.by)
                    for ban in settings.bans.values()
                ],
            )

    def prune(self, older_than: float) -> int:
        """
        Delete the entries posted before C{older_than}; return how many went.
        """
        with self._connection:
            cursor = self._connection.execute(
                "DELETE FROM history WHERE time < ?", (older_than,)
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
        write: Callable[[Sequence[Any]], None],
        run: RunInThread,
        clock: IReactorTime,
        interval: float = FLUSH_INTERVAL,
    ) -> None:
        self._write = write
        self._run = run
        self._interval = interval
        self._pending: list[Any] = []
        self._loop = LoopingCall(self._flush)
        self._loop.clock = clock
        self._stopped: Deferred[object] | None = None

    @property
    def pending(self) -> int:
        return len(self._pending)

    def add(self, item: Any) -> None:
        self._pending.append(item)

    def holds(self, test: Callable[[Any], bool]) -> bool:
        """
        Whether an item not yet written passes C{test}.
        """
        return any(map(test, self._pending))

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

    def _failed(self, failure: object, batch: list[Any]) -> None:
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
