"""
LinesReceiver: the same lines and calls as Twisted's LineReceiver, from one
split a read.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

import pytest
from twisted.internet.testing import StringTransport
from twisted.protocols.basic import LineReceiver

from chatproto.framing import LinesReceiver


class Recording:
    """
    Records every call out of the framing; lines that are commands make
    lineReceived do what a protocol may do from inside it.
    """

    MAX_LENGTH = 12

    def __init__(self) -> None:
        self.calls: list[tuple[str, bytes]] = []

    def lineReceived(self, line: bytes) -> object:
        self.calls.append(("line", line))
        if line == b"PAUSE":
            self.pauseProducing()
        elif line == b"RAW":
            self.setRawMode()
        elif line == b"STOP":
            return "stopped"
        elif line == b"QUIT":
            self.transport.loseConnection()
        elif line == b"CLEAR":
            self.calls.append(("cleared", self.clearLineBuffer()))
        elif line == b"CLEAR+FEED":
            self.calls.append(("cleared", self.clearLineBuffer()))
            self.dataReceived(b"after" + self.delimiter)
        elif line.startswith(b"FEED"):
            # A read arriving while this line is handled: b"FEED x" feeds
            # b"x" and a delimiter.
            self.dataReceived(line[5:] + self.delimiter)
        return None

    def rawDataReceived(self, data: bytes) -> None:
        # Raw data up to LINES is raw; what follows is lines again.
        raw, marker, rest = data.partition(b"LINES")
        self.calls.append(("raw", raw))
        if marker:
            self.setLineMode(rest)

    def lineLengthExceeded(self, line: bytes) -> str:
        # Unlike the default, keep the connection, to go on comparing.
        self.calls.append(("exceeded", line))
        return "exceeded"


class Ours(Recording, LinesReceiver):
    pass


class Twisteds(Recording, LineReceiver):
    pass


def connected(cls: type[Recording], delimiter: bytes = b"\n") -> Recording:
    receiver = cls()
    receiver.delimiter = delimiter  # type: ignore[attr-defined]
    # Lenient: random reads may pause after a QUIT, as a real transport allows.
    receiver.makeConnection(StringTransport(lenient=True))  # type: ignore[attr-defined]
    return receiver


def feed(data: bytes, delimiter: bytes = b"\n") -> Ours:
    receiver = connected(Ours, delimiter)
    receiver.dataReceived(data)  # type: ignore[attr-defined]
    return receiver  # type: ignore[return-value]


def lines_of(receiver: Recording) -> list[bytes]:
    return [value for kind, value in receiver.calls if kind == "line"]


# Each behaviour of LineReceiver.dataReceived, on its own


def test_lines_in_order_and_the_incomplete_tail_kept() -> None:
    receiver = feed(b"a\n\nbc\r\nd")
    assert lines_of(receiver) == [b"a", b"", b"bc\r"]
    assert receiver._buffer == b"d"
    receiver.dataReceived(b"e\nf")
    assert lines_of(receiver)[3:] == [b"de"]
    assert receiver._buffer == b"f"


def test_a_delimiter_split_across_reads() -> None:
    receiver = feed(b"a\r", delimiter=b"\r\n")
    receiver.dataReceived(b"\nb\r\nc")
    assert lines_of(receiver) == [b"a", b"b"]
    assert receiver._buffer == b"c"


def test_a_read_from_inside_lineReceived_comes_after_the_lines_before_it() -> None:
    receiver = feed(b"FEED x\nb\nc\nta")
    assert lines_of(receiver) == [b"FEED x", b"b", b"c", b"tax"]
    assert receiver._buffer == b""


def test_pause_keeps_the_rest_and_resume_goes_on() -> None:
    receiver = feed(b"a\nPAUSE\nb\nc\nta")
    assert lines_of(receiver) == [b"a", b"PAUSE"]
    assert receiver._buffer == b"b\nc\nta"
    receiver.dataReceived(b"il\nd\n")
    assert lines_of(receiver) == [b"a", b"PAUSE"]
    assert receiver._buffer == b"b\nc\ntail\nd\n"
    receiver.resumeProducing()
    assert lines_of(receiver) == [b"a", b"PAUSE", b"b", b"c", b"tail", b"d"]
    assert receiver._buffer == b""


def test_pause_keeps_a_read_that_arrived_meanwhile_after_the_rest() -> None:
    receiver = feed(b"FEED x\nPAUSE\nb\nta")
    assert receiver._buffer == b"b\ntax\n"


def test_raw_mode_gets_the_rest_of_the_buffer() -> None:
    receiver = feed(b"a\nRAW\nb\nc\nta")
    assert receiver.calls == [
        ("line", b"a"),
        ("line", b"RAW"),
        ("raw", b"b\nc\nta"),
    ]
    assert receiver._buffer == b""


def test_back_to_line_mode_from_raw_mode_in_the_same_read() -> None:
    receiver = feed(b"RAW\nxyLINESb\nc\nd")
    assert receiver.calls == [
        ("line", b"RAW"),
        ("raw", b"xy"),
        ("line", b"b"),
        ("line", b"c"),
    ]
    assert receiver._buffer == b"d"


def test_overlong_complete_line_gets_the_rest_of_the_buffer() -> None:
    overlong = b"x" * (Ours.MAX_LENGTH + 1)
    receiver = connected(Ours)
    why = receiver.dataReceived(b"a\n" + overlong + b"\nb\nta")  # type: ignore[attr-defined]
    assert receiver.calls == [("line", b"a"), ("exceeded", overlong + b"\nb\nta")]
    assert why == "exceeded"
    assert receiver._buffer == b""  # type: ignore[attr-defined]


def test_line_at_max_length_passes() -> None:
    longest = b"x" * Ours.MAX_LENGTH
    receiver = feed(longest + b"\nb\n")
    assert lines_of(receiver) == [longest, b"b"]


@pytest.mark.parametrize("delimiter", [b"\n", b"\r\n"])
def test_overlong_tail_is_exceeded_once_it_could_not_be_a_line(
    delimiter: bytes,
) -> None:
    limit = Ours.MAX_LENGTH + len(delimiter)
    receiver = feed(b"a" + delimiter + b"x" * (limit - 1), delimiter)
    assert receiver.calls == [("line", b"a")]
    receiver.dataReceived(b"x")
    assert receiver.calls == [("line", b"a"), ("exceeded", b"x" * limit)]
    assert receiver._buffer == b""


def test_lineReceived_return_value_stops_and_keeps_the_rest() -> None:
    receiver = connected(Ours)
    why = receiver.dataReceived(b"a\nSTOP\nb\nta")  # type: ignore[attr-defined]
    assert why == "stopped"
    assert lines_of(receiver) == [b"a", b"STOP"]
    assert receiver._buffer == b"b\nta"  # type: ignore[attr-defined]


def test_disconnecting_transport_stops_and_keeps_the_rest() -> None:
    receiver = feed(b"a\nQUIT\nb\nta")
    assert receiver.transport.disconnecting
    assert lines_of(receiver) == [b"a", b"QUIT"]
    assert receiver._buffer == b"b\nta"


def test_clear_line_buffer_from_inside_lineReceived_takes_the_unhanded_lines() -> None:
    receiver = feed(b"a\nCLEAR\nb\nc\nta")
    assert receiver.calls == [
        ("line", b"a"),
        ("line", b"CLEAR"),
        ("cleared", b"b\nc\nta"),
    ]
    assert receiver._buffer == b""
    receiver.dataReceived(b"d\n")
    assert lines_of(receiver)[2:] == [b"d"]


def test_clear_line_buffer_from_inside_lineReceived_takes_a_read_meanwhile() -> None:
    receiver = feed(b"FEED x\nCLEAR\nFEED y\nb\nta")
    assert receiver.calls == [
        ("line", b"FEED x"),
        ("line", b"CLEAR"),
        ("cleared", b"FEED y\nb\ntax\n"),
    ]
    assert receiver._buffer == b""


def test_a_read_after_clear_line_buffer_inside_lineReceived_is_handled() -> None:
    receiver = feed(b"a\nCLEAR+FEED\nb\nta")
    assert receiver.calls == [
        ("line", b"a"),
        ("line", b"CLEAR+FEED"),
        ("cleared", b"b\nta"),
        ("line", b"after"),
    ]
    assert receiver._buffer == b""


def test_clear_line_buffer_between_reads() -> None:
    receiver = feed(b"a\nbc")
    assert receiver.clearLineBuffer() == b"bc"
    assert receiver._buffer == b""


# The same as LineReceiver, over many random reads


WORDS = [b"a", b"", b"hello", b"x" * Recording.MAX_LENGTH, b"y" * 20, b"FEED f"]
COMMANDS = [b"PAUSE", b"RAW", b"STOP", b"CLEAR", b"CLEAR+FEED", b"QUIT"]


def random_stream(rng: random.Random, delimiter: bytes) -> bytes:
    pieces = []
    for _ in range(rng.randrange(1, 40)):
        if rng.random() < 0.1:
            pieces.append(rng.choice(COMMANDS))
        elif rng.random() < 0.05:
            pieces.append(b"zzLINES")  # leaves raw mode, if in it
        else:
            pieces.append(rng.choice(WORDS))
    stream = delimiter.join(pieces)
    if rng.random() < 0.5:
        stream += delimiter
    if rng.random() < 0.1:
        stream += b"t" * rng.randrange(30)  # an incomplete, maybe overlong, tail
    return stream


def random_reads(rng: random.Random, stream: bytes) -> list[bytes]:
    positions = range(len(stream) + 1)
    cuts = sorted(rng.sample(positions, min(rng.randrange(6), len(positions))))
    bounds = [0, *cuts, len(stream)]
    return [stream[start:end] for start, end in zip(bounds, bounds[1:], strict=False)]


def run(
    cls: type[Recording], delimiter: bytes, reads: list[bytes], resumes: list[bool]
) -> tuple[list[object], list[tuple[str, bytes]]]:
    receiver = connected(cls, delimiter)
    outcomes: list[object] = []
    for data, resume in zip(reads, resumes, strict=True):
        outcomes.append(receiver.dataReceived(data))  # type: ignore[attr-defined]
        outcomes.append(receiver._buffer)  # type: ignore[attr-defined]
        if resume and receiver.paused:  # type: ignore[attr-defined]
            receiver.resumeProducing()  # type: ignore[attr-defined]
            outcomes.append(receiver._buffer)  # type: ignore[attr-defined]
    outcomes.append(receiver.clearLineBuffer())  # type: ignore[attr-defined]
    return outcomes, receiver.calls


@pytest.mark.parametrize("delimiter", [b"\n", b"\r\n"])
def test_same_calls_as_line_receiver_over_random_reads(delimiter: bytes) -> None:
    rng = random.Random(20240517)
    for _ in range(1500):
        stream = random_stream(rng, delimiter)
        reads = random_reads(rng, stream)
        resumes = [rng.random() < 0.7 for _ in reads]
        expected = run(Twisteds, delimiter, reads, resumes)
        assert run(Ours, delimiter, reads, resumes) == expected, (reads, resumes)


# Linear: one split of the read, not one a line


@contextmanager
def bytes_split(scanned: list[int]) -> Iterator[None]:
    # The profiler sees calls of C methods with the method itself, bound to
    # the bytes it splits.
    def profile(frame: FrameType, event: str, arg: object) -> None:
        if event == "c_call" and getattr(arg, "__name__", None) == "split":
            bound = getattr(arg, "__self__", None)
            if isinstance(bound, bytes):
                scanned.append(len(bound))

    sys.setprofile(profile)
    try:
        yield
    finally:
        sys.setprofile(None)


def test_one_read_of_many_lines_is_split_once() -> None:
    read = b"some message\n" * 2000 + b"tail"
    ours, twisteds = connected(Ours), connected(Twisteds)
    ours_scanned: list[int] = []
    twisteds_scanned: list[int] = []
    with bytes_split(ours_scanned):
        ours.dataReceived(read)  # type: ignore[attr-defined]
    with bytes_split(twisteds_scanned):
        twisteds.dataReceived(read)  # type: ignore[attr-defined]
    assert ours.calls == twisteds.calls
    assert ours_scanned == [len(read)]
    # The measure sees LineReceiver's copying: the rest of the read, a line.
    assert sum(twisteds_scanned) > 500 * len(read)


# takeLines: a receiver takes the rest of a read's lines at once


class Taking(Ours):
    """On a line b"TAKE", takes the read's next lines (up to MAX_LENGTH)."""

    def lineReceived(self, line: bytes) -> object:
        if line == b"TAKE":
            self.calls.append(("took", b"|".join(self.takeLines(self.MAX_LENGTH))))
            return None
        if line == b"TAKE2":
            taken = self.takeLines(self.MAX_LENGTH, 2)
            self.calls.append(("took", b"|".join(taken)))
            return None
        if line == b"TAKE+BACK":
            taken = self.takeLines(self.MAX_LENGTH)
            self.putBackLines(taken[1:])
            self.calls.append(("took", taken[0]))
            return None
        return super().lineReceived(line)


