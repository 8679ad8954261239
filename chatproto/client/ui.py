"""What a session needs from a user interface (the terminal or the pipe)."""

from __future__ import annotations

from typing import Protocol as Interface

from .render import Line


class UI(Interface):
    """What a session needs from the interactive terminal or the pipe."""

    def show(self, line: Line) -> None:
        """Show a line of the conversation."""

    def notice(self, text: str) -> None:
        """Say something about the connection (lost, back...)."""

    def warn(self, text: str) -> None:
        """Report a problem: a server ERROR or one of the client's own."""

    def ask_nick(self) -> None:
        """Ask the user for a nickname (interactive only)."""

    def state_changed(self, nick: str | None, online: bool) -> None:
        """The nickname in use or the connection changed."""


def is_quit(line: str) -> bool:
    word = line.split(" ", 1)[0]
    return word.lower() == "/quit"
