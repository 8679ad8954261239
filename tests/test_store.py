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

from chatproto.history import MemoryHistory
from chatproto.keeper import DAY, PRUNE_INTERVAL, HistoryKeeper, first_id
from chatproto.room import Event, Room
from chatproto.store import (
    FLUSH_INTERVAL,
    BatchWriter,
    HistoryDatabaseError,
    SQLiteStore,
    connect,
    load,
)


def entry(id: int, *words: str, time: float = 1000.0) -> Event:
    event = Event("MSG", *(words or ("alice", f"line {id}")))
    event.id, event.time = id, time
    return event


def rows(path: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as connection:
        return connection.execute(
            "SELECT id, room, time, kind, args FROM history ORDER BY id"
        ).fetchall()


def synchronous(f: Callable[..., Any], *args: Any) -> Deferred[Any]:
    return maybeDeferred(f, *args)


# Start-up


def test_a_new_database_is_created_empty_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "history.db"
    assert load(str(path), "lobby", 10) == (0, [])
    with sqlite3.connect(path) as connection:
        [mode] = connection.execute("PRAGMA journal_mode").fetchone()
    assert mode == "wal"


def test_entries_round_trip_and_ids_go_on(tmp_path: Path) -> None:
    path = str(tmp_path / "history.db")
    store = SQLiteStore(connect(path), "lobby")
    store.write(
        [
            entry(1, "zoë", "héllo 👋  two  spaces"),
            entry(2),
            # Not from the line protocol, whose cleaning removes controls.
            entry(3, "bot", "unit\x1fseparator"),
            entry(4, "bot", "\x1e[1]"),
        ]
    )
    other = SQLiteStore(connect(path), "kitchen")
    other.write([entry(5, "bob", "elsewhere")])
    store.close()
    other.close()
    last_id, entries = load(path, "lobby", 10)
    assert last_id == 5  # ids are unique in the whole file
    assert [(e.id, e.time, e.kind, e.args) for e in entries] == [
        (1, 1000.0, "MSG", ("zoë", "héllo 👋  two  spaces")),
        (2, 1000.0, "MSG", ("alice", "line 2")),
        (3, 1000.0, "MSG", ("bot", "unit\x1fseparator")),
        (4, 1000.0, "MSG", ("bot", "\x1e[1]")),
    ]
    assert [e.id for e in load(path, "lobby", 1)[1]] == [4]


def test_corrupt_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "history.db"
    path.write_bytes(bytes(range(256)) * 64)
    with pytest.raises(HistoryDatabaseError, match="file is not a database"):
        load(str(path), "lobby", 10)


def test_damaged_entry_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "history.db"
    load(str(path), "lobby", 10)
    with sqlite3.connect(path) as connection:
        connection.execute(
            "INSERT INTO history VALUES (1, 'lobby', 0, 'MSG', char(30) || '[1]')"
        )
    with pytest.raises(HistoryDatabaseError, match="cannot read"):
        load(str(path), "lobby", 10)


@pytest.mark.parametrize("where", ["under-a-file", "a-directory"])
def test_unusable_path_is_a_clear_error(tmp_path: Path, where: str) -> None:
    (tmp_path / "file").write_text("not a directory")
    (tmp_path / "dir").mkdir()
    path = tmp_path / "file" / "history.db" if where == "under-a-file" else tmp_path
    with pytest.raises(HistoryDatabaseError, match="cannot use"):
        load(str(path), "lobby", 10)


def test_ids_after_a_restart_are_above_every_id_given_before() -> None:
    assert first_id(stored=42, now=1_700_000_000.5) == 1_700_000_000_500
    assert first_id(stored=2_000_000_000_000, now=1_700_000_000.0) == 2 * 10**12


# The batched writer


def test_entries_reach_the_disk_at_the_next_flush_in_one_transaction(
    tmp_path: Path,
) -> None:
    path = tmp_path / "history.db"
    store = SQLiteStore(connect(str(path)), "lobby")
    batches: list[int] = []

    def write(events: Sequence[Event]) -> None:
        batches.append(len(events))
        store.write(events)

    clock = Clock()
    writer = BatchWriter(write, synchronous, clock)
    writer.start()
    history = MemoryHistory(persist=writer.add)
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
    assert [row[0] for row in rows(path)][-1] == 101
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
    store = SQLiteStore(connect(path), "lobby")
    store.write([entry(1, time=10.0), entry(2, time=20.0), entry(3, time=30.0)])
    assert store.prune(older_than=25.0) == 2
    assert [row[0] for row in rows(tmp_path / "history.db")] == [3]
    store.prune(older_than=1e12)
    store.close()
    assert load(path, "lobby", 10) == (3, [])


def test_keeper_prunes_the_memory_tail_every_hour() -> None:
    clock = Clock()
    clock.advance(10 * DAY)
    keeper = HistoryKeeper("lobby", keep_days=2, reactor=clock, now=clock.seconds)
    room = Room("lobby", history=keeper.history, now=clock.seconds)
    room.post(Event("MSG", "alice", "old"))
    clock.advance(2 * DAY - 1)
    room.post(Event("MSG", "alice", "new"))
    keeper.startService()  # prunes at once: nothing is two days old yet
    assert len(keeper.history) == 2
    clock.advance(PRUNE_INTERVAL)
    assert [e.args[1] for e in keeper.history.recent(10)] == ["new"]
    keeper.stopService()
    assert not clock.getDelayedCalls()


# The real thread


@pytest_twisted.ensureDeferred
async def test_writes_happen_on_the_store_thread_not_the_reactor(
    tmp_path: Path,
) -> None:
    from twisted.internet import reactor

    path = str(tmp_path / "history.db")
    threads: set[int] = set()
    write = SQLiteStore.write

    def spying_write(self: SQLiteStore, events: Sequence[Event]) -> None:
        threads.add(threading.get_ident())
        write(self, events)

    keeper = HistoryKeeper("lobby", path=path)
    room = Room("lobby", history=keeper.history)
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
