"""
The wire format: bytes from clients become clean text, events become lines.

Everything here is a pure function; the protocol in L{chatproto.protocol}
applies them to a connection.
"""

from __future__ import annotations

import codecs
import re
import time
from collections.abc import Sequence

from chatproto.events import Batch, Event

ENCODING = "utf-8"
NEWLINE = b"\r\n"
# The keys under which this front end caches its renderings of an event: the
# plain line, the line with its id (/ids on), and the line in a replay.
_RENDERING = "line"
_NUMBERED = "id"
_HISTORY = "history"

# Removed from text: C0 controls, DEL and C1 controls (terminal escapes and
# the like), and the bidi embeddings, overrides and isolates, which can make
# a line read differently from what it says.  A tab becomes a space.
_CONTROLS = [*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0)]
_BIDI_CONTROLS = [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]
_CLEAN_TABLE: dict[int, str | None] = dict.fromkeys(_CONTROLS + _BIDI_CONTROLS)
_CLEAN_TABLE[ord("\t")] = " "


# Terminal escape sequences (ECMA-48), removed whole so that no part of one
# reaches a screen: CSI (ESC [ or U+009B, parameters, intermediates, a final
# byte), OSC, DCS, SOS, PM and APC strings (ESC ] P X ^ _ or their C1 forms,
# up to BEL or ST, or the end of the text), and the other escape sequences
# (ESC, intermediates, a final byte).  A sequence cut off by the end of the
# text goes too.
_ESCAPES = re.compile(
    r"(?:\x1b\[|\x9b)[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]?"
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])"
    r"[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
    r"|\x1b[\x20-\x2f]*[\x30-\x7e]?"
)


def clean_text(text: str) -> str:
    """
    Remove terminal escape sequences and control characters from decoded
    text.
    """
    if text.isascii():  # O(1) in CPython: most lines, checked cheaply
        if text.isprintable():
            return text  # nothing to remove: no ESC, no control, no tab
        if "\x1b" not in text:  # every other introducer is outside ASCII
            return text.translate(_CLEAN_TABLE)
    return _ESCAPES.sub("", text).translate(_CLEAN_TABLE)


def decode(data: bytes) -> str:
    """
    Decode one complete line from a client; invalid UTF-8 becomes U+FFFD.
    """
    return data.decode(ENCODING, "replace")


def decode_lines(lines: list[bytes]) -> list[str]:
    """
    Decode complete lines, each with any C{\\r} of its line ending removed:
    C{[decode(line.removesuffix(b"\\r")) for line in lines]}, in one pass.
    """
    # Each line ends with a line feed, which no UTF-8 sequence contains, so
    # a bad sequence is replaced within its own line, as decoding the lines
    # one by one would; the CR that ends a line is then always "\r\n".
    if not lines:
        return []
    text = (b"\n".join(lines) + b"\n").decode(ENCODING, "replace")
    texts = text.replace("\r\n", "\n").split("\n")
    texts.pop()
    return texts


def incremental_decoder() -> codecs.IncrementalDecoder:
    """
    A decoder for a stream whose characters may be split across reads (an
    unframed client's bursts).
    """
    return codecs.getincrementaldecoder(ENCODING)("replace")


def encode_event(event: Event) -> bytes:
    """
    The line that carries C{event}, with its line ending.

    The result is cached on the event, so that a fan-out encodes each line
    once and writes the same bytes to every member.
    """
    data = event.rendered.get(_RENDERING)
    if data is None:
        data = event.rendered[_RENDERING] = (
            " ".join((event.kind, *event.args)).encode(ENCODING) + NEWLINE
        )
    return data


def encode_numbered(event: Event) -> bytes:
    """
    The line that carries room event C{event} to a member that asked for
    ids: C{ID <id> <line>}.  Cached on the event like L{encode_event}.
    """
    data = event.rendered.get(_NUMBERED)
    if data is None:
        data = event.rendered[_NUMBERED] = b"ID %d %s" % (
            event.id,
            encode_event(event),
        )
    return data


def encode_batch(batch: Batch, numbered: bool) -> bytes:
    """
    The lines that carry the room events of C{batch}, with ids if
    C{numbered}.  Cached on the batch, which members often share.
    """
    key = _NUMBERED if numbered else _RENDERING
    data = batch.rendered.get(key)
    if data is None:
        encode = encode_numbered if numbered else encode_event
        data = batch.rendered[key] = b"".join(map(encode, batch.events))
    return data


def encode_history(event: Event) -> bytes:
    """
    The line that replays history entry C{event}:
    C{HISTORY <id> <time> <line>}, the time in UTC, ISO 8601, to the second.
    Cached on the event, which stays in the history.
    """
    data = event.rendered.get(_HISTORY)
    if data is None:
        data = event.rendered[_HISTORY] = b"HISTORY %d %s %s" % (
            event.id,
            format_time(event.time).encode("ascii"),
            encode_event(event),
        )
    return data


def encode_replay(entries: Sequence[Event], last_id: int, more: int = 0) -> list[bytes]:
    """
    The lines of a replay: one C{HISTORY} line per entry, C{HISTORY-MORE
    <id>} if the history holds more after entry C{more}, then
    C{HISTORY-END <last id>}.
    """
    lines = [encode_history(event) for event in entries]
    if more:
        lines.append(b"HISTORY-MORE %d\r\n" % more)
    lines.append(b"HISTORY-END %d\r\n" % last_id)
    return lines


def format_time(seconds: float) -> str:
    """
    C{seconds} since the epoch as UTC ISO 8601: C{2026-11-21T18:02:11Z}.
    """
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))
