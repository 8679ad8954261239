"""Parsing server lines into events (docs/protocol.rst, "Server lines")."""

from __future__ import annotations

import pytest

from chatproto.client.events import (
    Action,
    Error,
    Info,
    Joined,
    Left,
    Message,
    NickRequest,
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
            "ERROR nick-taken alice is already in the room",
            Error("nick-taken", "alice is already in the room"),
        ),
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
    ],
)
def test_unknown_or_incomplete_lines_are_ignored(line: str) -> None:
    assert parse_line(line) is None
