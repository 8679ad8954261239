"""
Property-based tests of framing and cleaning: any stream, split anywhere.
"""

from __future__ import annotations

import unicodedata

from helpers import Server
from hypothesis import given, settings
from hypothesis import strategies as st

from chatproto import wire

MAX_LINE = 64

# Chat lines: any bytes but line endings, not starting with "/" (commands),
# at most MAX_LINE bytes.
chat_lines = st.binary(max_size=MAX_LINE - 1).map(
    lambda data: b"m" + data.replace(b"\n", b"").replace(b"\r", b"")
)


def split_at(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({cut % (len(data) + 1) for cut in cuts})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]


def expected_text(line: bytes) -> str:
    return wire.clean_text(wire.decode(line))


@settings(deadline=None, max_examples=200)
@given(
    lines=st.lists(chat_lines, max_size=12),
    endings=st.lists(st.sampled_from([b"\n", b"\r\n"]), min_size=12, max_size=12),
    cuts=st.lists(st.integers(min_value=0), max_size=30),
)
def test_any_split_yields_the_same_lines(
    lines: list[bytes], endings: list[bytes], cuts: list[int]
) -> None:
    server = Server(max_line=MAX_LINE)
    alice = server.member("alice")
    stream = b"".join(line + end for line, end in zip(lines, endings, strict=False))
    for piece in split_at(stream, cuts):
        alice.send(piece)
        server.clock.advance(1)  # slowness never splits or merges lines
    expected = [
        f"MSG alice {text}" for text in map(expected_text, lines) if text.strip()
    ]
    assert alice.received() == expected


@settings(deadline=None, max_examples=200)
@given(data=st.binary(max_size=400), cuts=st.lists(st.integers(min_value=0)))
def test_whatever_arrives_every_line_sent_is_clean(
    data: bytes, cuts: list[int]
) -> None:
    server = Server(max_line=MAX_LINE)
    alice, bob = server.member("alice"), server.member("bob")
    stranger = server.connect()
    for piece in split_at(data, cuts):
        alice.send(piece)
        stranger.send(piece)
    server.clock.advance(1)
    for connection in (alice, bob, stranger):
        raw = connection.transport.value()
        assert raw.endswith(b"\r\n")
        for line in raw.split(b"\r\n")[:-1]:
            text = line.decode("utf-8")  # strict: valid UTF-8
            assert not any(unicodedata.category(c) == "Cc" for c in text), text
    # Bob saw the same room events as Alice, in the same order (Alice may
    # have sent /quit, so hers can be a prefix of his).
    broadcast = ("MSG ", "ACTION ", "RENAME ", "JOIN ", "LEAVE ")
    alice_view = [line for line in alice.received() if line.startswith(broadcast)]
    bob_view = [line for line in bob.received() if line.startswith(broadcast)]
    assert alice_view[0] == "JOIN bob"
    assert bob_view[: len(alice_view) - 1] == alice_view[1:]
