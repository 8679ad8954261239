"""
Several rooms, through the line protocol on StringTransports and a fake
clock: joining, moving, isolation, names, limits, history per room.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from helpers import Connection, RecordedMetrics, Server
from twisted.internet.task import Clock

from chatproto.errors import ChatError
from chatproto.moderation import RoomSettings
from chatproto.rooms import EMPTY_ROOM_LINGER, MemoryRoomStore, Rooms

T0 = "1970-01-01T00:00:00Z"


def member(server: Server, nick: str, room: str = "") -> Connection:
    connection = server.member(nick)
    if room:
        connection.send(f"/join {room}\n".encode())
        connection.received()
    return connection


# Landing and moving


def test_newcomers_land_in_the_default_room() -> None:
    server = Server(rooms=("lobby", "physics"))
    alice = server.connect()
    alice.send(b"alice\n")
    assert alice.received() == [
        "NICK",
        "WELCOME alice to lobby; type /help for commands",
        "ROOM lobby",
        "JOIN alice",
        "USERS alice",
    ]


def test_join_moves_with_the_same_sequence_as_a_first_join() -> None:
    server = Server(replay=10)
    bob = member(server, "bob", "physics")
    bob.send("e = mc²\n".encode())
    alice, carol = server.member("alice"), server.member("carol")
    alice.received()
    alice.send(b"/join physics\n")
    assert alice.received() == [
        "ROOM physics",
        f"HISTORY 1 {T0} JOIN bob",
        f"HISTORY 2 {T0} MSG bob e = mc²",
        "HISTORY-END 2",
        "JOIN alice",
        "USERS alice bob",
    ]
    assert carol.received() == ["LEAVE alice went to physics"]
    assert bob.received() == ["MSG bob e = mc²", "JOIN alice"]


def test_rooms_are_found_without_regard_to_case_or_a_hash() -> None:
    server = Server()
    member(server, "bob", "Physics")
    alice = server.member("alice")
    alice.send(b"/join #PHYSICS\n")
    assert alice.received()[0] == "ROOM Physics"
    alice.send(b"/join physics\n")
    assert alice.received() == ["INFO you are already in Physics"]


def test_the_old_rooms_lines_come_before_the_new_room() -> None:
    server = Server()
    alice, bob = server.member("alice"), server.member("bob")
    alice.received()
    bob.send(b"still talking\n")
    alice.send(b"/join physics\n")  # in the same turn as bob's line
    lines = alice.received()
    assert lines[:2] == ["MSG bob still talking", "ROOM physics"]


# Isolation


def test_nothing_crosses_rooms() -> None:
    server = Server()
    lobby = [server.member("alice"), server.member("bob")]
    physics = [member(server, "carol", "physics"), member(server, "dave", "physics")]
    for connection in lobby + physics:
        connection.received()
    lobby[0].send(b"hello lobby\n")
    physics[0].send(b"hello physics\n")
    for connection in lobby:
        assert connection.received() == ["MSG alice hello lobby"]
    for connection in physics:
        assert connection.received() == ["MSG carol hello physics"]


def test_nothing_crosses_rooms_under_concurrent_traffic() -> None:
    # Many members in four rooms talking in the same turns, in random order:
    # each sees exactly its own room's lines, in one order shared by the room.
    randomly = random.Random(7)
    server = Server()
    rooms = ["lobby", "physics", "chemistry", "art"]
    members = {
        f"m{n}": member(server, f"m{n}", rooms[n % 4] if n % 4 else "")
        for n in range(24)
    }
    for connection in members.values():
        connection.received()
    said: dict[str, list[str]] = {room: [] for room in rooms}
    for turn in range(30):
        for nick in randomly.sample(sorted(members), 8):
            room = rooms[int(nick[1:]) % 4]
            members[nick].protocol.dataReceived(f"{room} {turn}\n".encode())
            said[room].append(f"MSG {nick} {room} {turn}")
        server.clock.advance(0)
    for nick, connection in members.items():
        room = rooms[int(nick[1:]) % 4]
        assert connection.received() == said[room], nick


# /rooms and /who


def test_rooms_lists_every_room_and_its_people() -> None:
    server = Server(rooms=("lobby", "art"))
    member(server, "alice"), member(server, "bob")
    member(server, "carol", "physics")
    dave = member(server, "dave", "Chemistry")
    dave.send(b"/rooms\n")
    assert dave.received() == ["ROOMS art 0 Chemistry 1 lobby 2 physics 1"]


def test_who_lists_the_current_room() -> None:
    server = Server()
    member(server, "alice"), member(server, "bob", "physics")
    carol = member(server, "carol", "physics")
    carol.send(b"/who\n")
    assert carol.received() == ["USERS bob carol"]


# Names


@pytest.mark.parametrize(
    "name",
    [
        "two words",
        "x" * 33,
        "semi;colon",
        "a.b",
        "\u3164",  # Hangul filler: renders as nothing
        "a\u200b",  # a zero-width space
        "e" + "\u0301" * 6,  # marks stacked over the neighbours' lines
    ],
)
def test_a_bad_room_name_is_refused_and_the_member_stays(name: str) -> None:
    server = Server()
    alice, bob = server.member("alice"), server.member("bob")
    alice.received()
    bob.send(f"/join {name}\n".encode())
    [error] = bob.received()
    assert error.startswith("ERROR room-invalid a room name is 1 to 32 ")
    bob.send(b"still here\n")
    assert alice.received() == ["MSG bob still here"]


def test_a_room_name_that_looks_like_another_is_refused() -> None:
    server = Server()
    member(server, "alice", "physics")
    bob = server.member("bob")
    bob.send("/join рhysics\n".encode())  # a Cyrillic р
    assert bob.received() == [
        "ERROR room-invalid рhysics looks too much like the room physics"
    ]
    assert server.rooms.get("рhysics") is None


def test_without_new_rooms_only_the_named_rooms_exist() -> None:
    server = Server(rooms=("lobby", "physics"), new_rooms=False)
    alice = server.member("alice")
    alice.send(b"/join chemistry\n")
    [error] = alice.received()
    assert error.startswith("ERROR no-such-room there is no room chemistry")
    alice.send(b"/join physics\n")
    assert alice.received()[0] == "ROOM physics"


def test_max_rooms_bounds_how_many_exist_at_once() -> None:
    server = Server(max_rooms=2)
    alice = member(server, "alice", "physics")
    alice.send(b"/join chemistry\n")
    [error] = alice.received()
    assert error.startswith("ERROR too-many-rooms the server has its maximum of 2")
    alice.send(b"/who\n")
    assert alice.received() == ["USERS alice"]  # still in physics


# Nicknames across rooms


def test_nicknames_are_unique_across_rooms() -> None:
    server = Server()
    member(server, "alice", "physics")
    for nick in ("alice", "ALICE", "аlice"):  # the last with a Cyrillic а
        connection = server.connect()
        connection.received()
        connection.send(nick.encode() + b"\n")
        assert connection.received()[0].startswith("ERROR nick-taken "), nick
    bob = server.member("bob")
    bob.send(b"/nick Alice\n")
    assert bob.received()[0].startswith("ERROR nick-taken ")


def test_a_nickname_is_free_again_once_its_member_quits() -> None:
    server = Server()
    alice = member(server, "alice", "physics")
    alice.send(b"/quit\n")
    assert server.member("Alice").received() == []


def test_msg_reaches_a_member_in_another_room() -> None:
    server = Server()
    alice, bob = server.member("alice"), member(server, "bob", "physics")
    carol = member(server, "carol", "physics")
    alice.received(), bob.received()
    alice.send(b"/msg BOB are you in physics?\n")
    assert (
        alice.received() == bob.received() == ["PRIVATE alice bob are you in physics?"]
    )
    assert carol.received() == []


def test_a_rename_is_seen_in_the_members_room_only() -> None:
    server = Server()
    alice, bob = server.member("alice"), member(server, "bob", "physics")
    alice.received()
    bob.send(b"/nick robert\n")
    assert bob.received() == ["RENAME bob robert"]
    assert alice.received() == []


# History per room


def test_history_and_ids_are_per_room() -> None:
    server = Server()
    alice = server.member("alice")
    alice.send(b"one\n/join physics\nin physics\n/join lobby\n")
    lobby = [(e.id, e.kind, *e.args) for e in server.room.history.recent(10)]
    physics = [
        (e.id, e.kind, *e.args)
        for e in server.rooms.get("physics").history.recent(10)  # type: ignore[union-attr]
    ]
    assert lobby == [
        (1, "JOIN", "alice"),
        (2, "MSG", "alice", "one"),
        (3, "LEAVE", "alice", "went to physics"),
        (4, "JOIN", "alice"),
    ]
    assert physics == [
        (1, "JOIN", "alice"),
        (2, "MSG", "alice", "in physics"),
        (3, "LEAVE", "alice", "went to lobby"),
    ]


def test_since_and_history_work_in_the_current_room() -> None:
    server = Server()
    bob = member(server, "bob", "physics")
    bob.send(b"p1\np2\n")
    alice = server.member("alice")
    alice.send(b"l1\n/join physics\n")
    alice.received()
    alice.send(b"/since 1\n")
    assert alice.received() == [
        f"HISTORY 2 {T0} MSG bob p1",
        f"HISTORY 3 {T0} MSG bob p2",
        f"HISTORY 4 {T0} JOIN alice",
        "HISTORY-END 4",
    ]
    alice.send(b"/history 1\n")
    assert alice.received() == [f"HISTORY 3 {T0} MSG bob p2", "HISTORY-END 4"]


def test_join_replay_and_live_lines_meet_without_gap_or_duplicate() -> None:
    server = Server(replay=100)
    bob = member(server, "bob", "physics")
    alice = server.member("alice")
    alice.send(b"/ids on\n")
    alice.received()
    for n in range(5):
        bob.protocol.dataReceived(b"before %d\n" % n)
    alice.protocol.dataReceived(b"/join physics\n")  # in the same turn
    bob.protocol.dataReceived(b"after\n")
    server.clock.advance(0)
    lines = alice.received()
    replayed = [int(line.split()[1]) for line in lines if line.startswith("HISTORY ")]
    live = [int(line.split()[1]) for line in lines if line.startswith("ID ")]
    [end] = [int(line.split()[1]) for line in lines if line.startswith("HISTORY-END")]
    assert replayed == list(range(1, end + 1))
    assert live == [end + 1, end + 2]  # its own JOIN, then "after"


def test_the_room_to_join_may_be_chosen_before_the_nickname() -> None:
    server = Server(replay=100)
    bob = member(server, "bob", "physics")
    bob.send(b"hi\n")
    alice = server.connect()
    alice.send(b"/ids on\n/since 1\n/join physics\nalice\n")
    assert alice.received() == [
        "NICK",
        "WELCOME alice to physics; type /help for commands",
        "ROOM physics",
        f"HISTORY 2 {T0} MSG bob hi",
        "HISTORY-END 2",
        "ID 3 JOIN alice",
        "USERS alice bob",
    ]


def test_a_room_chosen_before_the_nickname_may_be_refused() -> None:
    server = Server(new_rooms=False)
    alice = server.connect()
    alice.received()
    alice.send(b"/join no such\n")
    [error] = alice.received()
    assert error.startswith("ERROR room-invalid ")
    alice.send(b"/since 5\n/join chemistry\nalice\n")
    lines = alice.received()
    # The option's room does not exist: the default room, its usual replay.
    assert lines[0].startswith("ERROR no-such-room there is no room chemistry")
    assert lines[1:3] == [
        "WELCOME alice to lobby; type /help for commands",
        "ROOM lobby",
    ]


# Letting rooms go


def test_an_empty_room_made_on_the_fly_is_let_go_after_a_while() -> None:
    assert EMPTY_ROOM_LINGER == 600  # "ten minutes": README, docs/protocol.rst
    metrics = RecordedMetrics()
    server = Server(rooms=("lobby", "art"), metrics=metrics)
    alice = member(server, "alice", "physics")
    alice.send(b"/join lobby\n")
    server.clock.advance(EMPTY_ROOM_LINGER - 1)
    assert server.rooms.get("physics") is not None
    server.clock.advance(1)
    assert server.rooms.get("physics") is None
    assert server.rooms.get("art") is not None  # named rooms stay
    assert metrics.named("rooms_changed")[-2:] == [(3,), (2,)]
    # Made again, its ids go on from the time.
    server.clock.advance(10)
    alice.send(b"/join physics\n")
    physics = server.rooms.get("physics")
    assert physics is not None
    # Its JOIN is the first id after the time in milliseconds.
    assert physics.history.last_id == int(server.clock.seconds() * 1000) + 1


def test_shutdown_leaves_no_room_waiting_to_be_let_go() -> None:
    server = Server()
    alice = member(server, "alice", "physics")
    alice.send(b"/join lobby\n")  # physics is empty: let go in ten minutes
    assert server.clock.getDelayedCalls()
    server.server.shut_down()
    assert not server.clock.getDelayedCalls()


def test_a_named_room_is_never_let_go() -> None:
    server = Server(rooms=("lobby", "art"))
    alice = member(server, "alice", "art")
    alice.send(b"/join lobby\n")
    art = server.rooms.get("art")
    server.clock.advance(EMPTY_ROOM_LINGER * 2)
    assert server.rooms.get("art") is art


def test_the_named_rooms_must_be_valid_room_names() -> None:
    with pytest.raises(ChatError):
        Server(rooms=("lobby", "no spaces"))


def test_the_maker_of_a_new_room_is_saved_as_its_owner() -> None:
    saved: list[tuple[str, str]] = []
    stored: dict[str, RoomSettings] = {}

    class Recording(MemoryRoomStore):
        def open(self, key: str, name: str) -> Any:
            opened = super().open(key, name)
            return opened.addCallback(lambda made: (made[0], stored.get(key)))

        def save(self, key: str, name: str, settings: RoomSettings) -> None:
            saved.append((key, settings.owner))

    clock = Clock()
    rooms = Rooms(["lobby"], Recording(clock.seconds), clock)
    rooms.open("physics", maker="alice")
    assert saved == [("physics", "alice")]
    # A room with stored settings keeps them: nothing to save on opening.
    stored["maths"] = RoomSettings(owner="bob")
    rooms.open("maths", maker="carol")
    assert saved == [("physics", "alice")]
    maths = rooms.get("maths")
    assert maths is not None and maths.moderation.settings.owner == "bob"


def test_a_room_in_use_again_is_not_let_go() -> None:
    server = Server()
    alice = member(server, "alice", "physics")
    alice.send(b"/join lobby\n")
    server.clock.advance(EMPTY_ROOM_LINGER / 2)
    alice.send(b"/join physics\n")
    server.clock.advance(EMPTY_ROOM_LINGER)
    assert server.rooms.get("physics") is not None


# Metrics


def test_metrics_count_members_and_rooms_in_total() -> None:
    metrics = RecordedMetrics()
    server = Server(metrics=metrics)
    member(server, "alice"), member(server, "bob", "physics")
    carol = member(server, "carol", "art")
    assert metrics.named("members_changed")[-1] == (3,)
    assert metrics.named("rooms_changed")[-1] == (3,)
    carol.send(b"/quit\n")
    assert metrics.named("members_changed")[-1] == (2,)
