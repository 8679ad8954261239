"""
What a chatproto server says about itself on the local network: the DNS-SD
TXT record of its C{_chatproto._tcp} service (docs/protocol.rst, "Finding
servers on the local network").

Pure data: no sockets, no threads.  Both directions are bounded, and reading
a record that someone else sent never raises, whatever it holds.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

SERVICE_TYPE = "_chatproto._tcp.local."
# The line protocol of docs/protocol.rst.  A server that speaks an
# incompatible one would announce another number.
PROTOCOL_VERSION = "1"
TXT_VERSION = "1"

# A DNS label (the instance name) holds at most 63 bytes.
MAX_NAME_BYTES = 63
# The record stays well inside one multicast DNS packet (RFC 6763 6.2
# suggests under 1300 bytes; this is at most about 700).
MAX_ROOMS_LISTED = 10
MAX_ROOM_NAME_BYTES = 40
# Counts are whole numbers of at most this many digits.
_MAX_DIGITS = 9


@dataclass(frozen=True)
class RoomCount:
    name: str
    people: int


@dataclass(frozen=True)
class Announcement:
    """
    A server's self-description.

    @ivar rooms: the rooms listed in the record: the most populated ones, at
        most L{MAX_ROOMS_LISTED}.
    @ivar room_count: how many rooms the server has, listed or not.
    @ivar people: how many people are in all its rooms.
    """

    name: str
    rooms: tuple[RoomCount, ...]
    room_count: int
    people: int
    tls: bool
    protocol: str = PROTOCOL_VERSION


def clean(text: str) -> str:
    """
    C{text} without control, format (bidi) or line-separator characters,
    which could garble a terminal or a tab-separated listing.
    """
    return "".join(
        " " if char == "\t" else char
        for char in text
        if char == "\t" or unicodedata.category(char) not in ("Cc", "Cf", "Zl", "Zp")
    ).strip()


def truncate(text: str, limit: int) -> str:
    """C{text} cut to at most C{limit} bytes of UTF-8, on a character boundary."""
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[:limit].decode("utf-8", "ignore").rstrip()


def describe(name: str, rooms: Iterable[tuple[str, int]], tls: bool) -> Announcement:
    """The bounded announcement of a server with these rooms."""
    counts = [
        RoomCount(truncate(clean(room), MAX_ROOM_NAME_BYTES), max(0, int(people)))
        for room, people in rooms
    ]
    listed = sorted(counts, key=lambda room: (-room.people, room.name))
    return Announcement(
        name=truncate(clean(name), MAX_NAME_BYTES) or "chatproto",
        rooms=tuple(listed[:MAX_ROOMS_LISTED]),
        room_count=len(counts),
        people=sum(room.people for room in counts),
        tls=tls,
    )


def to_txt(announcement: Announcement) -> dict[str, str]:
    """The TXT record's key=value pairs."""
    txt = {
        "txtvers": TXT_VERSION,
        "proto": announcement.protocol,
        "name": announcement.name,
        "tls": "1" if announcement.tls else "0",
        "rooms": str(announcement.room_count),
        "people": str(announcement.people),
    }
    for number, room in enumerate(announcement.rooms, 1):
        txt[f"room{number}"] = f"{room.people} {room.name}"
    return txt


def _text(value: bytes | None, limit: int) -> str:
    if not value:
        return ""
    return truncate(clean(value[: limit * 4].decode("utf-8", "replace")), limit)


def _count(value: bytes | None) -> int:
    text = (value or b"").strip()
    if not text.isdigit() or len(text) > _MAX_DIGITS:
        return 0
    return int(text)


def from_txt(properties: Mapping[bytes, bytes | None], fallback: str) -> Announcement:
    """
    Read a TXT record as zeroconf hands it over; C{fallback} names a server
    whose record has no usable name.  Unknown keys are ignored (RFC 6763:
    keys are case-insensitive).
    """
    txt = {key.lower(): value for key, value in properties.items()}
    rooms = []
    for number in range(1, MAX_ROOMS_LISTED + 1):
        value = txt.get(f"room{number}".encode())
        if not value:
            continue
        count, _, name = value.partition(b" ")
        room = _text(name, MAX_ROOM_NAME_BYTES)
        if room:
            rooms.append(RoomCount(room, _count(count)))
    listed_people = sum(room.people for room in rooms)
    return Announcement(
        name=_text(txt.get(b"name"), MAX_NAME_BYTES)
        or truncate(clean(fallback), MAX_NAME_BYTES),
        rooms=tuple(rooms),
        room_count=max(_count(txt.get(b"rooms")), len(rooms)),
        people=max(_count(txt.get(b"people")), listed_people),
        tls=txt.get(b"tls") == b"1",
        protocol=_text(txt.get(b"proto"), 8),
    )
