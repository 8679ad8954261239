"""
What a member types: chat text, or a slash command acting on the room.

This is chat-domain logic shared by any text front end; it raises
L{ChatError} for the front end to report.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from chatproto.errors import ChatError
from chatproto.room import HISTORY_PAGE_DEFAULT, HISTORY_PAGE_MAX, Participant

HELP = (
    "Type a line to say it to everyone. Commands:",
    "/who                 list the people in the room",
    "/me <action>         e.g. /me waves",
    "/msg <nick> <text>   a private message",
    "/nick <new>          change your nickname",
    "/quit [reason]       leave the room",
    f"/history [n]         the {HISTORY_PAGE_DEFAULT} (at most {HISTORY_PAGE_MAX})"
    " lines said before; again for more",
    "/since <id>          every line said after the line with that id",
    "/ids on|off          show ids on room lines (ID <id> ...)",
    "//text               say a line that starts with /",
    "/help                this help",
)


@dataclass
class JoinOptions:
    """
    What a connection asked for before its nickname, for its join.

    @ivar since: replay every line after this id instead of the latest ones.
    @ivar numbered: show ids on live room lines.
    """

    since: int | None = None
    numbered: bool = False


def handle_join_option(options: JoinOptions, text: str) -> bool:
    """
    Act on a line sent before the nickname, if it is one of the commands
    allowed then (C{/since <id>}, C{/ids on|off}); a line starting with C{/}
    is never a nickname, so nothing is lost.

    @return: whether C{text} was such a command.
    @raise ChatError: if it was, but without what it needs.
    """
    name, _, rest = text.partition(" ")
    name, rest = name.lower(), rest.strip()
    if name == "/since":
        options.since = _history_id(rest)
    elif name == "/ids":
        options.numbered = _on_off(rest, "/ids on|off")
    else:
        return False
    return True


def handle_input(participant: Participant, text: str) -> None:
    """
    Act on one line of member input (already cleaned, not empty).

    @raise ChatError: if it is a command that cannot be carried out.
    """
    if not text.startswith("/"):
        participant.say(text)
    elif text.startswith("//"):
        participant.say(text[1:])
    else:
        name, _, rest = text[1:].partition(" ")
        command = _COMMANDS.get(name.lower())
        if command is None:
            raise ChatError(
                "unknown-command", f"no command /{name}; /help lists the commands"
            )
        command(participant, rest.strip())


def _help(participant: Participant, rest: str) -> None:
    for line in HELP:
        participant.notify(line)


def _who(participant: Participant, rest: str) -> None:
    participant.who()


def _me(participant: Participant, rest: str) -> None:
    participant.act(_required(rest, "/me <action>"))


def _msg(participant: Participant, rest: str) -> None:
    nick, _, text = rest.partition(" ")
    participant.tell(
        _required(nick, "/msg <nick> <text>"),
        _required(text.strip(), "/msg <nick> <text>"),
    )


def _nick(participant: Participant, rest: str) -> None:
    participant.rename(_required(rest, "/nick <new>"))


def _quit(participant: Participant, rest: str) -> None:
    participant.quit(rest)


def _since(participant: Participant, rest: str) -> None:
    participant.catch_up(_history_id(rest))


def _history(participant: Participant, rest: str) -> None:
    count = HISTORY_PAGE_DEFAULT
    if rest:
        if not rest.isdecimal() or int(rest) < 1:
            raise ChatError("usage", f"usage: /history [1 to {HISTORY_PAGE_MAX}]")
        count = int(rest)
    participant.show_history(count)


def _ids(participant: Participant, rest: str) -> None:
    participant.show_ids(_on_off(rest, "/ids on|off"))


def _history_id(text: str) -> int:
    # isdecimal, not int(): int() would take "+5", " 5", "٥" and "1_000".
    if not (text.isascii() and text.isdecimal()):
        raise ChatError("usage", "usage: /since <id>, the id a whole number")
    return int(text)


def _on_off(text: str, usage: str) -> bool:
    word = text.lower()
    if word not in ("on", "off"):
        raise ChatError("usage", f"usage: {usage}")
    return word == "on"


def _required(value: str, usage: str) -> str:
    if not value:
        raise ChatError("usage", f"usage: {usage}")
    return value


_COMMANDS: dict[str, Callable[[Participant, str], None]] = {
    "help": _help,
    "who": _who,
    "me": _me,
    "msg": _msg,
    "nick": _nick,
    "quit": _quit,
    "since": _since,
    "history": _history,
    "ids": _ids,
}
