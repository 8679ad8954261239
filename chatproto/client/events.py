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


@dataclass(frozen=True)
class Room:
    """``ROOM <room>``: we are now in this room (its replay follows)."""

    name: str


@dataclass(frozen=True)
class Rooms:
    """``ROOMS <room> <count> ...``: every room and how many are in it."""

    rooms: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class Topic:
    """``TOPIC <room> <text>``: a room's topic (on entering it, on a change,
    after ``ROOMS``)."""

    room: str
    text: str


@dataclass(frozen=True)
class Notice:
    """``NOTICE <moderator> <what>``: a moderator did something in the room."""

    moderator: str
    what: str


@dataclass(frozen=True)
class Announce:
    """``ANNOUNCE <operator> <text>``: an operator's word to every room."""

    operator: str
    text: str


# The lines the room keeps in its history and numbers with ids.
RoomEvent = Joined | Message | Action | Renamed | Left | Notice | Topic | Announce
ROOM_EVENTS = (Joined, Message, Action, Renamed, Left, Notice, Topic, Announce)


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
class HistoryMore:
    """``HISTORY-MORE <id>``: the replay stopped at its limit; ``/since <id>``
    brings the next lines."""

    id: int


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
    | HistoryMore
    | HistoryEnd
    | Room
    | Rooms
    | Topic
    | Notice
    | Announce
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
    """``ID``, ``HISTORY``, ``HISTORY-MORE`` and ``HISTORY-END`` lines."""
    if word in ("HISTORY-END", "HISTORY-MORE"):
        found = _id(rest)
        if found is None:
            return None
        return HistoryEnd(found) if word == "HISTORY-END" else HistoryMore(found)
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


def _rooms(rest: str) -> Rooms | None:
    words = rest.split()
    if len(words) % 2:
        return None
    pairs = []
    for name, count in zip(words[::2], words[1::2], strict=True):
        number = _id(count)
        if number is None:
            return None
        pairs.append((name, number))
    return Rooms(tuple(pairs))


def _moderated(word: str, rest: str) -> Event | None:
    """``ROOM``, ``ROOMS``, ``TOPIC``, ``NOTICE`` and ``ANNOUNCE`` lines."""
    if word == "ROOM":
        name = rest.split(" ", 1)[0]
        return Room(name) if name else None
    if word == "ROOMS":
        return _rooms(rest)
    first, text = _split(rest, 1)
    if not first:
        return None
    if word == "TOPIC":
        return Topic(first, text)
    if not text:
        return None
    return Notice(first, text) if word == "NOTICE" else Announce(first, text)


def parse_line(line: str) -> Event | None:
    """Turn one server line (without its line ending) into an event.

    Returns None for empty lines, unknown words and lines missing what their
    word needs: the protocol asks clients to ignore what they do not know.
    """
    word, _, rest = line.partition(" ")
    if word in ("ID", "HISTORY", "HISTORY-MORE", "HISTORY-END"):
        return _numbered(word, rest)
    if word in ("ROOM", "ROOMS", "TOPIC", "NOTICE", "ANNOUNCE"):
        return _moderated(word, rest)
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
