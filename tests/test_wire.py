import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from chatproto import wire
from chatproto.events import Event


def _is_control(char: str) -> bool:
    return unicodedata.category(char) == "Cc"


def test_clean_text_removes_controls_and_expands_tabs() -> None:
    assert wire.clean_text("a\tb\x1b[31mc\x00d\x07e\rf\x7fg\x85h\x9bi") == "a bcdefgh"


def test_clean_text_keeps_real_text() -> None:
    text = "zoë 李雷 👩‍👩‍👧 مرحبا e\u0301"
    assert wire.clean_text(text) == text


def test_clean_text_of_plain_ascii_lines() -> None:
    # Most lines are ASCII: they take a shorter way, with the same result.
    assert wire.clean_text("hello there") == "hello there"
    assert wire.clean_text("a\tb\x00c\x7f") == "a bc"
    assert wire.clean_text("red \x1b[31malert\x1b[0m!") == "red alert!"
    assert wire.clean_text("title \x1b]0;pwned\x07 done") == "title  done"


def _cleaned_the_long_way(text: str) -> str:
    return wire._ESCAPES.sub("", text).translate(wire._CLEAN_TABLE)


@given(st.text(alphabet=st.characters(max_codepoint=0x7F)))
def test_ascii_cleaned_as_the_long_way_would(text: str) -> None:
    assert wire.clean_text(text) == _cleaned_the_long_way(text)


@given(st.text())
def test_any_text_cleaned_as_the_long_way_would(text: str) -> None:
    assert wire.clean_text(text) == _cleaned_the_long_way(text)


def test_decode_replaces_invalid_utf8() -> None:
    assert wire.decode(b"caf\xc3") == "caf\ufffd"
    assert wire.decode(b"\xff ok") == "\ufffd ok"


# Lines as a read splits them: no line feed; bytes that UTF-8 sequences
# start, continue or cut, and carriage returns.
_LINE = st.lists(
    st.sampled_from(
        [b"a", b"\r", b"\xc3", b"\xa9", b"\xe2\x82", b"\xf0\x9f\x98", b"\xff"]
    )
).map(b"".join)


@given(st.lists(_LINE | st.binary().map(lambda data: data.replace(b"\n", b""))))
def test_decode_lines_as_one_line_at_a_time(lines: list[bytes]) -> None:
    assert wire.decode_lines(lines) == [
        wire.decode(line.removesuffix(b"\r")) for line in lines
    ]


def test_decode_lines_removes_one_carriage_return_and_keeps_bad_bytes_apart() -> None:
    assert wire.decode_lines([b"a\r\r", b"caf\xc3", b"\xa9!\r", b""]) == [
        "a\r",
        "caf\ufffd",
        "\ufffd!",
        "",
    ]


def test_incremental_decoder_joins_split_characters() -> None:
    decoder = wire.incremental_decoder()
    assert decoder.decode(b"caf\xc3") == "caf"
    assert decoder.decode(b"\xa9!") == "é!"


def test_encode_event() -> None:
    assert wire.encode_event(Event("MSG", "zoë", "hi there")) == (
        "MSG zoë hi there\r\n".encode()
    )
    assert wire.encode_event(Event("NICK")) == b"NICK\r\n"


def test_encode_event_encodes_once() -> None:
    event = Event("MSG", "alice", "hi")
    assert wire.encode_event(event) is wire.encode_event(event)


@given(st.text())
def test_cleaned_text_holds_no_control_character(text: str) -> None:
    assert not any(map(_is_control, wire.clean_text(text)))


@given(st.binary())
def test_any_bytes_become_clean_valid_text(data: bytes) -> None:
    text = wire.clean_text(wire.decode(data))
    assert not any(map(_is_control, text))
    text.encode("utf-8")  # no lone surrogates: encodable as UTF-8
