"""Catching up by id (docs/protocol.rst, "Catching up"): what the session
sends on (re)connecting, and that each room line is shown exactly once."""

from __future__ import annotations

import re

from client_helpers import Harness
from twisted.internet import error

from chatproto.client.catchup import GAP, RecentIds

STAMP = re.compile(r"(\d{4}-\d\d-\d\d )?\d\d:\d\d ")
SAID = "2024-01-01T11:58:00Z"


def shown(h: Harness) -> list[str]:
    """What the UI showed, without time stamps (history's are local time)."""
    return [STAMP.sub("", line, count=1) for line in h.ui.shown]


def history(*entries: tuple[int, str]) -> list[str]:
    return [f"HISTORY {id} {SAID} {line}" for id, line in entries]


def joined(nick: str = "alice", since: int | None = None) -> Harness:
    """Connected, asked for a nickname; the options and nickname were sent."""
    h = Harness(nick, interactive=False)
    h.server("NICK")
    options = ["/ids on"] + ([] if since is None else [f"/since {since}"])
    assert h.sent() == [*options, nick]
    return h


def reconnect(h: Harness, since: int, nick: str = "alice") -> None:
    h.drop(error.ConnectionLost())
    h.ui.shown.clear()
    h.connect()
    h.server("NICK")
    assert h.sent() == ["/ids on", f"/since {since}", nick]


def test_first_connection_sends_ids_on_then_the_nickname() -> None:
    joined()


def test_options_are_sent_once_per_connection_before_each_nickname() -> None:
    h = Harness(None)
    h.server("NICK")
    assert h.sent() == ["/ids on"] and h.ui.asked == 1
    h.session.choose_nick("bob")
    h.server("ERROR nick-taken bob is already here", "NICK")
    h.session.choose_nick("bobby")
    # The server keeps the options through a rejected nickname.
    assert h.sent() == ["bob", "bobby"]


def test_a_newcomers_replay_is_shown_once_as_history() -> None:
    h = joined()
    h.server(
        "WELCOME alice to lobby",
        "INFO be kind",
        *history((41, "JOIN bob"), (42, "MSG bob anyone here?")),
        "HISTORY-END 42",
        "ID 43 JOIN alice",
        "USERS alice bob",
        "ID 44 MSG bob hi alice",
    )
    assert shown(h) == [
        "-- Welcome alice to lobby",
        "be kind",
        "-- bob joined",
        "<bob> anyone here?",
        "-- end of history --",
        "-- in the room (2): alice, bob",
        "<bob> hi alice",
    ]
    assert h.session.catchup.log.last_id == 44
    # A replayed JOIN is not someone joining now.
    assert h.session.members == {"alice", "bob"}


def test_history_does_not_change_the_room_or_my_nickname() -> None:
    h = joined()
    h.server("WELCOME alice x", "HISTORY-END 4", "ID 5 JOIN alice", "USERS alice bob")
    assert h.session.submit("/history")
    h.sent()
    h.server(
        *history((1, "JOIN carol"), (2, "RENAME alice alicia"), (3, "LEAVE bob")),
        "HISTORY-END 5",
    )
    assert h.session.me == "alice" and h.session.nick == "alice"
    assert h.session.members == {"alice", "bob"}


def test_the_last_id_is_where_the_join_replay_ends() -> None:
    h = joined()
    h.server("WELCOME alice x", *history((41, "MSG bob hi")), "HISTORY-END 45")
    # Dropped before the first live line: 42 to 45 were offered (not held
    # any more, or private to the server), so they are not asked for again.
    reconnect(h, since=45)


def test_reconnect_asks_for_what_was_missed_and_shows_it_once() -> None:
    h = joined()
    h.server("WELCOME alice x", "HISTORY-END 10", "ID 11 JOIN alice", "USERS alice")
    h.server("ID 12 MSG alice before the drop")
    reconnect(h, since=12)
    h.server(
        "WELCOME alice x",
        *history((13, "LEAVE alice connection lost"), (14, "MSG bob where is she")),
        "HISTORY-END 14",
        "ID 15 JOIN alice",
        "USERS alice bob",
        "ID 16 MSG bob welcome back",
    )
    assert shown(h) == [
        "-- Welcome alice x",
        "-- alice left (connection lost)",
        "<bob> where is she",
        "-- end of history (2 lines while you were away) --",
        "-- in the room (2): alice, bob",
        "<bob> welcome back",
    ]
    assert h.ui.notices[-1] == "reconnected: you are back in the room as alice"
    assert GAP not in "".join(h.ui.shown)
    # The last id goes on across any number of reconnections.
    reconnect(h, since=16)


def test_a_reconnection_with_nothing_missed_says_nothing_about_history() -> None:
    h = joined()
    h.server("WELCOME alice x", "HISTORY-END 10", "ID 11 JOIN alice")
    reconnect(h, since=11)
    h.server("WELCOME alice x", "HISTORY-END 11", "ID 12 JOIN alice")
    assert shown(h) == ["-- Welcome alice x"]