def take(*reads: bytes) -> Taking:
    receiver = connected(Taking)
    for data in reads:
        receiver.dataReceived(data)  # type: ignore[attr-defined]
    return receiver  # type: ignore[return-value]


def test_take_lines_takes_the_rest_of_the_read_in_order_once() -> None:
    receiver = take(b"a\nTAKE\nb\n\nc\nta", b"il\nd\n")
    assert receiver.calls == [
        ("line", b"a"),
        ("took", b"b||c"),
        ("line", b"tail"),
        ("line", b"d"),
    ]
    assert receiver._buffer == b""


def test_take_lines_stops_before_an_overlong_line() -> None:
    overlong = b"x" * (Recording.MAX_LENGTH + 1)
    receiver = take(b"TAKE\nb\n" + overlong + b"\nafter\n")
    assert receiver.calls == [("took", b"b"), ("exceeded", overlong + b"\nafter\n")]


def test_take_lines_takes_a_line_at_the_limit() -> None:
    at_limit = b"x" * Recording.MAX_LENGTH
    receiver = take(b"TAKE\n" + at_limit + b"\nc\n")
    assert receiver.calls == [("took", at_limit + b"|c")]


def test_take_lines_outside_a_read_or_at_its_last_line_takes_nothing() -> None:
    receiver = take(b"a\nTAKE\n")
    assert receiver.takeLines(100) == []
    assert receiver.calls == [("line", b"a"), ("took", b"")]


