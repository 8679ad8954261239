"""
What a hostile or confused client still got through, each shut: flood
control before the nickname and on errors, commands before the nickname,
bounded numbers and replays, invisible names, terminal escapes, and the
limits' exact boundaries.  Through StringTransport and a fake clock.
"""

from __future__ import annotations

import pytest
from helpers import Server

from chatproto.commands import HELP_BEFORE_NICK
from chatproto.events import Event
from chatproto.limits import SendQueue
from chatproto.room import SINCE_PAGE
from chatproto.session import MAX_LINES_BEFORE_NICK, MAX_NICK_ATTEMPTS


def errors(lines: list[str]) -> list[str]:
    return [line for line in lines if line.startswith("ERROR ")]


# Flood control before the nickname


def test_lines_before_the_nickname_are_rate_limited() -> None:
    server = Server(rate=5, burst=10)
    chatty = server.connect()
    chatty.received()
    chatty.send(b"/ids on\n" * 20)
    assert [line.split()[1] for line in errors(chatty.received())] == ["rate-limited"]
    assert chatty.transport.producerState == "paused"  # TCP pushes back
    server.clock.advance(1)
    assert chatty.transport.producerState == "paused"  # 5 more, of 10 waiting
    server.clock.advance(1)
    assert chatty.transport.producerState == "producing"


def test_a_client_that_never_chooses_a_nickname_is_dropped() -> None:
    server = Server()  # even with flood control off
    chatty = server.connect()
    chatty.received()
    chatty.send(b"/ids on\n" * MAX_LINES_BEFORE_NICK)
    assert not chatty.closed
    chatty.send(b"/ids on\n")
    [error] = chatty.received()
    assert error.startswith("ERROR flood ")
    assert chatty.closed


def test_error_replies_count_against_the_rate() -> None:
    server = Server(rate=5, burst=3, max_line=10)
    alice = server.member("alice")
    server.clock.advance(1)
    alice.send(b"much too long for the limit\n" * 50)
    lines = alice.received()
    assert (
        lines.count("ERROR line-too-long lines are limited to 10 bytes; discarded") == 3
    )
    assert errors(lines)[-1].startswith("ERROR rate-limited ")
    assert alice.transport.producerState == "paused"
    for _ in range(5):
        server.clock.advance(0.2)
    assert len(errors(alice.received())) == 5  # then at the rate


def test_exactly_a_burst_at_once_is_not_throttled() -> None:
    server = Server(rate=5, burst=10)
    alice, bob = server.member("alice"), server.member("bob")
    server.clock.advance(10)
    alice.received()
    alice.send(b"".join(b"line %d\n" % n for n in range(10)))
    assert errors(alice.received()) == []
    assert len(bob.received()) == 10
    alice.send(b"one more\n")
    assert errors(alice.received())[0].startswith("ERROR rate-limited ")


# Commands before the nickname


def test_help_before_the_nickname_says_what_may_be_sent() -> None:
    connection = Server().connect()
    connection.received()
    connection.send(b"/help\n")
    assert connection.received() == [f"INFO {line}" for line in HELP_BEFORE_NICK]
    assert not connection.closed


def test_quit_before_the_nickname_quits() -> None:
    connection = Server().connect()
    connection.received()
    connection.send(b"/QUIT\n")
    assert connection.received() == []
    assert connection.closed


def test_other_commands_before_the_nickname_are_not_nickname_attempts() -> None:
    server = Server()
    connection = server.connect()
    connection.received()
    connection.send(b"/who\n" * (MAX_NICK_ATTEMPTS + 1))
    lines = connection.received()
    assert len(lines) == MAX_NICK_ATTEMPTS + 1
    assert all(line.startswith("ERROR nick-required /who works once") for line in lines)
    assert not connection.closed
    connection.send(b"/dance\nalice\n")
    lines = connection.received()
    assert lines[0].startswith("ERROR unknown-command ")
    assert lines[1].startswith("WELCOME alice ")


def test_rooms_may_be_listed_before_the_nickname() -> None:
    server = Server()
    server.member("alice")
    connection = server.connect()
    connection.received()
    connection.send(b"/rooms\n")
    assert connection.received() == ["ROOMS lobby 1"]


