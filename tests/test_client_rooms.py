"""Rooms and moderation in the client: the new server lines parsed and
rendered (docs/protocol.rst, "Rooms", "Moderation"), and what the session
makes of them: the room it is in, its topic, who is in it, notices,
announcements and refusals in plain words."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from client_helpers import Harness

from chatproto.client.events import (
    Announce,
    Historic,
    HistoryMore,
    Notice,
    Numbered,
    Room,
    Rooms,
    Topic,
    parse_line,
)
from chatproto.client.render import ansi, error_text, render

WHEN = datetime(2024, 5, 6, 9, 7, 30)


@pytest.mark.parametrize(
    ("line", "event"),
    [
        ("ROOM lobby", Room("lobby")),
        ("ROOM физика", Room("физика")),
        ("ROOMS lobby 12 physics 3", Rooms((("lobby", 12), ("physics", 3)))),
        ("ROOMS", Rooms(())),
        ("TOPIC lobby be kind  to all", Topic("lobby", "be kind  to all")),
        ("TOPIC lobby", Topic("lobby", "")),
        (
            "NOTICE teacher muted bob for 5 minutes",
            Notice("teacher", "muted bob for 5 minutes"),
        ),
        ("ANNOUNCE teacher class is over", Announce("teacher", "class is over")),
        ("HISTORY-MORE 1795291100335", HistoryMore(1795291100335)),
        (
            "ID 12 NOTICE teacher set the topic: hi",
            Numbered(12, Notice("teacher", "set the topic: hi")),
        ),
        ("ID 13 TOPIC lobby hi", Numbered(13, Topic("lobby", "hi"))),
        ("ID 14 ANNOUNCE op bye", Numbered(14, Announce("op", "bye"))),
        (
            "HISTORY 15 2026-11-21T18:02:15Z ANNOUNCE op bye",
            Historic(
                15, datetime(2026, 11, 21, 18, 2, 15, tzinfo=UTC), Announce("op", "bye")
            ),
        ),
    ],
)
def test_room_lines(line: str, event: object) -> None:
    assert parse_line(line) == event


@pytest.mark.parametrize(
    "line",
    [
        "ROOM",
        "ROOMS lobby",
        "ROOMS lobby x",
        "ROOMS lobby 1 physics",
        "ROOMS lobby -1",
        "TOPIC",
        "NOTICE teacher",
        "NOTICE",
        "ANNOUNCE op",
        "HISTORY-MORE",
        "HISTORY-MORE x",
        "ID 5 ROOM lobby",  # not a room line: never numbered
        "ID 5 ROOMS lobby 1",
    ],
)
def test_incomplete_room_lines_are_ignored(line: str) -> None:
    assert parse_line(line) is None


def text(event: object) -> str | None:
    line = render(event, "alice", WHEN)  # type: ignore[arg-type]
    return None if line is None else "".join(span.text for span in line)


def test_rendering() -> None:
    assert text(Rooms((("lobby", 12), ("physics", 3)))) == (
        "09:07 rooms: lobby (12), physics (3)"
    )
    assert (
        text(Topic("physics", "waves today")) == "09:07 topic of physics: waves today"
    )
    assert text(Topic("physics", "")) == "09:07 physics has no topic"
    assert text(Notice("teacher", "muted bob for 5 minutes")) == (
        "09:07 *** teacher muted bob for 5 minutes"
    )
    assert text(Announce("teacher", "the room is closing")) == (
        "09:07 !!! announcement from teacher: the room is closing"
    )
    assert text(Room("physics")) == "09:07 -- you are in the room physics"
    assert text(HistoryMore(5)) is None


def test_notices_and_announcements_stand_out() -> None:
    notice = render(Notice("teacher", "muted bob"), "alice", WHEN)
    announce = render(Announce("teacher", "hi"), "alice", WHEN)
    message = render(parse_line("MSG teacher hi"), "alice", WHEN)  # type: ignore[arg-type]
    assert notice is not None and announce is not None and message is not None
    styles = {ansi(line[1:]) for line in (notice, announce)}
    assert len(styles) == 2
    assert "\x1b[1;35m" in ansi(notice) and "\x1b[1;7m" in ansi(announce)
    # Without colours they still differ from a message: bold, reversed.
    assert "\x1b[1;7m" in ansi(announce, colour=False)


def test_refusals_in_plain_words() -> None:
    muted = "you are muted in lobby until 07:16 UTC (5 minutes from now)"
    assert error_text("muted", muted) == f"your line was not sent: {muted}"
    assert error_text("muted", "") == (
        "your line was not sent: you are muted in this room; you can still read"
    )
    slow = (
        "lobby is in slow mode: one line every 10 seconds; wait 7 more seconds "
        "(your line was not sent)"
    )
    assert error_text("slow-mode", slow) == slow
    assert error_text("slow-mode", "") == (
        "your line was not sent: this room is in slow mode; wait a little before "
        "the next line"
    )
    assert "slow-mode" not in error_text("slow-mode", "")
    assert error_text("usage", "") == "usage"


# -- the session -------------------------------------------------------------


def entered(nick: str = "alice") -> Harness:
    h = Harness(nick)
    h.server("NICK")
    assert h.sent() == ["/ids on", nick]
    h.server(f"WELCOME {nick} to lobby", "ROOM lobby", "TOPIC lobby be kind")
    h.server(f"HISTORY-END {h.newest}")
    h.live(f"JOIN {nick}")
    h.server(f"USERS {nick} bob")
    return h


def test_the_room_and_its_topic_are_known_and_shown() -> None:
    h = entered()
    assert h.session.room.name == "lobby"
    assert h.session.room.topic == "be kind"
    assert h.ui.shown[:2] == [
        "12:00 -- Welcome alice to lobby",  # it names the room: no ROOM line
        "12:00 topic of lobby: be kind",
    ]
    assert h.ui.states[-1] == ("alice", True)
    changes = len(h.ui.states)
    h.live("NOTICE bob set the topic: waves")
    h.live("TOPIC lobby waves")
    assert h.session.room.topic == "waves"
    assert h.ui.shown[-2:] == [
        "12:00 *** bob set the topic: waves",
        "12:00 topic of lobby: waves",
    ]
    assert len(h.ui.states) == changes + 1  # the prompt is told
    # Another room's topic (after /rooms) is not ours.
    h.server("ROOMS lobby 2 physics 1", "TOPIC physics optics")
    assert h.session.room.topic == "waves"
    assert h.ui.shown[-2:] == [
        "12:00 rooms: lobby (2), physics (1)",
        "12:00 topic of physics: optics",
    ]


def test_join_moves_to_another_room_with_its_members() -> None:
    h = entered()
    assert h.session.members == {"alice", "bob"}
    assert h.session.submit("/join physics")
    assert h.sent() == ["/join physics"]
    h.server("ROOM physics")
    assert h.ui.shown[-1] == "12:00 -- you are in the room physics"
    assert h.session.room.name == "physics" and h.session.room.topic == ""
    assert h.session.members == set()
    h.server("HISTORY-END 7", "ID 8 JOIN alice", "USERS alice carol")
    assert h.session.members == {"alice", "carol"}
    h.server("ID 9 JOIN dave", "ID 10 RENAME carol caro", "ID 11 LEAVE dave")
    assert h.session.members == {"alice", "caro"}


def test_muted_and_slowed_are_told_plainly() -> None:
    h = entered()
    h.server("ERROR muted you are muted in lobby until lifted; you can read")
    h.server("ERROR slow-mode lobby is in slow mode: wait 3 more seconds")
    assert h.ui.warnings == [
        "your line was not sent: you are muted in lobby until lifted; you can read",
        "your line was not sent: lobby is in slow mode: wait 3 more seconds",
    ]


@pytest.mark.parametrize("code", ["kicked", "banned"])
def test_kicked_or_banned_from_the_server_is_final(code: str) -> None:
    h = entered()
    h.server(f"ERROR {code} you were {code} by teacher; goodbye")
    h.drop()
    assert h.ui.warnings == [
        f"you were {code} by teacher; goodbye",
        f"you were {code} from the server: not reconnecting",
    ]
    assert h.status == [1]


def test_a_rooms_ban_is_not_final() -> None:
    h = entered()
    h.session.submit("/join physics")
    h.server("ERROR banned you are banned from physics until lifted")
    h.live("MSG bob still here?")
    h.drop()
    assert h.status == []  # reconnecting
    assert h.ui.notices[-1] == "disconnected: the server closed the connection"
