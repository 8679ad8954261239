"""Catching up per room (docs/protocol.rst, "Catching up"): ids are per
room, a reconnection rejoins the room the user was in and asks for what it
missed there, HISTORY-MORE is followed, and a room the user comes back to
is caught up to where it was left."""

from __future__ import annotations

import re

from client_helpers import Harness
from twisted.internet import error

from chatproto.client.catchup import GAP

SAID = "2024-01-01T11:58:00Z"
STAMP = re.compile(r"(\d{4}-\d\d-\d\d )?\d\d:\d\d ")


def shown(h: Harness) -> list[str]:
    lines = [STAMP.sub("", line, count=1) for line in h.ui.shown]
    h.ui.shown.clear()
    return lines


def history(*entries: tuple[int, str]) -> list[str]:
    return [f"HISTORY {id} {SAID} {line}" for id, line in entries]


def in_room(room: str, end: int, nick: str = "alice") -> Harness:
    h = Harness(nick, interactive=False)
    h.server("NICK")
    assert h.sent() == ["/ids on", nick]
    h.server(f"WELCOME {nick} to lobby", f"ROOM {room}", f"HISTORY-END {end}")
    h.server(f"ID {end + 1} JOIN {nick}", f"USERS {nick} bob")
    return h


def reconnect(h: Harness, *expected: str) -> None:
    h.drop(error.ConnectionLost())
    h.connect()
    h.server("NICK")
    assert h.sent() == ["/ids on", *expected, "alice"]


def test_a_reconnection_rejoins_the_room_and_catches_up_there() -> None:
    h = in_room("physics", 10)
    h.server("ID 12 MSG bob hi", "ID 13 NOTICE bob muted carol")
    reconnect(h, "/join physics", "/since 13")
    h.server(
        "WELCOME alice to lobby",
        "ROOM physics",
        "TOPIC physics waves",
        *history((14, "TOPIC physics optics"), (15, "ANNOUNCE op class is over")),
        "HISTORY-END 15",
        "ID 16 JOIN alice",
    )
    assert shown(h)[-5:] == [
        "-- Welcome alice to lobby",
        "topic of physics: waves",
        "topic of physics: optics",
        "!!! announcement from op: class is over",
        "-- end of history (2 lines while you were away) --",
    ]
    assert h.session.catchup.log.last_id == 16
    assert h.sent() == []


def test_ids_are_per_room() -> None:
    h = in_room("lobby", 100)
    h.server("ID 102 MSG bob in the lobby")
    h.session.input_line("/join physics")
    assert h.sent() == ["/join physics"]
    # Physics numbers its lines from 5: nothing to do with the lobby's.
    h.server("ROOM physics", *history((5, "MSG carol first")), "HISTORY-END 5")
    h.server("ID 6 JOIN alice", "ID 102 MSG carol same id, other room")
    lines = shown(h)
    assert "<carol> same id, other room" in lines and "<carol> first" in lines
    assert h.session.catchup.rooms["physics"].last_id == 102
    assert h.session.catchup.rooms["lobby"].last_id == 102
    reconnect(h, "/join physics", "/since 102")


def test_history_more_is_followed_until_the_end() -> None:
    h = in_room("lobby", 10)
    reconnect(h, "/join lobby", "/since 11")
    h.server(
        "WELCOME alice to lobby",
        "ROOM lobby",
        *history((12, "MSG bob one"), (13, "MSG bob two")),
        "HISTORY-MORE 13",
        "HISTORY-END 20",
    )
    assert h.sent() == ["/since 13"]
    # Dropped before the rest came: resume from where the replay stopped.
    assert h.session.catchup.log.resume_point() == 13
    h.server("ID 21 JOIN alice", "USERS alice bob")
    h.server(*history((14, "MSG bob three")), "HISTORY-MORE 14", "HISTORY-END 21")
    assert h.sent() == ["/since 14"]
    h.server(*history((15, "MSG bob four"), (20, "MSG bob five")), "HISTORY-END 21")
    assert h.sent() == []
    lines = [line for line in shown(h) if line.startswith(("<", "-- end"))]
    assert lines == [
        "<bob> one",
        "<bob> two",
        "<bob> three",
        "<bob> four",
        "<bob> five",
        "-- end of history (5 lines while you were away) --",
    ]
    assert h.session.catchup.log.resume_point() == 21


def test_a_lost_connection_during_history_more_resumes_from_it() -> None:
    h = in_room("lobby", 10)
    reconnect(h, "/join lobby", "/since 11")
    h.server("WELCOME alice to lobby", "ROOM lobby", *history((12, "MSG bob one")))
    h.server("HISTORY-MORE 12", "HISTORY-END 30", "ID 31 JOIN alice")
    assert h.sent() == ["/since 12"]
    reconnect(h, "/join lobby", "/since 12")


def test_back_in_a_room_it_catches_up_to_where_it_was_left() -> None:
    h = in_room("lobby", 10)
    h.server("ID 12 MSG bob before")
    h.session.input_line("/join physics")
    h.server("ROOM physics", "HISTORY-END 3", "ID 4 JOIN alice")
    h.session.input_line("/join lobby")
    h.sent()
    # The plain /join's replay is only the newest lines: 40 and 41.
    h.server("ROOM lobby", *history((40, "MSG bob new"), (41, "MSG bob newer")))
    h.server("HISTORY-END 41", "ID 42 JOIN alice")
    assert h.sent() == ["/since 12"]
    h.server(
        *history((13, "LEAVE alice went to physics"), (14, "MSG bob while away")),
        *history((40, "MSG bob new"), (41, "MSG bob newer"), (42, "JOIN alice")),
        "HISTORY-END 42",
    )
    lines = shown(h)
    assert lines.count("<bob> new") == 1 and lines.count("<bob> newer") == 1
    assert "<bob> while away" in lines
    assert GAP not in "".join(lines)
    assert h.sent() == []


def test_a_room_that_cannot_be_rejoined_lands_in_the_default_one() -> None:
    h = in_room("physics", 10)
    reconnect(h, "/join physics", "/since 11")
    h.server(
        "ERROR banned you are banned from physics until lifted",
        "WELCOME alice to lobby",
        "ROOM lobby",
        *history((500, "MSG bob lobby line")),
        "HISTORY-END 500",
        "ID 501 JOIN alice",
    )
    lines = shown(h)
    assert "<bob> lobby line" in lines
    assert GAP not in "".join(lines)  # another room: no gap to speak of
    assert h.session.room.name == "lobby"
    assert h.status == []
    reconnect(h, "/join lobby", "/since 501")