def test_join_options_are_not_case_sensitive() -> None:
    server = Server(replay=0)
    server.member("bob").send(b"hi\n")
    alice = server.connect()
    alice.send(b"/IDS ON\n/SINCE 0\n/JOIN LOBBY\nalice\n")
    lines = alice.received()
    assert errors(lines) == []
    assert "HISTORY 2 1970-01-01T00:00:00Z MSG bob hi" in lines
    assert "ID 3 JOIN alice" in lines


# Numbers


@pytest.mark.parametrize(
    "line",
    [
        "/since " + "9" * 5000,
        "/since " + "1" * 20,
        "/history " + "9" * 5000,
        "/history 101",
        "/history 0",
    ],
)
def test_every_number_is_bounded(line: str) -> None:
    server = Server(max_line=10_000)
    alice = server.member("alice")
    alice.send(line.encode() + b"\n")
    [error] = alice.received()
    assert error.startswith("ERROR usage ")
    alice.send(b"still here\n")
    assert alice.received() == ["MSG alice still here"]


def test_a_huge_number_before_the_nickname_is_an_error_too() -> None:
    connection = Server(max_line=10_000).connect()
    connection.received()
    connection.send(b"/since " + b"9" * 5000 + b"\nalice\n")
    lines = connection.received()
    assert lines[0].startswith("ERROR usage ")
    assert lines[1].startswith("WELCOME alice ")


# Replays


def fill(server: Server, count: int) -> None:
    for number in range(count):
        server.room.post(Event("MSG", "talker", f"m{number}"))
    server.clock.advance(0)


def test_since_replays_a_page_and_says_there_is_more() -> None:
    server = Server()
    fill(server, 2000)
    alice = server.member("alice")
    alice.send(b"/since 0\n")
    lines = alice.received()
    history = [line for line in lines if line.startswith("HISTORY ")]
    assert len(history) == SINCE_PAGE
    last = int(history[-1].split()[1])
    assert lines[-2:] == [f"HISTORY-MORE {last}", "HISTORY-END 2001"]
    alice.send(b"/since %d\n" % last)
    lines = alice.received()
    assert int(lines[0].split()[1]) == last + 1
    assert len(lines) == SINCE_PAGE + 2


def test_a_join_replay_by_id_is_paged_too() -> None:
    server = Server()
    fill(server, 1000)
    alice = server.connect()
    alice.send(b"/since 0\nalice\n")
    lines = alice.received()
    history = [line for line in lines if line.startswith("HISTORY ")]
    assert len(history) == SINCE_PAGE
    # More from the last entry shown.
    last = history[-1].split()[1]
    assert [line for line in lines if line.startswith("HISTORY-MORE")] == [
        f"HISTORY-MORE {last}"
    ]


def test_replayed_entries_cost_tokens() -> None:
    server = Server(rate=5, burst=20)
    fill(server, 2000)
    alice = server.member("alice")
    server.clock.advance(10)
    alice.received()
    alice.send(b"/since 0\n/since 0\n/since 0\n")
    lines = alice.received()
    # Each costs its line and a token per 50 entries, 1 + 10: the third
    # waits until the bucket, at -2, is back to 1: 3 tokens at 5 a second.
    assert lines.count(f"HISTORY-MORE {SINCE_PAGE}") == 2
    assert errors(lines)[0].startswith("ERROR rate-limited ")
    server.clock.advance(0.59)
    assert alice.received() == []
    server.clock.advance(0.01)
    assert alice.received().count(f"HISTORY-MORE {SINCE_PAGE}") == 1


# Invisible and degenerate names


@pytest.mark.parametrize(
    "nick",
    [
        "\u3164",  # HANGUL FILLER
        "\uffa0",  # HALFWIDTH HANGUL FILLER
        "\u115f",  # HANGUL CHOSEONG FILLER
        "\u3164\u3164",
        "alice\u3164",  # padded
        "\u115falice",
        "a\u200bb",  # ZERO WIDTH SPACE
        "a\u2060b",  # WORD JOINER
        "a\u034f",  # COMBINING GRAPHEME JOINER: a mark that renders as nothing
        "a" + "\u0301" * 20,
        "a\u0301\u0301",  # the same mark twice renders as one
        "a\u0300\u0301\u0302\u0303\u0304",  # five different marks on one letter
    ],
)
def test_invisible_or_degenerate_nicknames_are_refused(nick: str) -> None:
    connection = Server().connect()
    connection.received()
    connection.send(nick.encode() + b"\n")
    assert connection.received()[0].startswith("ERROR nick-invalid ")


