"""
The SQLite copy of the history: start-up checks, the batched writer on a
fake clock, pruning, and the writer's own thread.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
from twisted.internet.defer import Deferred, fail, maybeDeferred
from twisted.internet.task import Clock, deferLater

from chatproto.events import Event
from chatproto.history import MemoryHistory
from chatproto.keeper import DAY, PRUNE_INTERVAL, HistoryKeeper, first_id
from chatproto.moderation import Ban, RoomSettings
from chatproto.room import Room
from chatproto.store import (
    APPLICATION_ID,
    FLUSH_INTERVAL,
    SCHEMA_VERSION,
    BatchWriter,
    HistoryDatabaseError,
    Lock,
    SQLiteStore,
    StoredRoom,
    connect,
    load,
)

DATA = Path(__file__).parent / "data"


def entry(id: int, *words: str, time: float = 1000.0) -> Event:
    event = Event("MSG", *(words or ("alice", f"line {id}")))
    event.id, event.time = id, time
    return event


def rows(path: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as connection:
        return connection.execute(
            "SELECT room, id, time, kind, args FROM history ORDER BY room, id"
        ).fetchall()


def synchronous(f: Callable[..., Any], *args: Any) -> Deferred[Any]:
    return maybeDeferred(f, *args)


LOBBY = ("lobby", "lobby")
NAMES = {"lobby": "lobby", "physics": "Physics"}


def read(
    path: str | Path, key: str = "lobby", count: int = 10
) -> tuple[int, list[Event]]:
    stored = load(str(path), [LOBBY, (key, NAMES.get(key, key))], count).rooms[key]
    return stored.last_id, stored.entries


# Start-up


def test_a_new_database_is_created_empty_in_wal_mode_and_marked_ours(
    tmp_path: Path,
) -> None:
    path = tmp_path / "history.db"
    assert load(str(path), [LOBBY], 10).rooms == {"lobby": StoredRoom()}
    with sqlite3.connect(path) as connection:
        [mode] = connection.execute("PRAGMA journal_mode").fetchone()
        [application_id] = connection.execute("PRAGMA application_id").fetchone()
        [version] = connection.execute("PRAGMA user_version").fetchone()
    assert mode == "wal"
    assert (application_id, version) == (APPLICATION_ID, SCHEMA_VERSION)


def test_entries_round_trip_per_room_and_ids_go_on(tmp_path: Path) -> None:
    path = str(tmp_path / "history.db")
    store = SQLiteStore(connect(path))
    store.write(
        [
            ("lobby", entry(1, "zoë", "héllo 👋  two  spaces")),
            ("lobby", entry(2)),
            # Not from the line protocol, whose cleaning removes controls.
            ("lobby", entry(3, "bot", "unit\x1fseparator")),
            ("physics", entry(1, "bob", "elsewhere")),
            ("lobby", entry(4, "bot", "\x1e[1]")),
        ],
        NAMES,
    )
    store.close()
    last_id, entries = read(path)
    assert last_id == 4
    assert [(e.id, e.time, e.kind, e.args) for e in entries] == [
        (1, 1000.0, "MSG", ("zoë", "héllo 👋  two  spaces")),
        (2, 1000.0, "MSG", ("alice", "line 2")),
        (3, 1000.0, "MSG", ("bot", "unit\x1fseparator")),
        (4, 1000.0, "MSG", ("bot", "\x1e[1]")),
    ]
    assert [e.id for e in read(path, count=1)[1]] == [4]
    # Each room has ids of its own.
    assert [(e.id, e.args) for e in read(path, "physics")[1]] == [
        (1, ("bob", "elsewhere"))
    ]
    with sqlite3.connect(path) as connection:
        assert connection.execute(
            "SELECT key, name, last_id FROM rooms"
        ).fetchall() == [
            ("lobby", "lobby", 4),
            ("physics", "Physics", 1),
        ]


def test_corrupt_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "history.db"
    path.write_bytes(bytes(range(256)) * 64)
    with pytest.raises(HistoryDatabaseError, match="file is not a database"):
        read(path)


def test_damaged_entry_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "history.db"
    read(path)
    with sqlite3.connect(path) as connection:
        connection.execute(
            "INSERT INTO history VALUES ('lobby', 1, 0, 'MSG', char(30) || '[1]')"
        )
    with pytest.raises(HistoryDatabaseError, match="cannot read"):
        read(path)


@pytest.mark.parametrize("where", ["under-a-file", "a-directory"])
def test_unusable_path_is_a_clear_error(tmp_path: Path, where: str) -> None:
    (tmp_path / "file").write_text("not a directory")
    (tmp_path / "dir").mkdir()
    path = tmp_path / "file" / "history.db" if where == "under-a-file" else tmp_path
    with pytest.raises(HistoryDatabaseError, match="cannot use"):
        read(path)


def test_another_programs_database_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY)")
        connection.execute("INSERT INTO invoices VALUES (7)")
    before = path.read_bytes()
    with pytest.raises(HistoryDatabaseError, match="not a chatproto history database"):
        read(path)
    assert path.read_bytes() == before
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA application_id = 1234")
    before = path.read_bytes()
    with pytest.raises(HistoryDatabaseError, match="belongs to another program"):
        read(path)
    assert path.read_bytes() == before


def test_a_database_of_a_newer_release_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "history.db"
    read(path)
    with sqlite3.connect(path) as connection:
        connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(HistoryDatabaseError, match="newer chatproto"):
        read(path)


def test_a_second_server_on_the_same_database_is_refused(tmp_path: Path) -> None:
    path = str(tmp_path / "history.db")
    held = Lock(path)
    try:
        with pytest.raises(HistoryDatabaseError, match="in use by another chatproto"):
            read(path)
    finally:
        held.release()
    read(path)  # free again


def test_a_database_of_the_previous_release_becomes_the_default_rooms(
    tmp_path: Path,
) -> None:
    # Written by chatproto 0.1.0 for a room called "physics", ids unique in
    # the file; the default room is now "lobby".
    path = tmp_path / "history.db"
    with sqlite3.connect(path) as connection:
        connection.executescript((DATA / "history-v1.sql").read_text())
    last_id, entries = read(path)
    assert last_id == 1795291100337
    assert [(e.id, e.time, e.kind, e.args) for e in entries] == [
        (1795291100334, 1795291100.0, "JOIN", ("bob",)),
        (1795291100335, 1795291101.0, "MSG", ("bob", "anyone here?")),
        (1795291100336, 1795291102.0, "MSG", ("bob", "zoë says héllo 👋")),
        (1795291100337, 1795291103.0, "LEAVE", ("bob", "bye")),
    ]
    assert read(path, "physics") == (0, [])
    with sqlite3.connect(path) as connection:
        tables = connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
        ).fetchall()
        [application_id] = connection.execute("PRAGMA application_id").fetchone()
    assert tables == [("bans",), ("history",), ("rooms",)]
    assert application_id == APPLICATION_ID
    # Once migrated, it opens as it is.
    assert read(path)[0] == last_id


def test_settings_and_bans_round_trip(tmp_path: Path) -> None:
    path = str(tmp_path / "history.db")
    store = SQLiteStore(connect(path))
    settings = RoomSettings(owner="zoë", topic="Waves, chapter 3", slow=30.0)
    settings.bans["bob"] = Ban("Bob", "bob", "192.0.2.7", 1_800_000_000.5, "zoë")
    settings.bans["eve"] = Ban("Eve", "eve", None, None, "teacher")
    store.save_settings("physics", "Physics", settings)
    store.write([("physics", entry(1))], NAMES)
    del settings.bans["eve"]
    settings.topic = "Optics"
    store.save_settings("physics", "Physics", settings)  # replaces
    store.close()
    stored = load(path, [LOBBY, ("physics", "Physics")], 10).rooms["physics"]
    assert stored.settings == settings
    assert stored.last_id == 1
    assert load(path, [LOBBY], 10).rooms["lobby"].settings == RoomSettings()


def test_ids_after_a_restart_are_above_every_id_given_before() -> None:
    assert first_id(stored=42, now=1_700_000_000.5) == 1_700_000_000_500
    assert first_id(stored=2_000_000_000_000, now=1_700_000_000.0) == 2 * 10**12


# The batched writer


def test_entries_reach_the_disk_at_the_next_flush_in_one_transaction(
    tmp_path: Path,
) -> None:
    path = tmp_path / "history.db"
    store = SQLiteStore(connect(str(path)))
    batches: list[int] = []

    def write(items: Sequence[tuple[str, Event]]) -> None:
        batches.append(len(items))
        store.write(items, NAMES)

    clock = Clock()
    writer = BatchWriter(write, synchronous, clock)
    writer.start()
    history = MemoryHistory(persist=lambda event: writer.add(("lobby", event)))
    for id in range(1, 101):
        history.append(entry(id))
    assert rows(path) == []  # nothing written on the fan-out's time
    clock.advance(FLUSH_INTERVAL)
    assert len(rows(path)) == 100
    assert batches == [100]
    clock.advance(FLUSH_INTERVAL * 10)
    assert batches == [100]  # no empty transactions
    history.append(entry(101))
    writer.stop()
    assert [row[1] for row in rows(path)][-1] == 101
    assert not clock.getDelayedCalls()
    store.close()


def test_a_failed_write_is_retried_and_nothing_is_lost() -> None:
    written: list[int] = []
    attempts: list[int] = []

    def run(f: Callable[..., Any], events: Sequence[Event]) -> Deferred[Any]:
        attempts.append(len(events))
        if len(attempts) == 1:
            return fail(sqlite3.OperationalError("disk I/O error"))
        return maybeDeferred(f, events)

    clock = Clock()
    writer = BatchWriter(
        lambda events: written.extend(e.id for e in events), run, clock
    )
    writer.start()
    writer.add(entry(1))
    clock.advance(FLUSH_INTERVAL)
    assert written == [] and writer.pending == 1
    writer.add(entry(2))
    clock.advance(FLUSH_INTERVAL)
    assert written == [1, 2]
    writer.stop()
    assert attempts == [1, 2]


def test_stop_waits_for_the_write_in_flight_then_writes_the_rest() -> None:
    written: list[list[int]] = []
    in_flight: list[Deferred[None]] = []

    def run(f: Callable[..., Any], events: Sequence[Event]) -> Deferred[Any]:
        written.append([e.id for e in events])
        in_flight.append(Deferred())
        return in_flight[-1]

    clock = Clock()
    writer = BatchWriter(lambda events: None, run, clock)
    writer.start()
    writer.add(entry(1))
    clock.advance(FLUSH_INTERVAL)
    writer.add(entry(2))
    clock.advance(FLUSH_INTERVAL)  # one write at a time
    assert written == [[1]]
    stopped = writer.stop()
    assert written == [[1]] and not stopped.called
    in_flight[0].callback(None)
    assert written == [[1], [2]]
    in_flight[1].callback(None)
    assert stopped.called


# Pruning


def test_pruning_everything_does_not_let_ids_start_again(tmp_path: Path) -> None:
    path = str(tmp_path / "history.db")
    store = SQLiteStore(connect(path))
    store.write(
        [
            ("lobby", entry(1, time=10.0)),
            ("physics", entry(1, time=15.0)),
            ("lobby", entry(2, time=20.0)),
            ("lobby", entry(3, time=30.0)),
        ],
        NAMES,
    )
    assert store.prune(older_than=25.0) == 3
    assert [row[:2] for row in rows(tmp_path / "history.db")] == [("lobby", 3)]
    store.prune(older_than=1e12)
    store.close()
    assert read(path) == (3, [])
    assert read(path, "physics") == (1, [])


# The keeper


def test_keeper_prunes_every_rooms_memory_tail_every_hour() -> None:
    clock = Clock()
    clock.advance(10 * DAY)
    keeper = HistoryKeeper(keep_days=2, reactor=clock, now=clock.seconds)
    rooms = [
        Room(name, history=keeper.open(name, name).result[0], now=clock.seconds)
        for name in ("lobby", "physics")
    ]
    for room in rooms:
        room.post(Event("MSG", "alice", "old"))
    clock.advance(2 * DAY - 1)
    for room in rooms:
        room.post(Event("MSG", "alice", "new"))
    keeper.startService()  # prunes at once: nothing is two days old yet
    assert [len(room.history.recent(10)) for room in rooms] == [2, 2]
    clock.advance(PRUNE_INTERVAL)
    for room in rooms:
        assert [e.args[1] for e in room.history.recent(10)] == ["new"]
    keeper.stopService()
    assert not clock.getDelayedCalls()


def test_a_room_without_a_database_starts_its_ids_at_the_time() -> None:
    clock = Clock()
    clock.advance(1_700_000_000)
    keeper = HistoryKeeper(reactor=clock, now=clock.seconds)
    history, settings = keeper.open("physics", "physics").result
    assert settings is None  # a new room
    assert history.last_id == 1_700_000_000_000


# The real thread


@pytest_twisted.ensureDeferred
async def test_writes_happen_on_the_store_thread_not_the_reactor(
    tmp_path: Path,
) -> None:
    from twisted.internet import reactor

    path = str(tmp_path / "history.db")
    threads: set[int] = set()
    write = SQLiteStore.write

    def spying_write(self: SQLiteStore, *args: Any) -> None:
        threads.add(threading.get_ident())
        write(self, *args)

    keeper = HistoryKeeper(load(path, [LOBBY], 10), path=path)
    room = Room("lobby", history=keeper.open("lobby", "lobby").result[0])
    SQLiteStore.write = spying_write  # type: ignore[method-assign]
    try:
        keeper.privilegedStartService()
        keeper.startService()
        for number in range(50):
            room.post(Event("MSG", "alice", f"line {number}"))
        for _ in range(100):
            if len(rows(tmp_path / "history.db")) == 50:
                break
            await deferLater(reactor, 0.05)
        room.post(Event("MSG", "alice", "last"))
        await keeper.stopService()
    finally:
        SQLiteStore.write = write  # type: ignore[method-assign]
    assert len(rows(tmp_path / "history.db")) == 51
    assert threads and threading.get_ident() not in threads


@pytest_twisted.ensureDeferred
async def test_a_stored_room_is_read_back_on_the_store_thread(tmp_path: Path) -> None:
    # A room made on the fly in an earlier run, or let go in this one.
    path = str(tmp_path / "history.db")
    store = SQLiteStore(connect(path))
    store.write([("physics", entry(n, time=float(n))) for n in (1, 2, 3)], NAMES)
    store.close()
    keeper = HistoryKeeper(load(path, [LOBBY], 10), path=path, capacity=2)
    keeper.privilegedStartService()
    keeper.startService()
    try:
        opening = keeper.open("physics", "Physics")
        history, _ = await opening
        assert [e.id for e in history.recent(10)] == [2, 3]
        assert history.last_id >= 3
        room = Room("Physics", "physics", history=history)
        room.post(Event("MSG", "bob", "back"))
        # Not let go while its newest entry is not on disk.
        assert not keeper.release("physics", history)
    finally:
        await keeper.stopService()
    assert keeper.release("physics", history)
    assert rows(tmp_path / "history.db")[-1][:2] == ("physics", history.last_id)
