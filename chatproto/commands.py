"""
What a member types: chat text, or a slash command acting on the room.

This is chat-domain logic shared by any text front end; it raises
L{ChatError} for the front end to report.
"""

from __future__ import annotations

from collections.abc import Callable

from chatproto.errors import ChatError
from chatproto.room import Participant

HELP = (
    "Type a line to say it to everyone. Commands:",
    "/who                 list the people in the room",
    "/me <action>         e.g. /me waves",
    "/msg <nick> <text>   a private message",
    "/nick <new>          change your nickname",
    "/quit [reason]       leave the room",
    "//text               say a line that starts with /",
    "/help                this help",
)


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
}