@pytest.mark.parametrize(
    "nick",
    ["Nguye\u0323\u0302n", "हिन्दी", "שָׁלוֹם", "zoë", "李雷", "Ana_María"],
)
def test_real_names_with_marks_are_accepted(nick: str) -> None:
    connection = Server().connect()
    connection.received()
    connection.send(nick.encode() + b"\n")
    assert (
        connection.received()[0] == f"WELCOME {nick} to lobby; type /help for commands"
    )


# Terminal escapes


@pytest.mark.parametrize(
    ("sent", "shown"),
    [
        (b"\x1b[31mred\x1b[0m text", "MSG alice red text"),
        (b"\x1b]0;pwned\x07title", "MSG alice title"),
        (b"\x1b]8;;http://evil\x1b\\link\x1b]8;;\x1b\\", "MSG alice link"),
        (b"a\x1b[1;2;3;4Hb\x1b[?25lc", "MSG alice abc"),
        ("a\u009b31mb".encode(), "MSG alice ab"),
        (b"/me \x1b[5mblinks", "ACTION alice blinks"),
        (b"cut \x1b[3", "MSG alice cut "),
    ],
)
def test_whole_escape_sequences_are_removed(sent: bytes, shown: str) -> None:
    alice = Server().member("alice")
    alice.send(sent + b"\n")
    assert alice.received() == [shown]


def test_escapes_are_removed_from_quit_reasons_and_private_messages() -> None:
    server = Server()
    alice, bob = server.member("alice"), server.member("bob")
    alice.received()
    bob.send(b"/msg alice \x1b[2Jpsst\n/quit \x1b]0;x\x07bye\n")
    assert alice.received() == ["PRIVATE bob alice psst", "LEAVE bob bye"]


# Exact boundaries (each caught by a mutation no test noticed)


class Recorder:
    def __init__(self) -> None:
        self.data: list[bytes] = []
        self.producer: object = None

    def write(self, data: bytes) -> None:
        self.data.append(data)

    def registerProducer(self, producer: object, streaming: bool) -> None:
        self.producer = producer

    def unregisterProducer(self) -> None:
        self.producer = None


def test_a_send_queue_exactly_full_keeps_its_member() -> None:
    overflowed: list[bool] = []
    queue = SendQueue(Recorder(), 100, lambda: overflowed.append(True))  # type: ignore[arg-type]
    queue.pauseProducing()
    queue.write(b"x" * 60)
    queue.write(b"x" * 40)
    assert queue.queued == 100 and not overflowed
    queue.write(b"x")
    assert overflowed


def test_a_send_queue_that_drains_starts_counting_again() -> None:
    # A member whose socket fills now and then must not be dropped for what
    # it has long since read.
    overflowed: list[bool] = []
    transport = Recorder()
    queue = SendQueue(transport, 100, lambda: overflowed.append(True))  # type: ignore[arg-type]
    for _ in range(10):
        queue.pauseProducing()
        queue.write(b"x" * 60)
        queue.resumeProducing()
    assert queue.queued == 0 and not overflowed
    assert len(b"".join(transport.data)) == 600


def test_nicknames_are_found_with_full_case_folding() -> None:
    server = Server()
    strasse = server.member("straße")
    alice = server.member("alice")
    alice.send(b"/msg STRASSE hallo\n")
    assert strasse.received() == ["JOIN alice", "PRIVATE alice straße hallo"]
    taken = server.connect()
    taken.received()
    taken.send(b"STRASSE\n")
    assert taken.received()[0].startswith("ERROR nick-taken ")


def test_the_handshake_timer_stops_once_joined() -> None:
    server = Server(handshake_timeout=5)
    alice = server.member("alice")
    server.clock.advance(10)
    assert not alice.closed
    assert server.clock.getDelayedCalls() == []
