"""
What moderators can do, each refused to others: kick, mute, ban, slow
mode, topics, announcements.  Operators may moderate every room; the member
who made a room, that room (see L{MemberSession.may_moderate}).

Everyone in the room sees each action as a C{NOTICE <who> <what>} line (a
room line, kept in its history), and the log records it with the
moderator's nickname.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from twisted.logger import Logger

from chatproto.errors import ChatError, Code
from chatproto.events import Event
from chatproto.moderation import Ban, until
from chatproto.names import name_key
from chatproto.room import Room

if TYPE_CHECKING:
    from chatproto.session import MemberSession

log = Logger()


def _room(session: MemberSession) -> Room:
    room = session.in_room().room
    if not session.may_moderate(room):
        raise ChatError(
            Code.NOT_PERMITTED,
            f"only an operator or the owner of {room.name} may do that",
        )
    return room


def _target(session: MemberSession, room: Room, nick: str) -> MemberSession:
    target = session.server.find(nick)
    if target is None or room.participant(target) is None:
        raise ChatError(Code.NO_SUCH_NICK, f"nobody called {nick} is in {room.name}")
    if target is session:
        raise ChatError(Code.USAGE, "not on yourself")
    if target.operator is not None and session.operator is None:
        raise ChatError(Code.NOT_PERMITTED, f"{target.nick} is an operator")
    return target


def _notice(session: MemberSession, room: Room, what: str) -> None:
    log.info(
        "{peer} {nick} in {room}: {what}",
        peer=session.peer,
        nick=session.nick,
        room=room.name,
        what=what,
    )
    room.post(Event("NOTICE", session.nick, what))


def _for(minutes: float | None) -> str:
    if minutes is None:
        return ""
    return f" for {minutes:g} minute{'s' if minutes != 1 else ''}"


def kick(session: MemberSession, nick: str, reason: str) -> None:
    room = _room(session)
    target = _target(session, room, nick)
    _notice(session, room, f"kicked {target.nick}" + (f": {reason}" if reason else ""))
    target.removed_from(room, f"kicked by {session.nick}", Code.KICKED)


def mute(session: MemberSession, nick: str, minutes: float | None) -> None:
    room = _room(session)
    target = _target(session, room, nick)
    ends = room.moderation.mute(target.key, minutes)
    _notice(session, room, f"muted {target.nick}{_for(minutes)}")
    target.notify(
        f"you are muted in {room.name} "
        f"{until(ends, session.clock.seconds())}; you can still read"
    )


def unmute(session: MemberSession, nick: str) -> None:
    room = _room(session)
    target = _target(session, room, nick)
    if not room.moderation.unmute(target.key):
        raise ChatError(Code.USAGE, f"{target.nick} is not muted in {room.name}")
    _notice(session, room, f"unmuted {target.nick}")


def ban(session: MemberSession, nick: str, minutes: float | None) -> None:
    room = _room(session)
    target = _target(session, room, nick)
    now = session.clock.seconds()
    ends = None if minutes is None else now + minutes * 60
    room.moderation.ban(Ban(target.nick, target.key, target.host, ends, session.nick))
    _notice(session, room, f"banned {target.nick}{_for(minutes)}")
    target.removed_from(room, f"banned by {session.nick}", Code.BANNED)


def unban(session: MemberSession, nick: str) -> None:
    room = _room(session)
    lifted = room.moderation.unban(name_key(nick))
    if lifted is None:
        raise ChatError(Code.USAGE, f"{nick} is not banned from {room.name}")
    _notice(session, room, f"lifted the ban on {lifted.nick}")


def bans(session: MemberSession) -> None:
    room = _room(session)
    now = session.clock.seconds()
    found = room.moderation.bans()
    if not found:
        session.notify(f"nobody is banned from {room.name}")
    for each in found:
        address = f" ({each.host})" if each.host else ""
        session.notify(
            f"{each.nick}{address} is banned from {room.name} by {each.by} "
            f"{until(each.until, now)}"
        )


def slow(session: MemberSession, seconds: float) -> None:
    room = _room(session)
    room.moderation.set_slow(seconds)
    if seconds:
        _notice(session, room, f"set slow mode: one line every {seconds:g} seconds")
    else:
        _notice(session, room, "turned slow mode off")


def topic(session: MemberSession, text: str) -> None:
    room = session.in_room().room
    if not text:
        session.reply(room.topic_event())
        return
    _room(session)
    room.moderation.set_topic(text)
    _notice(session, room, f"set the topic: {text}")
    room.post(room.topic_event())


def announce(session: MemberSession, text: str) -> None:
    if session.operator is None:
        raise ChatError(Code.NOT_PERMITTED, "only an operator may announce")
    log.info(
        "{peer} {nick} announced to every room", peer=session.peer, nick=session.nick
    )
    for room in session.server.rooms:
        room.post(Event("ANNOUNCE", session.nick, text))
