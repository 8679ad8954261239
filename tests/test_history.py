"""
Room history: ids, replay on join, catch-up by id, /history, /ids; the
domain and the line protocol through StringTransport and a fake clock.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from helpers import Connection, Server
from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.internet.error import ConnectionLost
from twisted.python.failure import Failure

from chatproto.commands import HELP, MAX_MINUTES
from chatproto.events import Batch, Event
from chatproto.history import MemoryHistory
from chatproto.intake import ENTRIES_PER_TOKEN
from chatproto.room import (
    HISTORY_PAGE_DEFAULT,
    HISTORY_PAGE_MAX,
    SINCE_PAGE,
    Participant,
    Room,
)
from chatproto.rooms import DEFAULT_MAX_ROOMS
from chatproto.session import MAX_NICK_ATTEMPTS

HISTORY_LINE = re.compile(r"HISTORY (\d+) (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ) (.*)")
T0 = "1970-01-01T00:00:00Z"


def entry(id: int, time: float = 0.0) -> Event:
    event = Event("MSG", "alice", f"line {id}")
    event.id, event.time = id, time
    return event


def ids(events: list[Event]) -> list[int]:
    return [event.id for event in events]


# The in-memory tail


def test_ring_buffer_keeps_the_newest_and_remembers_the_last_id() -> None:
    history = MemoryHistory(capacity=3)
    for id in range(1, 6):
        history.append(entry(id))
    assert len(history) == 3
    assert history.last_id == 5
    assert ids(history.recent(10)) == [3, 4, 5]
    assert ids(history.recent(2)) == [4, 5]
    assert ids(history.since(3)) == [4, 5]
    assert ids(history.since(0)) == [3, 4, 5]  # what it still holds
    assert history.since(5) == []
    assert ids(history.before(5, 1)) == [4]
    assert ids(history.before(99, 2)) == [4, 5]
    assert history.before(3, 5) == []
    assert history.before(5, 0) == []


def test_ids_must_increase_but_need_not_be_consecutive() -> None:
    history = MemoryHistory(last_id=1000)
    with pytest.raises(ValueError):
        history.append(entry(1000))
    history.append(entry(1001))
    history.append(entry(5000))
    assert ids(history.since(1001)) == [5000]


def test_prune_forgets_old_entries_but_not_the_last_id() -> None:
    persisted: list[Event] = []
    history = MemoryHistory(persist=persisted.append)
    for id in range(1, 5):
        history.append(entry(id, time=id * 10.0))
    assert history.prune(older_than=30.0) == 2
    assert ids(history.recent(10)) == [3, 4]
    assert history.prune(older_than=1000.0) == 2
    assert history.last_id == 4
    assert ids(persisted) == [1, 2, 3, 4]


# Ids and what is stored


def test_room_events_get_increasing_ids_and_times_before_fan_out() -> None:
    server = Server()
    alice = server.member("alice")
    server.clock.advance(90061)  # one day, one hour, one minute, one second
    bob = server.member("bob")
    alice.send(b"hi\n/me waves\n/nick alicia\n/quit bye\n")
    stored = server.room.history.recent(100)
    assert [(e.id, e.kind, *e.args) for e in stored] == [
        (1, "JOIN", "alice"),
        (2, "JOIN", "bob"),
        (3, "MSG", "alice", "hi"),
        (4, "ACTION", "alice", "waves"),
        (5, "RENAME", "alice", "alicia"),
        (6, "LEAVE", "alicia", "bye"),
    ]
    assert [e.time for e in stored] == [0.0] + [90061.0] * 5
    assert bob.received()[0] == "MSG alice hi"  # naive clients see no ids


def test_private_messages_and_notices_are_never_stored() -> None:
    server = Server()
    alice, bob = server.member("alice"), server.member("bob")
    alice.send(b"/msg bob secret\n/who\n/help\n/dance\n/nick bob\n")
    bob.send(b"/msg bob note to self\n")
    assert ids(server.room.history.recent(100)) == [1, 2]
    carol = server.connect()
    carol.send(b"/since 0\ncarol\n")
    assert not any("secret" in line or "note" in line for line in carol.received())


# Replay on join


def test_join_replays_the_latest_entries_then_marks_the_end() -> None:
    server = Server(replay=3)
    alice = server.member("alice")
    for text in (b"one", b"two", b"three"):
        alice.send(text + b"\n")
    bob = server.connect()
    bob.send(b"bob\n")
    assert bob.received() == [
        "NICK",
        "WELCOME bob to lobby; type /help for commands",
        "ROOM lobby",
        f"HISTORY 2 {T0} MSG alice one",
        f"HISTORY 3 {T0} MSG alice two",
        f"HISTORY 4 {T0} MSG alice three",
        "HISTORY-END 4",
        "JOIN bob",
        "USERS alice bob",
    ]
    alice.send(b"welcome\n")
    assert bob.received() == ["MSG alice welcome"]


def test_the_replay_follows_the_message_of_the_day() -> None:
    server = Server(replay=5, motd=lambda: ["be nice"])
    server.member("alice")
    bob = server.connect()
    bob.send(b"bob\n")
    assert bob.received()[1:] == [
        "WELCOME bob to lobby; type /help for commands",
        "INFO be nice",
        "ROOM lobby",
        f"HISTORY 1 {T0} JOIN alice",
        "HISTORY-END 1",
        "JOIN bob",
        "USERS alice bob",
    ]


def test_replayed_lines_are_never_mistaken_for_live_ones() -> None:
    server = Server(replay=50)
    alice = server.member("alice")
    alice.send(b"MSG mallory fake\n/me ACTION\n")
    bob = server.connect()
    bob.send(b"bob\n")
    replayed = [line for line in bob.received() if line.startswith("HISTORY ")]
    assert replayed == [
        f"HISTORY 1 {T0} JOIN alice",
        f"HISTORY 2 {T0} MSG alice MSG mallory fake",
        f"HISTORY 3 {T0} ACTION alice ACTION",
    ]


def test_first_member_of_an_empty_room_gets_an_empty_replay() -> None:
    alice = Server(replay=50).connect()
    alice.send(b"alice\n")
    assert alice.received()[2:5] == ["ROOM lobby", "HISTORY-END 0", "JOIN alice"]


def test_replay_off_means_the_old_protocol_exactly() -> None:
    server = Server(replay=0)
    server.member("alice").send(b"hi\n")
    bob = server.connect()
    bob.send(b"bob\n")
    assert not any(line.startswith("HISTORY") for line in bob.received())


def replay_and_live_ids(lines: list[str]) -> tuple[list[int], int, list[int]]:
    """
    The ids a numbered client got in its join replay, the end marker's id,
    and the ids of the live room lines after it.
    """
    replayed: list[int] = []
    end = -1
    live: list[int] = []
    for line in lines:
        if found := HISTORY_LINE.fullmatch(line):
            assert end < 0, "a HISTORY line after the end marker"
            replayed.append(int(found[1]))
        elif line.startswith("HISTORY-END "):
            end = int(line.split()[1])
        elif line.startswith("ID "):
            assert end >= 0, f"a live line before the replay ended: {line}"
            live.append(int(line.split()[1]))
    return replayed, end, live


actions = st.lists(
    st.tuples(st.sampled_from(["say", "join", "leave", "rename"]), st.integers(0, 9)),
    max_size=60,
)


@settings(deadline=None, max_examples=150)
@given(script=actions, replay=st.sampled_from([1, 5, 1000]))
def test_no_gap_and_no_duplicate_between_replay_and_live(
    script: list[tuple[str, int]], replay: int
) -> None:
    # Members come and go while others talk, in any order: every member
    # sees each room event exactly once from the point its replay starts,
    # replayed or live, with nothing missing at the seam.
    server = Server(replay=replay)
    members: dict[int, Connection] = {}
    everyone: list[Connection] = []
    serial = 0
    for action, who in script:
        member = members.get(who)
        if action == "join" or member is None:
            if member is not None:
                member.send(b"/quit\n")
            serial += 1
            member = members[who] = server.connect()
            member.send(b"/ids on\nm%d\n" % serial)
            everyone.append(member)
        elif action == "say":
            member.send(b"hello from %d\n" % who)
        elif action == "rename":
            serial += 1
            member.send(b"/nick r%d\n" % serial)
        else:
            member.send(b"/quit\n")
            del members[who]
    last = server.room.history.last_id
    for member in everyone:
        replayed, end, live = replay_and_live_ids(member.received())
        assert end >= 0
        assert replayed == list(range(end - len(replayed) + 1, end + 1))
        assert len(replayed) == min(replay, end)
        # Live lines run from the member's own JOIN, end + 1, to its LEAVE
        # or the last event, consecutively.
        assert live == list(range(end + 1, end + 1 + len(live)))
        if not member.closed:
            assert live[-1] == last


def test_a_join_during_a_fan_out_still_gets_everything_once() -> None:
    # Recipients must not call back into the room, but if one did (a bot
    # that lets a friend in when it hears "ping"), nothing is lost or doubled.
    room = Room("lobby", replay_count=100)
    members: dict[str, Participant] = {}

    class Inbox:
        def __init__(self, nick: str) -> None:
            self.nick = self.key = nick
            self.ids: list[int] = []

        def deliver(self, event: Event) -> None:
            if event.id:
                self.ids.append(event.id)
            if self is bot and event.args == ("alice", "ping"):
                # "pong" is queued before the friend joins and fanned out
                # after: it must arrive live, not in the replay as well.
                members["bot"].say("pong")
                room.join(friend)
                members["alice"].say("hi friend")

        def deliver_batch(self, batch: Batch) -> None:
            for event in batch.events:
                self.deliver(event)

        def replay(self, entries: list[Event], last_id: int, more: int) -> None:
            self.ids.extend(ids(entries))

    bot, friend = Inbox("bot"), Inbox("friend")
    members["bot"] = room.join(bot)
    members["alice"] = room.join(Inbox("alice"))
    members["alice"].say("ping")
    # JOIN bot, JOIN alice, ping, pong, JOIN friend, hi friend
    assert room.history.last_id == 6
    assert sorted(friend.ids) == list(range(1, 7))


# Catch-up by id


def test_a_dropped_member_gets_exactly_what_it_missed() -> None:
    server = Server(replay=50)
    alice = server.connect()
    alice.send(b"/ids on\nalice\n")
    bob = server.member("bob")
    bob.send(b"before\n")
    seen = [line for line in alice.received() if line.startswith("ID ")]
    last_seen = int(seen[-1].split()[1])
    alice.protocol.connectionLost(Failure(ConnectionLost()))
    bob.send(b"while away 1\nwhile away 2\n")

    again = server.connect()
    again.send(b"/ids on\n/since %d\nalice\n" % last_seen)
    lines = again.received()
    assert [line for line in lines if line.startswith("HISTORY")] == [
        f"HISTORY {last_seen + 1} {T0} LEAVE alice connection lost",
        f"HISTORY {last_seen + 2} {T0} MSG bob while away 1",
        f"HISTORY {last_seen + 3} {T0} MSG bob while away 2",
        f"HISTORY-END {last_seen + 3}",
    ]
    assert lines[-2:] == [f"ID {last_seen + 4} JOIN alice", "USERS alice bob"]
    bob.send(b"welcome back\n")
    assert again.received() == [f"ID {last_seen + 5} MSG bob welcome back"]


def test_since_in_the_room_replays_what_followed_an_id() -> None:
    server = Server()
    alice = server.member("alice")
    alice.send(b"one\ntwo\n")
    alice.received()
    alice.send(b"/since 2\n")
    assert alice.received() == [f"HISTORY 3 {T0} MSG alice two", "HISTORY-END 3"]
    alice.send(b"/since 3\n")
    assert alice.received() == ["HISTORY-END 3"]


def test_since_an_id_the_server_never_gave_is_answered_with_its_last_id() -> None:
    # A client whose id comes from before a restart without a database
    # learns from the end marker that its id is unknown.
    server = Server()
    alice = server.connect()
    alice.send(b"/since 5000\nalice\n")
    assert alice.received()[2:5] == ["ROOM lobby", "HISTORY-END 0", "JOIN alice"]


def test_since_older_than_the_tail_replays_what_is_held() -> None:
    server = Server()
    server.room.history = MemoryHistory(capacity=3)
    alice = server.member("alice")
    alice.send(b"a\nb\nc\nd\n")
    alice.received()
    alice.send(b"/since 1\n")
    lines = alice.received()
    assert [line.split()[1] for line in lines] == ["3", "4", "5", "5"]


@pytest.mark.parametrize("argument", ["", "x", "-1", "+1", "1.5", "１"])
def test_since_needs_a_whole_number(argument: str) -> None:
    alice = Server().member("alice")
    alice.send(f"/since {argument}\n".encode())
    [error] = alice.received()
    assert error.startswith("ERROR usage ")


def test_since_takes_ids_of_up_to_nineteen_digits() -> None:
    alice = Server().member("alice")
    alice.send(b"/since " + b"9" * 19 + b"\n")
    assert alice.received() == ["HISTORY-END 1"]
    alice.send(b"/since " + b"9" * 20 + b"\n")
    [error] = alice.received()
    assert error.startswith("ERROR usage ")


def test_a_bad_option_before_the_nickname_is_reported_and_not_a_nickname() -> None:
    connection = Server().connect()
    connection.received()
    connection.send(b"/since soon\n/ids maybe\n")
    assert connection.received() == [
        "ERROR usage usage: /since <id>, the id a whole number of at most 19 digits",
        "ERROR usage usage: /ids on|off",
    ]
    # Not a rejected nickname: the connection may go on choosing one.
    connection.send(b"/since x\n" * MAX_NICK_ATTEMPTS)
    assert not connection.closed
    connection.send(b"alice\n")
    assert connection.received()[-1] == "USERS alice"


# /history


def test_history_pages_back_from_what_the_member_was_shown() -> None:
    server = Server(replay=2)
    alice = server.member("alice")
    for number in range(1, 7):
        alice.send(b"m%d\n" % number)
    bob = server.connect()
    bob.send(b"bob\n")
    assert [line.split()[1] for line in bob.received()[3:6]] == ["6", "7", "7"]
    bob.send(b"/history 2\n")
    assert bob.received() == [
        f"HISTORY 4 {T0} MSG alice m3",
        f"HISTORY 5 {T0} MSG alice m4",
        "HISTORY-END 8",
    ]
    bob.send(b"/history\n")
    assert [line.split(" ", 1)[1] for line in bob.received()] == [
        f"1 {T0} JOIN alice",
        f"2 {T0} MSG alice m1",
        f"3 {T0} MSG alice m2",
        "8",
    ]
    bob.send(b"/history\n")
    assert bob.received() == ["HISTORY-END 8"]


def test_history_without_a_replay_starts_before_the_join() -> None:
    server = Server(replay=0)
    alice = server.member("alice")
    alice.send(b"m1\n")
    bob = server.member("bob")
    bob.send(b"/history 1\n")
    assert bob.received() == [f"HISTORY 2 {T0} MSG alice m1", "HISTORY-END 3"]


def test_history_shows_twenty_entries_unless_told() -> None:
    server = Server()
    alice = server.member("alice")
    alice.send(b"line\n" * 30)
    bob = server.member("bob")
    bob.send(b"/history\n")
    assert len(bob.received()) == 20 + 1  # and HISTORY-END


def test_history_is_capped() -> None:
    server = Server()
    alice = server.member("alice")
    alice.send(b"line\n" * (HISTORY_PAGE_MAX + 10))
    bob = server.member("bob")
    bob.send(b"/history %d\n" % HISTORY_PAGE_MAX)
    assert len(bob.received()) == HISTORY_PAGE_MAX + 1
    for argument in (b"0", b"-3", b"lots", b"%d" % (HISTORY_PAGE_MAX + 1), b"9" * 2000):
        bob.send(b"/history " + argument + b"\n")
        [error] = bob.received()
        assert error.startswith("ERROR usage ")


# Ids on live lines


def test_ids_are_shown_only_to_members_that_ask() -> None:
    server = Server()
    alice, bob = server.member("alice"), server.member("bob")
    alice.received()
    alice.send(b"/ids on\n")
    assert alice.received() == ["INFO ids on: room lines now come as ID <id> <line>"]
    bob.send(b"hi\n/me waves\n/msg alice psst\n/who\n")
    assert alice.received() == [
        "ID 3 MSG bob hi",
        "ID 4 ACTION bob waves",
        "PRIVATE bob alice psst",
    ]
    assert bob.received() == [
        "MSG bob hi",
        "ACTION bob waves",
        "PRIVATE bob alice psst",
        "USERS alice bob",
    ]
    alice.send(b"/nope\n/ids OFF\n")
    assert alice.received()[0].startswith("ERROR unknown-command ")
    bob.send(b"bye\n")
    assert alice.received() == ["MSG bob bye"]


def test_numbered_lines_are_encoded_once_per_event() -> None:
    server = Server()
    members = [server.member(nick) for nick in ("a", "b", "c")]
    for member in members:
        member.send(b"/ids on\n")
    members[0].send(b"once\n")
    lines = {member.received()[-1] for member in members}
    assert lines == {"ID 4 MSG a once"}
    [event] = server.room.history.recent(1)
    assert event.rendered["id"] == b"ID 4 MSG a once\r\n"


def test_help_lists_the_history_commands() -> None:
    text = "\n".join(HELP)
    for command in ("/history", "/since", "/ids"):
        assert command in text


def test_the_protocol_document_gives_the_limits_the_code_has() -> None:
    document = Path(__file__).parent.parent / "docs" / "protocol.rst"
    text = " ".join(document.read_text().split())
    assert f"(default {HISTORY_PAGE_DEFAULT}, from 1 to {HISTORY_PAGE_MAX})" in text
    assert f"at most {SINCE_PAGE} at a time" in text
    assert f"one more line for every {ENTRIES_PER_TOKEN} history entries" in text


def test_the_protocol_document_gives_the_other_limits_the_code_has() -> None:
    document = Path(__file__).parent.parent / "docs" / "protocol.rst"
    text = " ".join(document.read_text().split())
    assert f"After {MAX_NICK_ATTEMPTS} rejected nicknames" in text
    assert f"rooms at once (default {DEFAULT_MAX_ROOMS})" in text
    assert f"Minutes: 1 to {MAX_MINUTES} (four weeks)" in text
    assert MAX_MINUTES == 4 * 7 * 24 * 60
