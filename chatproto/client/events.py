"""Server lines parsed into small event objects (see docs/protocol.rst)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from chatproto import errors


@dataclass(frozen=True)
class NickRequest:
    """``NICK``: the server asks for a nickname."""


@dataclass(frozen=True)
class Welcome:
    nick: str
    text: str


@dataclass(frozen=True)
class Joined:
    nick: str


@dataclass(frozen=True)
class Users:
    nicks: tuple[str, ...]


@dataclass(frozen=True)
class Message:
    nick: str
    text: str


@dataclass(frozen=True)
class Action:
    nick: str
    text: str


@dataclass(frozen=True)
class Private:
    sender: str
    recipient: str
    text: str


@dataclass(frozen=True)
class Renamed:
    old: str
    new: str


@dataclass(frozen=True)
class Left:
    nick: str
    reason: str


@dataclass(frozen=True)
class Info:
    text: str


@dataclass(frozen=True)
class Error:
    code: str
    text: str


# The lines the room keeps in its history and numbers with ids.
RoomEvent = Joined | Message | Action | Renamed | Left
ROOM_EVENTS = (Joined, Message, Action, Renamed, Left)


@dataclass(frozen=True)
class Numbered:
    """``ID <id> <line>``: a live room line with its id (after ``/ids on``)."""

    id: int
    event: RoomEvent


@dataclass(frozen=True)
class Historic:
    """``HISTORY <id> <time> <line>``: a room line said before, replayed."""

    id: int
    time: datetime  # when it was said, timezone-aware (UTC)
    event: RoomEvent


@dataclass(frozen=True)
class HistoryEnd:
    """``HISTORY-END <id>``: the end of a replay; ``id`` is the newest room line."""

    id: int


Event = (
    NickRequest
    | Welcome
    | Joined
    | Users
    | Message
    | Action
    | Private
    | Renamed
    | Left
    | Info
    | Error
    | Numbered
    | Historic
    | HistoryEnd
)

# The error codes, as the server defines them (docs/protocol.rst).
NICK_REJECTIONS = errors.NICK_REJECTIONS
FATAL_ERRORS = errors.FATAL_ERRORS
CLOSING_ERRORS = errors.CLOSING_ERRORS


def _split(rest: str, count: int) -> list[str]:
    """Split off ``count`` space-separated words; the remainder is the last item."""
    parts = rest.split(" ", count)
    return parts + [""] * (count + 1 - len(parts))


def _id(text: str) -> int | None:
    # isdecimal alone would take "٥"; int() alone would take "+5" and "1_0".
    return int(text) if text.isascii() and text.isdecimal() else None


def _time(text: str) -> datetime | None:
    try:
        when = datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        return None
    return when.replace(tzinfo=UTC)


def _room_event(line: str) -> RoomEvent | None:
    event = parse_line(line)
    return event if isinstance(event, ROOM_EVENTS) else None


def _numbered(word: str, rest: str) -> Event | None:
    """``ID``, ``HISTORY`` and ``HISTORY-END`` lines."""
    if word == "HISTORY-END":
        found = _id(rest)
        return None if found is None else HistoryEnd(found)
    if word == "ID":
        number, line = _split(rest, 1)
        found, event = _id(number), _room_event(line)
        if found is None or event is None:
            return None
        return Numbered(found, event)
    number, stamp, line = _split(rest, 2)
    found, when, event = _id(number), _time(stamp), _room_event(line)
    if found is None or when is None or event is None:
        return None
    return Historic(found, when, event)


def parse_line(line: str) -> Event | None:
    """Turn one server line (without its line ending) into an event.

    Returns None for empty lines, unknown words and lines missing what their
    word needs: the protocol asks clients to ignore what they do not know.
    """
    word, _, rest = line.partition(" ")
    if word in ("ID", "HISTORY", "HISTORY-END"):
        return _numbered(word, rest)
    if word == "NICK":
        return NickRequest()
    if word == "USERS":
        return Users(tuple(n for n in rest.split(" ") if n))
    if word == "INFO":
        return Info(rest)
    if word in ("WELCOME", "MSG", "ACTION", "LEAVE", "ERROR", "RENAME", "JOIN"):
        first, text = _split(rest, 1)
        if not first:
            return None
        if word == "WELCOME":
            return Welcome(first, text)
        if word == "MSG":
            return Message(first, text)
        if word == "ACTION":
            return Action(first, text)
        if word == "LEAVE":
            return Left(first, text)
        if word == "ERROR":
            return Error(first, text)
        if word == "JOIN":
            return Joined(first)
        if not text:
            return None
        return Renamed(first, text.split(" ", 1)[0])
    if word == "PRIVATE":
        sender, recipient, text = _split(rest, 2)
        if not sender or not recipient:
            return None
        return Private(sender, recipient, text)
    return None