def test_taken_lines_are_not_cleared_again_and_a_read_meanwhile_waits() -> None:
    receiver = connected(Taking)

    def line_received(line: bytes) -> None:
        receiver.calls.append(("line", line))
        if line == b"go":
            receiver.dataReceived(b"meanwhile\n")  # type: ignore[attr-defined]
            receiver.calls.append(("took", b"|".join(receiver.takeLines(100))))
            receiver.calls.append(("cleared", receiver.clearLineBuffer()))  # type: ignore[attr-defined]

    receiver.lineReceived = line_received  # type: ignore[method-assign]
    receiver.dataReceived(b"go\nb\nc\ntail")  # type: ignore[attr-defined]
    assert receiver.calls == [
        ("line", b"go"),
        ("took", b"b|c"),
        ("cleared", b"tailmeanwhile\n"),
    ]


def test_take_lines_takes_at_most_its_limit() -> None:
    receiver = take(b"TAKE2\nb\nc\nd\nTAKE2\ne\n")
    assert receiver.calls == [
        ("took", b"b|c"),
        ("line", b"d"),
        ("took", b"e"),
    ]
    overlong = b"x" * (Recording.MAX_LENGTH + 1)
    receiver = take(b"TAKE2\nb\n" + overlong + b"\nc\n")
    assert receiver.calls[0] == ("took", b"b")


def test_lines_put_back_are_handed_out_next_in_order() -> None:
    receiver = take(b"TAKE+BACK\nb\nc\nPAUSE\nd\ntail")
    assert receiver.calls == [("took", b"b"), ("line", b"c"), ("line", b"PAUSE")]
    assert receiver.clearLineBuffer() == b"d\ntail"


def test_more_lines_says_whether_the_read_has_lines_left() -> None:
    receiver = connected(Taking)
    seen: list[bool] = []

    def line_received(line: bytes) -> None:
        seen.append(receiver.moreLines)  # type: ignore[attr-defined]

    receiver.lineReceived = line_received  # type: ignore[method-assign]
    receiver.dataReceived(b"a\nb\ntail")  # type: ignore[attr-defined]
    assert seen == [True, False]
    assert not receiver.moreLines  # type: ignore[attr-defined]
