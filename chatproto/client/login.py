"""Logging in as an operator (``/oper NAME PASSWORD``) on each connection.

The password is only ever sent to the server: it is never shown, logged or
kept in the line editor's history, and ``repr`` leaves it out.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from chatproto.errors import Code

from .events import Error, Event, Info

ACCEPTED = "you are an operator now"


@dataclass
class OperLogin:
    name: str
    password: str = field(repr=False)
    refused: bool = False  # wrong name or password: do not try again
    waiting: bool = False  # sent; the answer has not come
    accepted: bool = False  # logged in on this connection

    def line(self) -> str | None:
        """The line to send on a new connection (before the nickname, so
        that the operator may take the nickname reserved for it)."""
        if self.refused:
            return None
        self.waiting = True
        return f"/oper {self.name} {self.password}"

    def answer(self, event: Event) -> tuple[bool, str] | None:
        """If ``event`` answers our ``/oper``: (accepted, what to tell)."""
        if not self.waiting:
            return None
        match event:
            case Info(text) if text.startswith(ACCEPTED):
                self.waiting = False
                self.accepted = True
                return True, f"{ACCEPTED} ({self.name})"
            case Error(code, text) if code == Code.NOT_PERMITTED:
                self.waiting = False
                self.refused = True
                why = text or "wrong operator name or password"
                return False, f"operator login as {self.name} refused: {why}"
        return None

    def disconnected(self) -> None:
        self.waiting = self.accepted = False
