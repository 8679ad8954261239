"""
The line protocol, driven through StringTransport and a fake clock.
"""

from __future__ import annotations

import pytest
from helpers import Server
from twisted.internet.error import ConnectionLost
from twisted.python.failure import Failure

from chatproto.protocol import UNFRAMED_AFTER
from chatproto.session import MAX_NICK_ATTEMPTS, State

# Handshake


def test_first_line_is_nick() -> None:
    assert Server().connect().received() == ["NICK"]


def test_accepted_nickname_is_welcomed_announced_and_told_who_is_there() -> None:
    server = Server()
    alice = server.member("alice")
    bob = server.connect()
    bob.send(b"bob\n")
    assert bob.received() == [
        "NICK",
        "WELCOME bob to lobby; type /help for commands",
        "ROOM lobby",
        "JOIN bob",
        "USERS alice bob",
    ]
    assert alice.received() == ["JOIN bob"]
    assert bob.session.state is State.IN_ROOM


def test_unicode_nickname() -> None:
    server = Server()
    zoe = server.connect()
    zoe.send("zoë\r\n".encode())
    assert "JOIN zoë" in zoe.received()


@pytest.mark.parametrize(
    "line", [b"two words", b"a" * 25, b"bell\x07", b"caf\xc3", b"\x1b[31mred"]
)
def test_invalid_nickname_gets_error_and_new_prompt(line: bytes) -> None:
    connection = Server().connect()
    connection.received()
    connection.send(line + b"\n")
    [error, prompt] = connection.received()
    assert error.startswith("ERROR nick-invalid ")
    assert prompt == "NICK"
    assert not connection.closed


def test_taken_nickname_gets_error_and_new_prompt() -> None:
    server = Server()
    server.member("Alice")
    connection = server.connect()
    connection.received()
    connection.send("ａｌｉｃｅ\n".encode())
    assert connection.received() == [
        "ERROR nick-taken Alice is already here",
        "NICK",
    ]


def test_too_many_rejected_nicknames_close_the_connection() -> None:
    connection = Server().connect()
    connection.received()
    for _ in range(MAX_NICK_ATTEMPTS - 1):
        connection.send(b"no good\n")
    assert not connection.closed
    connection.send(b"no good\nalice\n")
    lines = connection.received()
    assert lines[-2].startswith("ERROR nick-invalid")
    assert lines[-1].startswith("ERROR too-many-attempts ")
    assert connection.closed
    assert connection.session.state is State.GONE


def test_blank_lines_before_the_nickname_are_ignored() -> None:
    server = Server()
    connection = server.connect()
    connection.received()
    connection.send(b"\n\r\n   \nalice\n")
    assert connection.received()[0] == "WELCOME alice to lobby; type /help for commands"


# Chatting


def test_message_goes_to_everyone_including_the_sender() -> None:
    server = Server()
    alice, bob = server.member("alice"), server.member("bob")
    alice.received()
    alice.send(b"hello there\r\n")
    assert alice.received() == bob.received() == ["MSG alice hello there"]


def test_everyone_sees_the_same_order() -> None:
    server = Server()
    members = [server.member(nick) for nick in ("a", "b", "c")]
    for member in members:
        member.received()
    members[0].send(b"one\n")
    members[2].send(b"two\nthree\n")
    members[1].send(b"four\n")
    expected = ["MSG a one", "MSG c two", "MSG c three", "MSG b four"]
    assert [member.received() for member in members] == [expected] * 3


def test_blank_lines_are_ignored() -> None:
    server = Server()
    alice = server.member("alice")
    alice.send(b"\n\r\n \t \n\x07\n")
    assert alice.received() == []


def test_text_is_cleaned() -> None:
    server = Server()
    alice = server.member("alice")
    alice.send(b"a\tb\x1b[2Jc\x00d\re\x07 caf\xff\n")
    assert alice.received() == ["MSG alice a bcde caf\ufffd"]


def test_character_split_across_reads_decodes() -> None:
    server = Server()
    alice = server.member("alice")
    alice.send(b"caf\xc3")
    alice.send(b"\xa9\n")
    assert alice.received() == ["MSG alice café"]


def test_double_slash_sends_a_literal_slash() -> None:
    server = Server()
    alice = server.member("alice")
    alice.send(b"//etc/passwd is a file\n")
    assert alice.received() == ["MSG alice /etc/passwd is a file"]


# Commands


def test_help() -> None:
    alice = Server().member("alice")
    alice.send(b"/help\n")
    lines = alice.received()
    assert len(lines) > 3
    assert all(line.startswith("INFO ") for line in lines)
    assert any("/msg" in line for line in lines)


