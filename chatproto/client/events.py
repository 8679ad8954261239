"""Server lines parsed into small event objects (see docs/protocol.rst)."""

from __future__ import annotations

from dataclasses import dataclass


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
)

NICK_REJECTIONS = frozenset({"nick-invalid", "nick-taken"})
# Errors after which the server closes the connection, and retrying is useless.
FATAL_ERRORS = frozenset({"too-many-attempts", "handshake-timeout"})
# Errors after which the server closes the connection (maybe only for now).
CLOSING_ERRORS = FATAL_ERRORS | {"server-full", "too-many-connections"}


def _split(rest: str, count: int) -> list[str]:
    """Split off ``count`` space-separated words; the remainder is the last item."""
    parts = rest.split(" ", count)
    return parts + [""] * (count + 1 - len(parts))


def parse_line(line: str) -> Event | None:
    """Turn one server line (without its line ending) into an event.

    Returns None for empty lines, unknown words and lines missing what their
    word needs: the protocol asks clients to ignore what they do not know.
    """
    word, _, rest = line.partition(" ")
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
