"""
What a member types: chat text, or a slash command.

This is chat-domain logic shared by every text front end: it acts on a
L{MemberSession} and raises L{ChatError} for the session to report.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from chatproto import moderators
from chatproto.errors import ChatError, Code
from chatproto.room import HISTORY_PAGE_DEFAULT, HISTORY_PAGE_MAX, SINCE_PAGE

if TYPE_CHECKING:
    from chatproto.session import MemberSession

# Ids are below 2**63 (SQLite's integers): at most 19 digits.
MAX_ID_DIGITS = 19
# Mutes and bans last at most four weeks (or until lifted); slow mode asks
# for at most an hour between two lines.
MAX_MINUTES = 4 * 7 * 24 * 60
MAX_SLOW = 3600

HELP = (
    "Type a line to say it to everyone in the room. Commands:",
    "/who                 list the people in the room",
    "/me <action>         e.g. /me waves",
    "/msg <nick> <text>   a private message, to anyone on the server",
    "/nick <new>          change your nickname",
    "/join <room>         go to another room (it is made if need be)",
    "/rooms               list the rooms and how many are in each",
    "/quit [reason]       leave",
    f"/history [n]         the {HISTORY_PAGE_DEFAULT} (at most {HISTORY_PAGE_MAX})"
    " lines said before; again for more",
    f"/since <id>          the lines said after the line with that id"
    f" ({SINCE_PAGE} at a time)",
    "/ids on|off          show ids on room lines (ID <id> ...)",
    "/topic [text]        show the room's topic, or set it (moderators)",
    "//text               say a line that starts with /",
    "/help                this help",
    "Moderators (operators, and the member who made the room) may also:",
    "/kick <nick> [reason]    put someone out of the room",
    "/mute <nick> [minutes]   let someone read but not speak; /unmute <nick>",
    "/ban <nick> [minutes]    kick, and keep the nickname and its address out;",
    "                         /unban <nick>; /bans lists them",
    "/slow <seconds>          one line per member every so many seconds; 0: off",
    "/announce <text>         a notice to every room (operators)",
    "/oper <name> <password>  log in as an operator",
)

HELP_BEFORE_NICK = (
    "First type the nickname you want and press Enter. Before that you may send:",
    "/join <room>         join that room instead of the usual one",
    "/rooms               list the rooms and how many are in each",
    "/since <id>          on joining, replay the lines after that id",
    "/ids on|off          show ids on room lines (ID <id> ...)",
    "/oper <name> <password>  log in as an operator (and take your nickname)",
    "/quit                leave",
    "/help                this help",
)


def speech(text: str) -> str | None:
    """
    What a line of member input (already cleaned) says in the room, or
    C{None} if it is a command: C{//} starts a line that says C{/...}.
    """
    if not text.startswith("/"):
        return text
    if text.startswith("//"):
        return text[1:]
    return None


def handle_input(session: MemberSession, text: str) -> None:
    """
    Act on one line of member input (already cleaned, not empty).

    @raise ChatError: if it is a command that cannot be carried out.
    """
    said = speech(text)
    if said is not None:
        session.speak(said)
    else:
        name, rest = _split(text)
        command = _COMMANDS.get(name)
        if command is None:
            raise ChatError(
                Code.UNKNOWN_COMMAND,
                f"no command /{name}; /help lists the commands",
            )
        command(session, rest)


def handle_before_nick(session: MemberSession, text: str) -> None:
    """
    Act on a line starting with C{/} sent before the nickname: the commands
    that make sense then (L{HELP_BEFORE_NICK}) work; the others are refused.
    A line starting with C{/} is never a nickname.

    @raise ChatError: if the command cannot be carried out now.
    """
    name, rest = _split(text)
    command = _BEFORE_NICK.get(name)
    if command is not None:
        command(session, rest)
    elif name in _COMMANDS:
        raise ChatError(
            Code.NICK_REQUIRED,
            f"/{name} works once you have a nickname: type the nickname you "
            "want and press Enter",
        )
    else:
        raise ChatError(
            Code.UNKNOWN_COMMAND, f"no command /{name}; /help lists the commands"
        )


def _split(text: str) -> tuple[str, str]:
    name, _, rest = text[1:].partition(" ")
    return name.lower(), rest.strip()


def _help(session: MemberSession, rest: str) -> None:
    for line in HELP:
        session.notify(line)


def _help_before_nick(session: MemberSession, rest: str) -> None:
    for line in HELP_BEFORE_NICK:
        session.notify(line)


def _who(session: MemberSession, rest: str) -> None:
    session.in_room().who()


def _me(session: MemberSession, rest: str) -> None:
    session.speak(_required(rest, "/me <action>"), action=True)


def _msg(session: MemberSession, rest: str) -> None:
    nick, _, text = rest.partition(" ")
    session.tell(
        _required(nick, "/msg <nick> <text>"),
        _required(text.strip(), "/msg <nick> <text>"),
    )


def _nick(session: MemberSession, rest: str) -> None:
    session.rename(_required(rest, "/nick <new>"))


def _quit(session: MemberSession, rest: str) -> None:
    session.quit(rest)


def _join(session: MemberSession, rest: str) -> None:
    session.join(_required(rest, "/join <room>"))


def _join_before_nick(session: MemberSession, rest: str) -> None:
    name = _required(rest, "/join <room>")
    session.server.rooms.check_name(name)
    session.options.room = name


def _rooms(session: MemberSession, rest: str) -> None:
    for event in session.server.rooms.listing():
        session.reply(event)


def _since(session: MemberSession, rest: str) -> None:
    session.charge(session.in_room().catch_up(_history_id(rest)))


def _since_before_nick(session: MemberSession, rest: str) -> None:
    session.options.since = _history_id(rest)


def _history(session: MemberSession, rest: str) -> None:
    count = HISTORY_PAGE_DEFAULT
    if rest:
        count = _bounded(rest, 1, HISTORY_PAGE_MAX, "/history [n]")
    session.charge(session.in_room().show_history(count))


def _ids(session: MemberSession, rest: str) -> None:
    session.show_ids(_on_off(rest, "/ids on|off"))


def _ids_before_nick(session: MemberSession, rest: str) -> None:
    session.options.numbered = _on_off(rest, "/ids on|off")


def _oper(session: MemberSession, rest: str) -> None:
    name, _, password = rest.partition(" ")
    session.login(
        _required(name, "/oper <name> <password>"),
        _required(password.strip(), "/oper <name> <password>"),
    )


def _nick_and_rest(rest: str, usage: str) -> tuple[str, str]:
    nick, _, more = rest.partition(" ")
    return _required(nick, usage), more.strip()


def _minutes(text: str, usage: str) -> float | None:
    # A whole number of minutes, up to four weeks; none: until lifted.
    return _bounded(text, 1, MAX_MINUTES, usage) if text else None


def _kick(session: MemberSession, rest: str) -> None:
    nick, reason = _nick_and_rest(rest, "/kick <nick> [reason]")
    moderators.kick(session, nick, reason)


def _mute(session: MemberSession, rest: str) -> None:
    usage = "/mute <nick> [minutes]"
    nick, minutes = _nick_and_rest(rest, usage)
    moderators.mute(session, nick, _minutes(minutes, usage))


def _unmute(session: MemberSession, rest: str) -> None:
    moderators.unmute(session, _required(rest, "/unmute <nick>"))


def _ban(session: MemberSession, rest: str) -> None:
    usage = "/ban <nick> [minutes]"
    nick, minutes = _nick_and_rest(rest, usage)
    moderators.ban(session, nick, _minutes(minutes, usage))


def _unban(session: MemberSession, rest: str) -> None:
    moderators.unban(session, _required(rest, "/unban <nick>"))


def _bans(session: MemberSession, rest: str) -> None:
    moderators.bans(session)


def _slow(session: MemberSession, rest: str) -> None:
    usage = "/slow <seconds>"
    moderators.slow(session, _bounded(_required(rest, usage), 0, MAX_SLOW, usage))


def _topic(session: MemberSession, rest: str) -> None:
    moderators.topic(session, rest)


def _announce(session: MemberSession, rest: str) -> None:
    moderators.announce(session, _required(rest, "/announce <text>"))


def _history_id(text: str) -> int:
    # isdecimal, not int(): int() would take "+5", " 5", "٥" and "1_000",
    # and raises on thousands of digits.
    if not (text.isascii() and text.isdecimal() and len(text) <= MAX_ID_DIGITS):
        raise ChatError(
            Code.USAGE,
            f"usage: /since <id>, the id a whole number of at most "
            f"{MAX_ID_DIGITS} digits",
        )
    return int(text)


def _bounded(text: str, low: int, high: int, usage: str) -> int:
    if (
        not (text.isascii() and text.isdecimal())
        or len(text) > len(str(high))
        or not low <= int(text) <= high
    ):
        raise ChatError(Code.USAGE, f"usage: {usage}, n from {low} to {high}")
    return int(text)


def _on_off(text: str, usage: str) -> bool:
    word = text.lower()
    if word not in ("on", "off"):
        raise ChatError(Code.USAGE, f"usage: {usage}")
    return word == "on"


def _required(value: str, usage: str) -> str:
    if not value:
        raise ChatError(Code.USAGE, f"usage: {usage}")
    return value


Command = Callable[["MemberSession", str], None]

_COMMANDS: dict[str, Command] = {
    "help": _help,
    "who": _who,
    "me": _me,
    "msg": _msg,
    "nick": _nick,
    "quit": _quit,
    "join": _join,
    "rooms": _rooms,
    "since": _since,
    "history": _history,
    "ids": _ids,
    "oper": _oper,
    "topic": _topic,
    "kick": _kick,
    "mute": _mute,
    "unmute": _unmute,
    "ban": _ban,
    "unban": _unban,
    "bans": _bans,
    "slow": _slow,
    "announce": _announce,
}

_BEFORE_NICK: dict[str, Command] = {
    "help": _help_before_nick,
    "quit": _quit,
    "join": _join_before_nick,
    "rooms": _rooms,
    "since": _since_before_nick,
    "ids": _ids_before_nick,
    "oper": _oper,
}