def test_who() -> None:
    server = Server()
    server.member("bob")
    alice = server.member("alice")
    alice.send(b"/WHO\n")
    assert alice.received() == ["USERS alice bob"]


def test_me() -> None:
    server = Server()
    alice, bob = server.member("alice"), server.member("bob")
    bob.send(b"/me waves\n")
    assert alice.received() == ["JOIN bob", "ACTION bob waves"]
    assert bob.received() == ["ACTION bob waves"]


def test_msg_is_private() -> None:
    server = Server()
    alice, bob, carol = (server.member(n) for n in ("alice", "bob", "carol"))
    for member in (alice, bob, carol):
        member.received()
    alice.send(b"/msg Bob meet me at noon\n")
    assert alice.received() == bob.received() == ["PRIVATE alice bob meet me at noon"]
    assert carol.received() == []


def test_msg_unknown_nick() -> None:
    alice = Server().member("alice")
    alice.send(b"/msg nobody hi\n")
    [line] = alice.received()
    assert line.startswith("ERROR no-such-nick ")


@pytest.mark.parametrize("line", [b"/msg bob", b"/msg", b"/me", b"/nick", b"/me   "])
def test_commands_without_arguments_get_usage(line: bytes) -> None:
    server = Server()
    server.member("bob")
    alice = server.member("alice")
    alice.send(line + b"\n")
    [error] = alice.received()
    assert error.startswith("ERROR usage usage: /")


def test_unknown_command() -> None:
    alice = Server().member("alice")
    alice.send(b"/dance now\n")
    assert alice.received() == [
        "ERROR unknown-command no command /dance; /help lists the commands"
    ]


def test_nick_renames() -> None:
    server = Server()
    alice, bob = server.member("alice"), server.member("bob")
    alice.received()
    alice.send(b"/nick alicia\n")
    assert alice.received() == bob.received() == ["RENAME alice alicia"]
    bob.send(b"/msg alicia hi\n")
    assert alice.received() == ["PRIVATE bob alicia hi"]


def test_nick_change_of_case_is_allowed() -> None:
    server = Server()
    alice = server.member("alice")
    alice.send(b"/nick Alice\n")
    assert alice.received() == ["RENAME alice Alice"]


def test_nick_rejections_keep_the_old_nickname() -> None:
    server = Server()
    server.member("bob")
    alice = server.member("alice")
    alice.send(b"/nick BOB\n/nick b o b\n")
    [taken, invalid] = alice.received()
    assert taken.startswith("ERROR nick-taken ")
    assert invalid.startswith("ERROR nick-invalid ")
    alice.send(b"still me\n")
    assert alice.received() == ["MSG alice still me"]


def test_quit_with_reason() -> None:
    server = Server()
    alice, bob = server.member("alice"), server.member("bob")
    alice.received()
    alice.send(b"/quit time for lunch\nlost line\n")
    assert bob.received() == ["LEAVE alice time for lunch"]
    assert alice.received() == []
    assert alice.closed


def test_quit_without_reason() -> None:
    server = Server()
    alice, bob = server.member("alice"), server.member("bob")
    alice.send(b"/quit\n")
    assert bob.received() == ["LEAVE alice"]


# Leaving


def test_clean_disconnect_leaves_once() -> None:
    server = Server()
    alice, bob = server.member("alice"), server.member("bob")
    alice.transport.loseConnection()
    assert bob.received() == ["LEAVE alice connection closed"]
    assert server.room.nicknames() == ["bob"]


def test_failed_connection_leaves_once() -> None:
    server = Server()
    alice, bob = server.member("alice"), server.member("bob")
    alice.protocol.connectionLost(Failure(ConnectionLost()))
    alice.protocol.connectionLost(Failure(ConnectionLost()))
    assert bob.received() == ["LEAVE alice connection lost"]


def test_disconnect_before_joining_tells_nobody() -> None:
    server = Server()
    bob = server.member("bob")
    connection = server.connect()
    connection.send(b"ali")
    connection.transport.loseConnection()
    assert bob.received() == []
    assert not server.clock.getDelayedCalls()


# Long lines


def test_line_at_the_limit_passes_crlf_not_counted() -> None:
    server = Server(max_line=10)
    alice = server.member("alice")
    alice.send(b"0123456789\r\n0123456789\n")
    assert alice.received() == ["MSG alice 0123456789"] * 2


