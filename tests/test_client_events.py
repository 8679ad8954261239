"""Parsing server lines into events (docs/protocol.rst, "Server lines")."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chatproto.client.events import (
    Action,
    Error,
    Historic,
    HistoryEnd,
    Info,
    Joined,
    Left,
    Message,
    NickRequest,
    Numbered,
    Private,
    Renamed,
    Users,
    Welcome,
    parse_line,
)


@pytest.mark.parametrize(
    ("line", "event"),
    [
        ("NICK", NickRequest()),
        (
            "WELCOME alice to lobby; type /help for commands",
            Welcome("alice", "to lobby; type /help for commands"),
        ),
        ("WELCOME alice", Welcome("alice", "")),
        ("JOIN zoë", Joined("zoë")),
        ("USERS alice bob 李雷", Users(("alice", "bob", "李雷"))),
        ("USERS", Users(())),
        ("MSG alice hello  world ", Message("alice", "hello  world ")),
        ("MSG alice /not a command", Message("alice", "/not a command")),
        ("ACTION bob waves", Action("bob", "waves")),
        ("PRIVATE alice bob psst, hi", Private("alice", "bob", "psst, hi")),
        ("RENAME alice alicia", Renamed("alice", "alicia")),
        ("LEAVE bob connection lost", Left("bob", "connection lost")),
        ("LEAVE bob", Left("bob", "")),
        ("INFO /who lists the members", Info("/who lists the members")),
        (
            "ERROR nick-taken alice is already here",
            Error("nick-taken", "alice is already here"),
        ),
        (
            "ID 1795291100336 MSG alice hi",
            Numbered(1795291100336, Message("alice", "hi")),
        ),
        ("ID 7 JOIN zoë", Numbered(7, Joined("zoë"))),
        ("ID 8 LEAVE bob connection lost", Numbered(8, Left("bob", "connection lost"))),
        ("ID 9 RENAME bob rob", Numbered(9, Renamed("bob", "rob"))),
        ("ID 10 ACTION bob waves", Numbered(10, Action("bob", "waves"))),
        (
            "HISTORY 1795291100335 2026-11-21T18:02:15Z MSG bob anyone here?",
            Historic(
                1795291100335,
                datetime(2026, 11, 21, 18, 2, 15, tzinfo=UTC),
                Message("bob", "anyone here?"),
            ),
        ),
        (
            "HISTORY 3 2026-01-02T03:04:05Z LEAVE bob",
            Historic(3, datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), Left("bob", "")),
        ),
        ("HISTORY-END 1795291100335", HistoryEnd(1795291100335)),
        ("HISTORY-END 0", HistoryEnd(0)),
    ],
)
def test_known_lines(line: str, event: object) -> None:
    assert parse_line(line) == event


@pytest.mark.parametrize(
    "line",
    [
        "",
        "PING 123",  # a word added to the protocol later: ignored
        "msg alice lower-case words are not the protocol's",
        "MSG",
        "JOIN",
        "RENAME alice",
        "PRIVATE alice",
        "ERROR",
        "ID",
        "ID 12",
        "ID x MSG alice hi",
        "ID +5 MSG alice hi",
        "ID ٥ MSG alice hi",  # an Arabic-Indic five is not an id
        "ID 5 PRIVATE alice bob psst",  # private lines have no ids
        "ID 5 ID 6 MSG alice hi",
        "ID 5 FROB alice",
        "HISTORY 5 MSG alice hi",
        "HISTORY 5 2026-11-21 MSG alice hi",
        "HISTORY 5 2026-11-21T18:02:15Z",
        "HISTORY 5 2026-11-21T18:02:15Z INFO hello",
        "HISTORY x 2026-11-21T18:02:15Z MSG alice hi",
        "HISTORY-END",
        "HISTORY-END -1",
        "HISTORY-END 5 6",
    ],
)
def test_unknown_or_incomplete_lines_are_ignored(line: str) -> None:
    assert parse_line(line) is None
