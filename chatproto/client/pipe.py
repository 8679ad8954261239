"""Pipe mode: lines from stdin become messages; the room goes to stdout as text."""

from __future__ import annotations

import fcntl
import os
import select
from typing import Any

from twisted.internet.defer import Deferred, succeed
from twisted.internet.interfaces import IHalfCloseableProtocol
from twisted.internet.stdio import StandardIO
from twisted.python.failure import Failure
from zope.interface import implementer

from . import app
from .options import Config
from .protocol import TolerantLineReceiver
from .render import Line, plain
from .session import Session

STDERR_TIMEOUT = 2.0


def write_stderr(text: str) -> None:
    """One line to stderr, even if StandardIO made it non-blocking."""
    data = f"chatproto: {text}\n".encode()
    while data:
        try:
            data = data[os.write(2, data) :]
        except BlockingIOError:
            if not select.select([], [2], [], STDERR_TIMEOUT)[1]:
                return
        except OSError:
            return


class PipeUI:
    """The session's UI in pipe mode: plain text, no prompt, no questions."""

    def __init__(self) -> None:
        self.out: Any = None  # the StandardIO transport, once connected

    def show(self, line: Line) -> None:
        if self.out is not None:
            self.out.write((plain(line) + "\n").encode("utf-8"))

    def notice(self, text: str) -> None:
        write_stderr(text)

    def warn(self, text: str) -> None:
        write_stderr(text)

    def ask_nick(self) -> None:
        pass  # never asked: pipe mode requires --nick

    def state_changed(self, nick: str | None, online: bool) -> None:
        pass


@implementer(IHalfCloseableProtocol)
class StdinLines(TolerantLineReceiver):
    """Hand each stdin line to the session; tell it at end of input."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.closed: Deferred[None] = Deferred()

    def textReceived(self, text: str) -> None:
        self.session.input_line(text)

    def lineSkipped(self) -> None:
        self.session.ui.warn("an input line was too long; skipped it")

    def readConnectionLost(self) -> None:
        rest = self.clearLineBuffer()
        if rest and not self._skipping:
            self.lineReceived(rest)  # the last line had no line ending
        self.session.input_ended()

    def writeConnectionLost(self) -> None:
        pass  # nobody reads stdout any more (e.g. `| head`); carry on

    def connectionLost(self, reason: Failure = None) -> None:  # type: ignore[assignment]
        if not self.session.finished:
            self.session.input_ended()
        if not self.closed.called:
            self.closed.callback(None)


def run(reactor: Any, config: Config) -> int:
    """Send stdin, print the room, leave at end of input."""
    saved_flags = {fd: fcntl.fcntl(fd, fcntl.F_GETFL) for fd in (0, 1, 2)}
    try:
        ui = PipeUI()
        session = Session(
            ui,
            nick=config.nick,
            interactive=False,
            reconnect=config.reconnect,
            clock=reactor,
            where=app.where(config),
            oper=app.oper_login(config),
        )
        app.start_logging(write_stderr)
        lines = StdinLines(session)
        stdio = StandardIO(lines)
        ui.out = stdio
        connector = app.connect(reactor, config, session)

        def flush_stdout() -> Deferred[None]:
            stdio.loseConnection()  # writes what is buffered, then closes
            return lines.closed if not lines.closed.called else succeed(None)

        return app.run_until_done(reactor, session, connector, [flush_stdout])
    finally:
        for fd, flags in saved_flags.items():
            fcntl.fcntl(fd, fcntl.F_SETFL, flags)
