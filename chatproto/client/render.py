"""Turn events into lines for people: styled spans, shown plain or in colour.

Nothing here writes anywhere: ``render`` builds a Line (a tuple of Spans),
``plain`` and ``ansi`` turn it into text for a pipe or a terminal. Both pass
every span through ``clean``, so no control character that reaches us from
the server (or anywhere else) gets to the terminal.
"""

from __future__ import annotations

import re
import unicodedata
import zlib
from dataclasses import dataclass
from datetime import datetime, tzinfo

from chatproto.errors import Code

from .events import (
    Action,
    Announce,
    Error,
    Event,
    Historic,
    HistoryEnd,
    HistoryMore,
    Info,
    Joined,
    Left,
    Message,
    NickRequest,
    Notice,
    Numbered,
    Private,
    Renamed,
    Room,
    Rooms,
    Topic,
    Users,
    Welcome,
)

# C0 and C1 controls, DEL, line/paragraph separators and the bidi embedding,
# override and isolate characters, which can move or hide text on screen.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
REPLACEMENT = "\ufffd"

# Red is kept for errors and yellow for private messages.
NICK_COLOURS = (32, 34, 35, 36, 92, 94, 95, 96)

# Style name -> (SGR attributes kept under NO_COLOR, SGR colours).
STYLES: dict[str, tuple[str, str]] = {
    "": ("", ""),
    "time": ("2", ""),
    "notice": ("2", ""),
    "info": ("", "36"),
    "error": ("1", "31"),
    "private": ("1", "33"),
    "mention": ("1", ""),
    "nick": ("1", ""),
    "past": ("2", ""),  # a line said before: replayed history
    "moderation": ("1", "35"),  # NOTICE: a moderator acted
    "announce": ("1;7", ""),  # ANNOUNCE: an operator's word to every room
}

# What a refusal means, when the server's ERROR carries no text.
PLAIN_ERRORS = {
    Code.MUTED: "you are muted in this room; you can still read",
    Code.SLOW_MODE: "this room is in slow mode; wait a little before the next line",
    Code.KICKED: "you were kicked out of the server",
    Code.BANNED: "you are banned",
}


@dataclass(frozen=True)
class Span:
    text: str
    style: str = ""
    nick: str | None = None


Line = tuple[Span, ...]


def clean(text: str) -> str:
    """Neutralise control characters: tabs become spaces, others U+FFFD."""
    return _UNSAFE.sub(REPLACEMENT, text.replace("\t", " "))


def nick_key(nick: str) -> str:
    """The form under which the server compares nicknames."""
    return unicodedata.normalize("NFKC", nick).casefold()


def nick_colour(nick: str) -> int:
    """A stable colour per nickname (the same in every run and for every client)."""
    return NICK_COLOURS[zlib.crc32(nick_key(nick).encode("utf-8")) % len(NICK_COLOURS)]


def _mentions(me: str | None, sender: str, text: str) -> bool:
    if not me or nick_key(me) == nick_key(sender):
        return False
    pattern = r"(?<![\w-])" + re.escape(nick_key(me)) + r"(?![\w-])"
    return re.search(pattern, nick_key(text)) is not None


def _who(nick: str, me: str | None) -> Span:
    if me is not None and nick == me:
        return Span("you", "private")
    return Span(nick, "nick", nick)


def stamp(when: datetime) -> Span:
    return Span(when.strftime("%H:%M "), "time")


def notice(text: str, when: datetime) -> Line:
    """A quiet line from the client itself (connected, reconnecting...)."""
    return (stamp(when), Span("-- " + text, "notice"))


def problem(text: str, when: datetime) -> Line:
    """An error line from the client itself."""
    return (stamp(when), Span("! " + text, "error"))


def error_text(code: str, text: str) -> str:
    """An ``ERROR`` as a sentence for people, never a bare code."""
    said = text or PLAIN_ERRORS.get(code, code)
    if code == Code.MUTED:
        return f"your line was not sent: {said}"
    if code == Code.SLOW_MODE and "not sent" not in said:
        return f"your line was not sent: {said}"
    return said


