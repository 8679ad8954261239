"""
The chat domain on its own: no sockets, no bytes.
"""

from __future__ import annotations

import pytest

from chatproto.commands import handle_input
from chatproto.errors import ChatError
from chatproto.fanout import Batch
from chatproto.room import Event, Participant, Room


class Inbox:
    def __init__(self) -> None:
        self.events: list[Event] = []
        self.disconnected = False

    def deliver(self, event: Event) -> None:
        self.events.append(event)

    def deliver_batch(self, batch: Batch) -> None:
        for event in batch.events:
            self.deliver(event)

    def disconnect(self) -> None:
        self.disconnected = True

    def take(self) -> list[tuple[str, ...]]:
        events, self.events = self.events, []
        return [(event.kind, *event.args) for event in events]


def join(room: Room, nick: str) -> tuple[Participant, Inbox]:
    inbox = Inbox()
    participant = room.join(inbox, nick)
    inbox.take()
    return participant, inbox


def test_join_welcomes_announces_and_lists() -> None:
    room = Room("lobby")
    _, alice_inbox = join(room, "alice")
    bob_inbox = Inbox()
    room.join(bob_inbox, "bob")
    assert bob_inbox.take() == [
        ("WELCOME", "bob", "to lobby; type /help for commands"),
        ("JOIN", "bob"),
        ("USERS", "alice", "bob"),
    ]
    assert alice_inbox.take() == [("JOIN", "bob")]


def test_taken_nickname_is_refused_regardless_of_case() -> None:
    room = Room("lobby")
    join(room, "alice")
    for nick in ("alice", "ALICE", "ａｌｉｃｅ"):
        with pytest.raises(ChatError) as caught:
            room.join(Inbox(), nick)
        assert caught.value.code == "nick-taken"
    assert room.nicknames() == ["alice"]


def test_users_are_sorted_without_regard_to_case() -> None:
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


def test_leave_tells_the_others_once() -> None:
    room = Room("lobby")
    alice, alice_inbox = join(room, "alice")
    _, bob_inbox = join(room, "bob")
    alice_inbox.take()
    alice.leave("bye")
    alice.leave("again")
    assert bob_inbox.take() == [("LEAVE", "alice", "bye")]
    assert alice_inbox.take() == []
    assert room.find("alice") is None


def test_leave_without_reason() -> None:
    room = Room("lobby")
    alice, _ = join(room, "alice")
    _, bob_inbox = join(room, "bob")
    alice.leave()
    assert bob_inbox.take() == [("LEAVE", "alice")]


def test_a_leaving_nickname_can_be_taken_again() -> None:
    room = Room("lobby")
    alice, _ = join(room, "alice")
    alice.leave()
    join(room, "Alice")
    assert room.nicknames() == ["Alice"]


def test_rename_frees_the_old_nickname() -> None:
    room = Room("lobby")
    alice, alice_inbox = join(room, "alice")
    alice.rename("alicia")
    assert alice_inbox.take() == [("RENAME", "alice", "alicia")]
    join(room, "alice")
    with pytest.raises(ChatError):
        join(room, "ALICIA")


def test_a_failing_recipient_does_not_cost_the_others_their_message() -> None:
    class Broken(Inbox):
        def deliver(self, event: Event) -> None:
            if event.kind == "MSG":
                raise RuntimeError("broken connection")

    room = Room("lobby")
    room.join(Broken(), "broken")
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

    echo_inbox = Echo()
    echo = room.join(echo_inbox, "echo")
    alice, alice_inbox = join(room, "alice")
    _, bob_inbox = join(room, "bob")
    alice_inbox.take()
    echo_inbox.take()
    alice.say("ping")
    expected = [("MSG", "alice", "ping"), ("MSG", "echo", "pong")]
    assert echo_inbox.take() == alice_inbox.take() == bob_inbox.take() == expected


def test_private_message_goes_to_target_and_sender_only() -> None:
    room = Room("lobby")
    alice, alice_inbox = join(room, "alice")
    _, bob_inbox = join(room, "bob")
    _, carol_inbox = join(room, "carol")
    alice_inbox.take()
    bob_inbox.take()
    alice.tell("BOB", "psst")
    assert (
        bob_inbox.take() == alice_inbox.take() == [("PRIVATE", "alice", "bob", "psst")]
    )
    assert carol_inbox.take() == []


def test_private_message_to_self_arrives_once() -> None:
    room = Room("lobby")
    alice, alice_inbox = join(room, "alice")
    alice.tell("alice", "note")
    assert alice_inbox.take() == [("PRIVATE", "alice", "alice", "note")]


def test_commands_drive_the_room() -> None:
    room = Room("lobby")
    alice, alice_inbox = join(room, "alice")
    handle_input(alice, "//slash")
    handle_input(alice, "/ME waves")
    handle_input(alice, "/who")
    assert alice_inbox.take() == [
        ("MSG", "alice", "/slash"),
        ("ACTION", "alice", "waves"),
        ("USERS", "alice"),
    ]
    with pytest.raises(ChatError) as caught:
        handle_input(alice, "/dance")
    assert caught.value.code == "unknown-command"


def test_quit_leaves_and_asks_the_front_end_to_hang_up() -> None:
    room = Room("lobby")
    alice, alice_inbox = join(room, "alice")
    _, bob_inbox = join(room, "bob")
    handle_input(alice, "/quit gone fishing")
    assert bob_inbox.take() == [("LEAVE", "alice", "gone fishing")]
    assert alice_inbox.disconnected
    assert room.nicknames() == ["bob"]
