"""
The wire format: bytes from clients become clean text, events become lines.

Everything here is a pure function; the protocol in L{chatproto.protocol}
applies them to a connection.
"""

from __future__ import annotations

import codecs

from chatproto.room import Event

ENCODING = "utf-8"
NEWLINE = b"\r\n"
# The key under which this front end caches its rendering of an event.
_RENDERING = "line"

# Removed from text: C0 controls, DEL and C1 controls (terminal escapes and
# the like), and the bidi embeddings, overrides and isolates, which can make
# a line read differently from what it says.  A tab becomes a space.
_CONTROLS = [*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0)]
_BIDI_CONTROLS = [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]
_CLEAN_TABLE: dict[int, str | None] = dict.fromkeys(_CONTROLS + _BIDI_CONTROLS)
_CLEAN_TABLE[ord("\t")] = " "


def clean_text(text: str) -> str:
    """
    Remove control characters from decoded text.
    """
    return text.translate(_CLEAN_TABLE)


def decode(data: bytes) -> str:
    """
    Decode one complete line from a client; invalid UTF-8 becomes U+FFFD.
    """
    return data.decode(ENCODING, "replace")


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