def rooms_text(rooms: tuple[tuple[str, int], ...]) -> str:
    """``rooms: lobby (12), physics (3)``."""
    if not rooms:
        return "rooms: none"
    return "rooms: " + ", ".join(f"{name} ({count})" for name, count in rooms)


def render(event: Event, me: str | None, when: datetime) -> Line | None:
    """The line to show for a server event, or None if there is nothing to show."""
    t = stamp(when)
    match event:
        case Message(nick, text):
            style = "mention" if _mentions(me, nick, text) else ""
            return (
                t,
                Span("<"),
                Span(nick, "nick", nick),
                Span("> "),
                Span(text, style),
            )
        case Action(nick, text):
            style = "mention" if _mentions(me, nick, text) else ""
            return (t, Span("* "), Span(nick, "nick", nick), Span(" " + text, style))
        case Private(sender, recipient, text):
            return (
                t,
                Span("[private] ", "private"),
                _who(sender, me),
                Span(" -> ", "private"),
                _who(recipient, me),
                Span(": ", "private"),
                Span(text),
            )
        case Joined(nick):
            # Our own JOIN follows our WELCOME, which says it better.
            return None if nick == me else notice(f"{nick} joined", when)
        case Left(nick, reason):
            return notice(f"{nick} left" + (f" ({reason})" if reason else ""), when)
        case Renamed(old, new):
            if old == me or new == me:
                return notice(f"you are now known as {new}", when)
            return notice(f"{old} is now known as {new}", when)
        case Users(nicks):
            return notice(f"in the room ({len(nicks)}): " + ", ".join(nicks), when)
        case Welcome(nick, text):
            return notice(f"Welcome {nick}" + (f" {text}" if text else ""), when)
        case Info(text):
            return (t, Span(text, "info"))
        case Error(code, text):
            return problem(error_text(code, text), when)
        case Room(name):
            return notice(f"you are in the room {name}", when)
        case Rooms(rooms):
            return (t, Span(rooms_text(rooms), "info"))
        case Topic(room, text):
            said = f"topic of {room}: {text}" if text else f"{room} has no topic"
            return (t, Span(said, "info"))
        case Notice(moderator, what):
            return (t, Span(f"*** {moderator} {what}", "moderation"))
        case Announce(operator, text):
            return (t, Span(f"!!! announcement from {operator}: {text}", "announce"))
        case Numbered(_, room_event):
            return render(room_event, me, when)
        case Historic():
            return render_past(event, me, when)
        case NickRequest() | HistoryEnd() | HistoryMore():
            return None
    return None


def render_past(
    entry: Historic, me: str | None, now: datetime, tz: tzinfo | None = None
) -> Line | None:
    """A replayed line: dimmed, stamped with when it was said (local time,
    with the date if not today), and our own old JOIN shown too."""
    said = entry.time.astimezone(tz).replace(tzinfo=None)
    line = render(entry.event, None if isinstance(entry.event, Joined) else me, said)
    if line is None:
        return None
    form = "%H:%M " if said.date() == now.date() else "%Y-%m-%d %H:%M "
    past = (Span(span.text, "past", span.nick) for span in line[1:])
    return (Span(said.strftime(form), "past"), *past)


def plain(line: Line) -> str:
    """The line as plain text, without any escape sequence."""
    return "".join(clean(span.text) for span in line)


def _sgr(span: Span, colour: bool) -> str:
    attrs, colours = STYLES.get(span.style, ("", ""))
    if colour and span.nick is not None:
        colours = str(nick_colour(span.nick))
    codes = [c for c in (attrs, colours if colour else "") if c]
    return ";".join(codes)


def ansi(line: Line, colour: bool = True) -> str:
    """The line with SGR sequences; ``colour=False`` keeps only bold and dim."""
    out = []
    for span in line:
        text = clean(span.text)
        codes = _sgr(span, colour)
        out.append(f"\x1b[{codes}m{text}\x1b[0m" if codes and text else text)
    return "".join(out)