def test_lines_already_shown_are_skipped_by_id() -> None:
    h = joined()
    h.server(
        "WELCOME alice x",
        *history((1, "MSG bob one")),
        "HISTORY-END 1",
        "ID 2 JOIN alice",
        "ID 3 MSG bob two",
    )
    # A replay that overlaps what was shown (say the server did not get our
    # /since), and a live line that arrives twice: each shown once.
    reconnect(h, since=3)
    h.server(
        "WELCOME alice x",
        *history((1, "MSG bob one"), (3, "MSG bob two"), (4, "MSG bob three")),
        "HISTORY-END 4",
        "ID 5 JOIN alice",
        "ID 6 MSG bob four",
        "ID 6 MSG bob four",
    )
    assert shown(h) == [
        "-- Welcome alice x",
        "<bob> three",
        "-- end of history (1 line while you were away) --",
        "<bob> four",
    ]


def test_since_typed_in_the_room_shows_only_what_is_new() -> None:
    h = joined()
    h.server("WELCOME alice x", "HISTORY-END 0", "ID 1 JOIN alice", "ID 2 MSG bob a")
    h.ui.shown.clear()
    assert h.session.submit("/since 0")
    assert h.sent() == ["/since 0"]
    h.server(*history((1, "JOIN alice"), (2, "MSG bob a")), "HISTORY-END 2")
    assert shown(h) == ["-- nothing you have not seen already --"]


def test_history_pages_back_to_lines_never_shown() -> None:
    h = joined()
    h.server(
        "WELCOME alice x",
        *history((50, "MSG bob fifty")),
        "HISTORY-END 50",
        "ID 51 JOIN alice",
    )
    h.ui.shown.clear()
    assert h.session.submit("/history 2")
    assert h.sent() == ["/history 2"]
    h.server(*history((48, "MSG bob 48"), (49, "MSG bob 49")), "HISTORY-END 51")
    h.server("HISTORY-END 51")  # a second /history, with nothing further back
    assert shown(h) == [
        "<bob> 48",
        "<bob> 49",
        "-- end of history --",
        "-- no more history --",
    ]
    assert h.session.catchup.log.last_id == 51
    reconnect(h, since=51)


def test_lines_lost_beyond_what_the_server_holds_are_noticed() -> None:
    h = joined()
    h.server("WELCOME alice x", "HISTORY-END 10", "ID 11 JOIN alice")
    reconnect(h, since=11)
    # The server no longer holds 12 to 19.
    h.server(
        "WELCOME alice x",
        *history((20, "MSG bob twenty")),
        "HISTORY-END 20",
        "ID 21 JOIN alice",
    )
    assert shown(h) == [
        "-- Welcome alice x",
        f"-- {GAP}",
        "<bob> twenty",
        "-- end of history (1 line while you were away) --",
    ]


def test_an_empty_replay_after_lost_lines_is_noticed() -> None:
    h = joined()
    h.server("WELCOME alice x", "HISTORY-END 10", "ID 11 JOIN alice")
    reconnect(h, since=11)
    h.server("WELCOME alice x", "HISTORY-END 30", "ID 31 JOIN alice")
    assert shown(h) == ["-- Welcome alice x", f"-- {GAP}"]


def test_a_server_restart_it_announced_is_not_a_gap() -> None:
    h = joined()
    h.server("WELCOME alice x", "HISTORY-END 10", "ID 11 JOIN alice")
    h.server("INFO server shutting down")
    reconnect(h, since=11)
    # Ids jump after a restart: nothing was lost.
    h.server(
        "WELCOME alice x",
        *history((1795291100001, "JOIN bob"), (1795291100002, "MSG bob hi")),
        "HISTORY-END 1795291100002",
        "ID 1795291100003 JOIN alice",
    )
    assert shown(h) == [
        "-- Welcome alice x",
        "-- bob joined",
        "<bob> hi",
        "-- end of history (2 lines while you were away) --",
    ]
    # ... but the next unexplained jump is.
    reconnect(h, since=1795291100003)
    h.server("WELCOME alice x", "HISTORY-END 1795291100009")
    assert f"-- {GAP}" in shown(h)


def test_a_server_that_does_not_know_our_id_is_followed() -> None:
    # Its clock went back: HISTORY-END is below the id we sent, and the ids
    # we saw may name other lines now.
    h = joined()
    h.server("WELCOME alice x", "HISTORY-END 500", "ID 501 JOIN alice")
    reconnect(h, since=501)
    h.server("WELCOME alice x", "HISTORY-END 300")
    assert h.session.catchup.log.last_id == 300
    h.server("ID 301 JOIN alice", "ID 501 MSG bob not the line 501 we saw")
    assert shown(h)[-1] == "<bob> not the line 501 we saw"
    assert h.session.catchup.log.last_id == 501


def test_without_a_join_replay_live_lines_are_live() -> None:
    # --history-replay 0: no replay on a first join.
    h = joined()
    h.server("WELCOME alice x", "ID 7 JOIN alice", "USERS alice")
    h.server(*history((5, "MSG bob five")), "HISTORY-END 7")  # a /history
    assert shown(h)[-2:] == ["<bob> five", "-- end of history --"]
    reconnect(h, since=7)


def test_recent_ids_are_bounded() -> None:
    ids = RecentIds(3)
    for id in (1, 2, 3, 3, 4):
        ids.add(id)
    assert len(ids) == 3
    assert 1 not in ids and all(id in ids for id in (2, 3, 4))
    ids.clear()
    assert 4 not in ids
