"""The host's terminal in ``chatproto host``: a member's, but leaving closes
the room, so the host is asked first when people are still in it."""

from __future__ import annotations

from .terminal import TerminalUI
from .ui import is_quit

# What the members see when the host closes the room: an announcement to
# every room, the host being an operator of its server (or a /me action, if
# it could not log in).
CLOSING = "is closing the room (the host is leaving)"
ANNOUNCE_CLOSING = "the room is closing (the host is leaving)"


class HostUI(TerminalUI):
    """The host's terminal: as a member's, but leaving closes the room, and
    the host is asked first when people are still in it."""

    def __init__(self, colour: bool) -> None:
        super().__init__(colour)
        self.confirming = False
        self._leave_line = "/quit"
        self._welcomed = False

    def others(self) -> list[str]:
        if self.session is None or not self.session.joined:
            return []
        return sorted(n for n in self.session.members if n != self.session.me)

    # -- the ways of leaving ----------------------------------------------------

    def line_entered(self, text: str) -> bool:
        if self.confirming:
            self._answered(text)
            return True
        if not self.asking and is_quit(text.strip()) and self._joined():
            if not self._ask_first(text):
                self._leave_line = text.strip()
                self._close()
            return True
        return super().line_entered(text)

    def end_of_input(self) -> None:
        if self.confirming:
            self._close()  # Ctrl-D again: yes
        elif not self._ask_first("/quit"):
            self._leave_line = "/quit"
            self._close()

    def interrupted(self) -> None:
        if self.confirming:
            self._close()  # Ctrl-C again: yes
        elif not self._ask_first("/quit"):
            self._leave_line = "/quit"
            self._close()

    def state_changed(self, nick: str | None, online: bool) -> None:
        super().state_changed(nick, online)
        if online and nick and not self._welcomed:
            self._welcomed = True
            host_joined(nick)

    # -- inside -----------------------------------------------------------------

    def _joined(self) -> bool:
        return self.session is not None and self.session.joined

    def _ask_first(self, line: str) -> bool:
        """Ask before closing a room with people in it; False: nobody to ask
        about, go ahead."""
        others = self.others()
        if not others:
            return False
        self.confirming = True
        self._leave_line = line.strip()
        who = ", ".join(others)
        count = "1 person is" if len(others) == 1 else f"{len(others)} people are"
        self.warn(f"{count} still in the room ({who}); leaving closes it for them")
        self.editor.set_prompt("Close the room for everyone? (y/n) ")
        return True

    def _answered(self, text: str) -> None:
        self.confirming = False
        if text.strip().lower() in ("y", "yes"):
            self._close()
            return
        self.notice("the room stays open")
        assert self.session is not None
        self.state_changed(self.session.me, self.session.joined)

    def _close(self) -> None:
        self.confirming = False
        assert self.session is not None
        oper = self.session.oper
        if oper is not None and oper.accepted:
            # Every room: members elsewhere on the server lose it too.
            self.session.submit(f"/announce {ANNOUNCE_CLOSING}")
        elif self.others():
            self.session.submit(f"/me {CLOSING}")
        if is_quit(self._leave_line) and self.session.submit(self._leave_line):
            return
        self.session.quit()


def host_joined(nick: str) -> None:
    """Hook: the host is in the room.

    The host is an operator of its own server already (``/oper`` before
    its nickname, with the password ``chatproto host`` made up): nothing
    more to do here.
    """
