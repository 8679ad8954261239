"""
A room on its own: no sessions, no sockets, no bytes.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from chatproto.events import Batch, Event
from chatproto.history import MemoryHistory
from chatproto.room import HISTORY_PAGE_MAX, SINCE_PAGE, Participant, Room


class Inbox:
    """
    The least a member is, for a room: a nickname and a place for events.
    """

    def __init__(self, nick: str) -> None:
        self.nick = nick
        self.key = nick.casefold()
        self.events: list[Event] = []
        self.batches: list[Batch] = []
        self.more = 0  # the last replay's: the id a catch-up goes on from

    def deliver(self, event: Event) -> None:
        self.events.append(event)

    def deliver_batch(self, batch: Batch) -> None:
        self.batches.append(batch)
        for event in batch.events:
            self.deliver(event)

    def replay(self, entries: Sequence[Event], last_id: int, more: int) -> None:
        self.events.append(Event("REPLAYED", *(str(e.id) for e in entries)))
        self.more = more

    def take(self) -> list[tuple[str, ...]]:
        events, self.events = self.events, []
        return [(event.kind, *event.args) for event in events]


def join(room: Room, nick: str) -> tuple[Participant, Inbox]:
    inbox = Inbox(nick)
    participant = room.join(inbox)
    inbox.take()
    return participant, inbox


def test_join_names_the_room_announces_and_lists() -> None:
    room = Room("physics", replay_count=5)
    _, alice_inbox = join(room, "alice")
    bob_inbox = Inbox("bob")
    room.join(bob_inbox)
    assert bob_inbox.take() == [
        ("ROOM", "physics"),
        ("REPLAYED", "1"),
        ("JOIN", "bob"),
        ("USERS", "alice", "bob"),
    ]
    assert alice_inbox.take() == [("JOIN", "bob")]


def test_users_are_sorted_by_their_keys() -> None:
    room = Room("lobby")
    for nick in ("carol", "Bob", "alice"):
        join(room, nick)
    assert room.nicknames() == ["alice", "Bob", "carol"]


def test_message_reaches_everyone_with_the_same_event_object() -> None:
    room = Room("lobby")
    alice, alice_inbox = join(room, "alice")
    _, bob_inbox = join(room, "bob")
    alice_inbox.take()
    alice.say("hi")
    [to_alice], [to_bob] = alice_inbox.events, bob_inbox.events
    assert to_alice is to_bob  # formatted once, whatever the front end
    assert (to_alice.kind, to_alice.args) == ("MSG", ("alice", "hi"))


def test_batches_say_which_room_they_come_from() -> None:
    room = Room("physics")
    alice, alice_inbox = join(room, "alice")
    alice.say("hi")
    assert alice_inbox.batches
    assert {batch.room for batch in alice_inbox.batches} == {"physics"}


def test_leave_tells_the_others_once() -> None:
    room = Room("lobby")
    alice, alice_inbox = join(room, "alice")
    _, bob_inbox = join(room, "bob")
    alice_inbox.take()
    alice.leave("bye")
    alice.leave("again")
    assert bob_inbox.take() == [("LEAVE", "alice", "bye")]
    assert alice_inbox.take() == []
    assert room.nicknames() == ["bob"]


def test_leave_without_reason() -> None:
    room = Room("lobby")
    alice, _ = join(room, "alice")
    _, bob_inbox = join(room, "bob")
    alice.leave()
    assert bob_inbox.take() == [("LEAVE", "alice")]


def test_membership_changes_are_reported() -> None:
    room = Room("lobby")
    sizes: list[int] = []
    room.on_change = lambda changed: sizes.append(len(changed))
    alice, _ = join(room, "alice")
    join(room, "bob")
    alice.leave()
    assert sizes == [1, 2, 1]


def test_a_failing_recipient_does_not_cost_the_others_their_message() -> None:
    class Broken(Inbox):
        def deliver(self, event: Event) -> None:
            if event.kind == "MSG":
                raise RuntimeError("broken connection")

    room = Room("lobby")
    room.join(Broken("broken"))
    alice, alice_inbox = join(room, "alice")
    _, bob_inbox = join(room, "bob")
    alice_inbox.take()
    alice.say("still here")
    assert alice_inbox.take() == bob_inbox.take() == [("MSG", "alice", "still here")]


def test_events_posted_during_a_fan_out_keep_one_order_for_everyone() -> None:
    room = Room("lobby")

    class Echo(Inbox):
        """Answers the first message while the fan-out is still going."""

        def deliver(self, event: Event) -> None:
            super().deliver(event)
            if event.args == ("alice", "ping"):
                echo.say("pong")

    echo_inbox = Echo("echo")
    echo = room.join(echo_inbox)
    alice, alice_inbox = join(room, "alice")
    _, bob_inbox = join(room, "bob")
    alice_inbox.take()
    echo_inbox.take()
    alice.say("ping")
    expected = [("MSG", "alice", "ping"), ("MSG", "echo", "pong")]
    assert echo_inbox.take() == alice_inbox.take() == bob_inbox.take() == expected


def test_close_lets_everyone_go_without_leave_notices() -> None:
    room = Room("lobby")
    alice, alice_inbox = join(room, "alice")
    _, bob_inbox = join(room, "bob")
    room.close()
    alice.leave("too late")
    assert len(room) == 0
    assert bob_inbox.take() == []


def test_show_history_asks_for_one_to_a_page_of_entries() -> None:
    room = Room("lobby")
    alice, _ = join(room, "alice")
    for n in range(HISTORY_PAGE_MAX + 5):
        alice.say(f"line {n}")
    bob, bob_inbox = join(room, "bob")
    # Out-of-range counts are clamped, not trusted: 0 is one entry, a huge
    # count one page.
    assert bob.show_history(0) == 1
    assert bob.show_history(10_000) == HISTORY_PAGE_MAX
    [(kind, *ids), *_] = bob_inbox.take()
    assert (kind, len(ids)) == ("REPLAYED", 1)


def test_a_room_replays_nothing_on_join_unless_told_to() -> None:
    room = Room("lobby")
    alice, _ = join(room, "alice")
    alice.say("hi")
    bob_inbox = Inbox("bob")
    room.join(bob_inbox)
    assert [kind for kind, *_ in bob_inbox.take()] == ["ROOM", "JOIN", "USERS"]


def test_a_catch_up_of_exactly_a_page_says_there_is_no_more() -> None:
    room = Room("lobby")
    alice, alice_inbox = join(room, "alice")
    for n in range(SINCE_PAGE + 1):
        alice.say(f"line {n}")
    first = room.history.last_id - SINCE_PAGE
    assert alice.catch_up(first) == SINCE_PAGE
    assert alice_inbox.more == 0
    assert alice.catch_up(first - 1) == SINCE_PAGE
    assert alice_inbox.more == room.history.last_id - 1


def test_everyone_is_handed_the_same_batch_of_a_turn() -> None:
    room = Room("lobby")
    alice, alice_inbox = join(room, "alice")
    _, bob_inbox = join(room, "bob")
    alice.say("hi")
    # One batch object for all: its encoding is done once, not per member.
    assert alice_inbox.batches[-1] is bob_inbox.batches[-1]


def test_deliveries_left_by_one_that_raised_go_first_next_time() -> None:
    """
    A delivery that raised (here: the history's durable copy) leaves the
    ones queued behind it; they go out, in order, before the next one.
    """
    room: Room

    def persist(event: Event) -> None:
        if event.args == ("alice", "first"):
            room.post(Event("MSG", "alice", "queued behind it"))
            raise OSError("disk full")

    room = Room("physics", history=MemoryHistory(persist=persist))
    _, bob = join(room, "bob")
    with pytest.raises(OSError):
        room.post(Event("MSG", "alice", "first"))
    room.post(Event("MSG", "alice", "next"))
    assert bob.take() == [
        ("MSG", "alice", "queued behind it"),
        ("MSG", "alice", "next"),
    ]


def test_post_all_is_posting_each_in_order_with_one_time() -> None:
    now = [100.0]
    room = Room("lobby", now=lambda: now.pop(0) if len(now) > 1 else now[0])
    alice, alice_inbox = join(room, "alice")
    _, bob_inbox = join(room, "bob")
    alice_inbox.take()
    first = room.history.last_id + 1
    now[:] = [200.0, 300.0]
    alice.say_all(["one", "two", "three"])
    assert bob_inbox.take() == [("MSG", "alice", t) for t in ("one", "two", "three")]
    assert len(bob_inbox.batches[-1].events) == 3, "one turn, one batch"
    entries = room.history.recent(3)
    assert [entry.id for entry in entries] == [first, first + 1, first + 2]
    assert {entry.time for entry in entries} == {200.0}


def test_post_all_fans_out_what_was_appended_before_one_raised() -> None:
    def persist(event: Event) -> None:
        if event.args[-1] == "bad":
            raise OSError("disk full")

    room = Room("physics", history=MemoryHistory(persist=persist))
    alice, _ = join(room, "alice")
    _, bob = join(room, "bob")
    with pytest.raises(OSError):
        alice.say_all(["good", "bad", "never"])
    assert bob.take() == [("MSG", "alice", "good")]
    alice.say("next")
    assert bob.take() == [("MSG", "alice", "next")]