def test_long_line_in_one_read_is_reported_and_the_next_arrives() -> None:
    server = Server(max_line=10)
    alice, bob = server.member("alice"), server.member("bob")
    alice.received()
    alice.send(b"01234567890\nnext\n")
    assert alice.received() == [
        "ERROR line-too-long lines are limited to 10 bytes; discarded",
        "MSG alice next",
    ]
    assert bob.received() == ["MSG alice next"]
    assert not alice.closed


def test_long_line_over_many_reads_is_discarded_to_its_end() -> None:
    server = Server(max_line=10)
    alice = server.member("alice")
    for _ in range(10):
        alice.send(b"x" * 7)
    alice.send(b"xx\nnext")
    alice.send(b"\n")
    assert alice.received() == [
        "ERROR line-too-long lines are limited to 10 bytes; discarded",
        "MSG alice next",
    ]


def test_several_long_lines_in_one_read() -> None:
    server = Server(max_line=4)
    alice = server.member("bo")
    alice.send(b"aaaaaa\nok\nbbbbbbb\r\nfine\n")
    lines = alice.received()
    assert [line.split()[0] for line in lines] == ["ERROR", "MSG", "ERROR", "MSG"]
    assert lines[1] == "MSG bo ok" and lines[3] == "MSG bo fine"


def test_long_nickname_counts_as_a_rejected_attempt() -> None:
    server = Server(max_line=10)
    connection = server.connect()
    connection.received()
    connection.send(b"a" * 40 + b"\n")
    assert [line.split()[0] for line in connection.received()] == ["ERROR", "NICK"]
    connection.send(b"alice\n")
    assert "JOIN alice" in connection.received()


# Clients that never send line endings


def test_unframed_client_is_served() -> None:
    server = Server()
    alice = server.member("alice")
    seed = server.connect()
    seed.received()
    seed.send(b"bob")
    server.clock.advance(UNFRAMED_AFTER - 0.01)
    assert seed.received() == []
    server.clock.advance(0.02)
    assert "JOIN bob" in seed.received()
    seed.send(b"bob: hello everyone")
    seed.send(b"second message")
    assert alice.received() == [
        "JOIN bob",
        "MSG bob bob: hello everyone",
        "MSG bob second message",
    ]


def test_unframed_nickname_arriving_in_pieces() -> None:
    server = Server()
    seed = server.connect()
    seed.send(b"bo")
    server.clock.advance(UNFRAMED_AFTER * 0.9)
    seed.send(b"b")
    server.clock.advance(UNFRAMED_AFTER * 0.9)
    assert server.room.nicknames() == []
    server.clock.advance(UNFRAMED_AFTER * 0.2)
    assert server.room.nicknames() == ["bob"]


def test_unframed_burst_with_line_endings_is_several_messages() -> None:
    server = Server()
    seed = server.connect()
    seed.send(b"bob")
    server.clock.advance(UNFRAMED_AFTER)
    seed.received()
    seed.send(b"one\r\ntwo\n")
    assert seed.received() == ["MSG bob one", "MSG bob two"]


def test_unframed_character_split_across_bursts_decodes() -> None:
    server = Server()
    seed = server.connect()
    seed.send(b"bob")
    server.clock.advance(UNFRAMED_AFTER)
    seed.received()
    seed.send(b"caf\xc3")
    seed.send(b"\xa9")
    assert seed.received() == ["MSG bob caf", "MSG bob é"]


def test_unframed_rejected_nickname_can_try_again() -> None:
    server = Server()
    seed = server.connect()
    seed.received()
    seed.send(b"bad nick")
    server.clock.advance(UNFRAMED_AFTER)
    assert seed.received()[1] == "NICK"
    seed.send(b"bob")
    assert "JOIN bob" in seed.received()


def test_unframed_long_burst_is_refused() -> None:
    server = Server(max_line=10)
    seed = server.connect()
    seed.send(b"bob")
    server.clock.advance(UNFRAMED_AFTER)
    seed.received()
    seed.send(b"x" * 11)
    seed.send(b"short")
    assert seed.received() == [
        "ERROR line-too-long lines are limited to 10 bytes; discarded",
        "MSG bob short",
    ]


def test_framed_client_stays_framed_however_slow() -> None:
    server = Server()
    alice = server.connect()
    alice.send(b"ali")
    server.clock.advance(UNFRAMED_AFTER * 0.5)
    alice.send(b"ce\n")
    alice.received()
    for piece in (b"he", b"llo wo", b"rld"):
        alice.send(piece)
        server.clock.advance(UNFRAMED_AFTER * 10)
    assert alice.received() == []
    alice.send(b"\n")
    assert alice.received() == ["MSG alice hello world"]
    assert not server.clock.getDelayedCalls()
