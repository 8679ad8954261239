"""
Lines a member sends together, in one read, go to the session together
(MemberSession.lines_received), and a run of plain lines to the room as one
post.  What every member sees must be what the same lines give one at a
time (as before lines_received): these tests compare the two over whole
scripts.
"""

from __future__ import annotations

import pytest
from helpers import Connection, RecordedMetrics, Server
from hypothesis import given, settings
from hypothesis import strategies as st

from chatproto import wire

MAX_LINE = 40

LINES = [
    b"hi",
    b"hello world",
    b"",
    b"   ",
    b"x\r",  # a CRLF line ending
    b"\x1b[31mred",
    b"\x1b[0m/me sneaks a command in",  # a command once cleaned
    b"//slashed",
    b"caf\xc3",
    b"tab\there",
    b"y" * MAX_LINE,
    b"w" * MAX_LINE + b"\r",
    b"z" * (MAX_LINE + 1),  # over the limit
    b"/me waves",
    b"/join other",
    b"/join lobby",
    b"/ids on",
    b"/ids off",
    b"/who",
    b"/nosuch",
    b"/nick alice2",
    b"/msg bob psst",
    b"/history",
    b"/quit",
]


def one_at_a_time(connection: Connection) -> None:
    # The reference: every line handed to the session on its own.
    connection.protocol.takeLines = lambda *args: []  # type: ignore[method-assign]


def run(
    lines: list[bytes], together: bool, rate: float, moderation: str
) -> tuple[object, ...]:
    metrics = RecordedMetrics()
    server = Server(metrics=metrics, max_line=MAX_LINE, rate=rate, burst=3)
    alice, bob = server.member("alice"), server.member("bob")
    if moderation == "slow":
        server.room.moderation.set_slow(5)
    elif moderation == "muted":
        server.room.moderation.mute("alice", None)
    if not together:
        one_at_a_time(alice)
    alice.send(b"".join(line + b"\n" for line in lines))
    for _ in range(20):  # what the rate held back
        server.clock.advance(1)
    history = [
        (event.id, event.time, event.kind, event.args)
        for event in server.room.history.recent(100)
    ]
    return (
        alice.received(),
        bob.received(),
        alice.closed,
        history,
        metrics.named("fanned_out"),
        metrics.named("throttled"),
    )


@settings(deadline=None, max_examples=300)
@given(
    lines=st.lists(st.sampled_from(LINES), max_size=30),
    rate=st.sampled_from([0, 2]),
    moderation=st.sampled_from(["none", "slow", "muted"]),
)
def test_lines_sent_together_give_what_they_give_one_at_a_time(
    lines: list[bytes], rate: float, moderation: str
) -> None:
    assert run(lines, True, rate, moderation) == run(lines, False, rate, moderation)


def test_a_read_of_lines_is_said_in_one_turn_and_in_order() -> None:
    server = Server(max_line=MAX_LINE)
    alice, bob = server.member("alice"), server.member("bob")
    bob.received()
    alice.send(b"one\r\n\x1b[1mtwo\n\n  \nthree\n")
    assert bob.received() == ["MSG alice one", "MSG alice two", "MSG alice three"]


def test_a_command_between_lines_acts_in_its_place() -> None:
    server = Server(max_line=MAX_LINE)
    alice, bob = server.member("alice"), server.member("bob")
    bob.received()
    alice.received()
    alice.send(b"before\n/join other\nin other\n/join lobby\nback\n")
    assert bob.received() == [
        "MSG alice before",
        "LEAVE alice went to other",
        "JOIN alice",
        "MSG alice back",
    ]
    assert "MSG alice in other" in alice.received()


def test_a_quit_ends_the_read() -> None:
    server = Server(max_line=MAX_LINE)
    alice, bob = server.member("alice"), server.member("bob")
    bob.received()
    alice.send(b"bye\n/quit\nnever\n")
    assert alice.closed
    assert bob.received() == ["MSG alice bye", "LEAVE alice"]


def test_the_rate_applies_to_each_line_of_a_read() -> None:
    server = Server(max_line=MAX_LINE, rate=1, burst=2)
    alice, bob = server.member("alice"), server.member("bob")
    bob.received()
    # The nickname line took a token: one of the burst is left.
    alice.send(b"one\ntwo\nthree\n")
    assert bob.received() == ["MSG alice one"]
    assert alice.protocol.paused, "over its rate, the member is not read"
    server.clock.advance(1)
    assert bob.received() == ["MSG alice two"]
    server.clock.advance(1)
    assert bob.received() == ["MSG alice three"]


def test_a_slow_room_answers_each_line_of_a_read() -> None:
    server = Server(max_line=MAX_LINE)
    alice, bob = server.member("alice"), server.member("bob")
    server.room.moderation.set_slow(30)
    bob.received()
    alice.received()
    alice.send(b"one\ntwo\n")
    assert bob.received() == ["MSG alice one"]
    assert alice.received()[-1].startswith("ERROR slow-mode ")


def test_a_flooders_read_waits_as_bytes_and_each_line_is_cleaned_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cleaned: list[str] = []
    clean_text = wire.clean_text

    def counting(text: str) -> str:
        cleaned.append(text)
        return clean_text(text)

    monkeypatch.setattr(wire, "clean_text", counting)
    server = Server(max_line=MAX_LINE, rate=10, burst=5)
    alice, bob = server.member("alice"), server.member("bob")
    bob.received()
    cleaned.clear()
    alice.send(b"".join(b"line %d\n" % n for n in range(500)))
    # Only what the rate lets through was taken from the read: the rest
    # waits in the framing, as bytes, not in the intake as lines.
    assert len(alice.session.intake._held) <= 1
    assert len(cleaned) <= 5
    for _ in range(600):
        server.clock.advance(0.1)
    assert bob.received() == [f"MSG alice line {n}" for n in range(500)]
    assert len(cleaned) <= 2 * 500, "no line is cleaned over and over"
