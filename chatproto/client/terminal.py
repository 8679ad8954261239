"""Interactive mode: the terminal UI and running with a raw tty."""

from __future__ import annotations

import fcntl
import os
import signal
import termios
import tty
from collections.abc import Callable
from datetime import datetime
from typing import Any

from twisted.conch.insults.insults import ServerProtocol
from twisted.internet.defer import Deferred, succeed
from twisted.internet.stdio import StandardIO
from twisted.python.failure import Failure

from . import app
from .editor import LineEditor
from .options import Config
from .render import Line, Span, ansi, nick_key, notice, problem
from .session import Session

NICK_PROMPT = "Choose a nickname: "
# The server's commands (docs/protocol.rst, "Commands", "Moderation"), for Tab.
COMMANDS = (
    "/announce",
    "/ban",
    "/bans",
    "/help",
    "/history",
    "/ids",
    "/join",
    "/kick",
    "/me",
    "/msg",
    "/mute",
    "/nick",
    "/oper",
    "/quit",
    "/rooms",
    "/since",
    "/slow",
    "/topic",
    "/unban",
    "/unmute",
    "/who",
)
# Reset attributes, leave insert mode, go to the start of the row and clear it.
RESTORE = b"\x1b[0m\x1b[4l\r\x1b[K"


def wants_colour(environ: dict[str, str] | os._Environ[str]) -> bool:
    """Colour unless NO_COLOR is set to something (https://no-color.org)."""
    return not environ.get("NO_COLOR")


class TerminalUI:
    """The session's UI on a terminal, through a LineEditor."""

    def __init__(self, colour: bool, now: Callable[[], datetime] = datetime.now):
        self.colour = colour
        self.now = now
        self.editor = LineEditor(self)
        self.session: Session | None = None
        self.asking = False
        self.closed: Deferred[None] = Deferred()

    # -- session.UI ------------------------------------------------------------

    def show(self, line: Line) -> None:
        self.editor.add_output(ansi(line, self.colour))

    def notice(self, text: str) -> None:
        self.editor.add_output(ansi(notice(text, self.now()), self.colour))

    def warn(self, text: str) -> None:
        self.editor.add_output(ansi(problem(text, self.now()), self.colour))

    def ask_nick(self) -> None:
        self.asking = True
        self._prompt(NICK_PROMPT)

    def connecting(self, where: str) -> None:
        self.notice(f"connecting to {where}...")
        self._prompt("> ")

    def state_changed(self, nick: str | None, online: bool) -> None:
        self.asking = False
        if online and nick:
            room = self.session.room.name if self.session is not None else None
            self._prompt(f"{nick}> ", nick, room)
        else:
            self._prompt(f"({nick or '?'}, offline)> ")

    # -- editor.Owner ----------------------------------------------------------

    def line_entered(self, text: str) -> bool:
        assert self.session is not None
        if self.asking:
            self.asking = False
            self._prompt("> ")
            self.session.choose_nick(text)
            return True
        if not text.strip():
            return True
        if self.session.submit(text):
            return True
        if self.session.quitting:
            return False
        self.warn("not connected, so not sent; press Enter again once reconnected")
        return False

    def end_of_input(self) -> None:
        assert self.session is not None
        self.session.quit()

    def interrupted(self) -> None:
        assert self.session is not None
        self.session.quit()

    def complete(self, prefix: str) -> list[str]:
        if prefix.startswith("/"):
            return [c for c in COMMANDS if c.startswith(prefix.lower())]
        if self.session is None:
            return []
        key = nick_key(prefix)
        members = self.session.members
        return sorted((n for n in members if nick_key(n).startswith(key)), key=nick_key)

    def show_choices(self, choices: list[str]) -> None:
        self.notice("  ".join(choices))

    def editor_closed(self, reason: Failure) -> None:
        if self.session is not None and not self.session.finished:
            self.session.quit()
        if not self.closed.called:
            self.closed.callback(None)

    # -- inside ----------------------------------------------------------------

    def _prompt(
        self, text: str, nick: str | None = None, room: str | None = None
    ) -> None:
        """The prompt; in a room, ``[room] nick> ``, so the user sees where
        a line goes."""
        styled = None
        if nick is not None:
            spans = (Span(nick, "nick", nick), Span("> "))
            if room is not None:
                text = f"[{room}] {text}"
                spans = (Span(f"[{room}] ", "time"), *spans)
            styled = ansi(spans, self.colour)
        self.editor.set_prompt(text, styled.encode("utf-8") if styled else None)


def _window_size(fd: int) -> tuple[int, int]:
    try:
        size = os.get_terminal_size(fd)
        return size.columns, size.lines
    except OSError:
        return 80, 24


def run(
    reactor: Any,
    config: Config,
    make_ui: Callable[[bool], TerminalUI] = TerminalUI,
    started: Callable[[TerminalUI], None] | None = None,
) -> int:
    """Chat on the terminal until the user leaves; always restore the terminal.

    ``make_ui`` builds the UI from whether to use colour, and ``started`` is
    called with it once it is on screen (``chatproto host`` uses both).
    """
    fd_in, fd_out = 0, 1
    saved_tty = termios.tcgetattr(fd_in)
    saved_flags = {fd: fcntl.fcntl(fd, fcntl.F_GETFL) for fd in (0, 1, 2)}
    saved_winch = signal.getsignal(signal.SIGWINCH)
    try:
        tty.setraw(fd_in)
        ui = make_ui(wants_colour(os.environ))
        session = Session(
            ui,
            nick=config.nick,
            interactive=True,
            reconnect=config.reconnect,
            clock=reactor,
            where=app.where(config),
            oper=app.oper_login(config),
        )
        ui.session = session
        app.start_logging(ui.warn)
        stdio = StandardIO(ServerProtocol(lambda: ui.editor))
        ui.editor.terminalSize(*_window_size(fd_out))

        def resized(signum: int, frame: object) -> None:
            reactor.callFromThread(ui.editor.terminalSize, *_window_size(fd_out))

        signal.signal(signal.SIGWINCH, resized)
        if started is not None:
            started(ui)
        ui.connecting(app.where(config))
        connector = app.connect(reactor, config, session)

        def release_terminal() -> Deferred[None]:
            ui.editor.clear_input_row()
            stdio.loseConnection()
            return ui.closed if not ui.closed.called else succeed(None)

        return app.run_until_done(reactor, session, connector, [release_terminal])
    finally:
        signal.signal(signal.SIGWINCH, saved_winch)
        for fd, flags in saved_flags.items():
            fcntl.fcntl(fd, fcntl.F_SETFL, flags)
        termios.tcsetattr(fd_in, termios.TCSADRAIN, saved_tty)
        os.write(fd_out, RESTORE)
