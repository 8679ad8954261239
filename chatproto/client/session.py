"""The client's behaviour, between the wire protocol and a user interface.

A Session knows nothing of sockets or terminals. The wire protocol reports
connections and events to it; the UI reports what the user typed; it decides
what to send, what to show and when the program is done (``done`` fires
with the exit status).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.python.failure import Failure

from chatproto.errors import Code

from .catchup import CatchUp
from .events import (
    CLOSING_ERRORS,
    FATAL_ERRORS,
    NICK_REJECTIONS,
    Error,
    Event,
    Historic,
    HistoryEnd,
    HistoryMore,
    Info,
    NickRequest,
    Numbered,
    Renamed,
    Room,
    Welcome,
)
from .login import OperLogin
from .protocol import ChatClientProtocol
from .reasons import describe, signal_name
from .render import error_text, notice, render
from .roomview import RoomView
from .ui import UI, is_quit

__all__ = ["UI", "Session", "describe", "is_quit", "signal_name"]

# What the server says to everyone when it stops (docs/protocol.rst, "Leaving").
SHUTTING_DOWN = "server shutting down"
# A chat server says NICK as soon as it accepts a connection; something else
# listening on the port (a wrong --port) may never say anything.
NICK_TIMEOUT = 10.0


class Session:
    # After /quit, how long to wait for the server to close, with no line
    # from it, before giving up.
    QUIT_TIMEOUT = 5.0

    def __init__(
        self,
        ui: UI,
        *,
        nick: str | None,
        interactive: bool,
        reconnect: bool,
        clock: IReactorTime,
        where: str,
        now: Callable[[], datetime] = datetime.now,
        oper: OperLogin | None = None,
    ) -> None:
        self.ui = ui
        self.where = where  # host:port, for messages
        self.nick = nick  # the nickname to ask the server for
        self.interactive = interactive
        self.reconnect = reconnect
        self.clock = clock
        self.now = now
        self.client: ChatClientProtocol | None = None
        self.me: str | None = None  # the nickname the server accepted, if joined
        self.joined_once = False
        self.quitting = False
        self.input_done = False
        self.outbox: list[str] = []
        self.room = RoomView()  # where we are, its topic and who is in it
        self.oper = oper  # log in as an operator on each connection
        self.done: Deferred[int] = Deferred()
        self.finished = False
        self._fatal = False  # the server closes for good: do not reconnect
        # Kicked or banned: final if the server closes now (a room's ban on
        # /join is not: the member stays where it was).
        self._put_out: str | None = None
        self._just_welcomed = False  # WELCOME came; its ROOM has not
        self._closing_error = False  # the server said why it closes
        self._quit_timer: IDelayedCall | None = None
        self._nick_timer: IDelayedCall | None = None
        self._abandoned: ChatClientProtocol | None = None  # closed by us: no NICK
        self.catchup = CatchUp()  # ids shown, across reconnections
        self._options_sent = False  # /ids on (and /since) on this connection

    @property
    def joined(self) -> bool:
        return self.me is not None

    @property
    def members(self) -> set[str]:
        """Who is in the room, as far as we know."""
        return self.room.members

    # -- from the wire ----------------------------------------------------

    def connection_made(self, client: ChatClientProtocol) -> None:
        if self.finished:
            client.close()
            return
        self.client = client
        self.me = None
        self._closing_error = False
        self._put_out = None
        self._just_welcomed = False
        self._options_sent = False
        self._stop_timer(self._nick_timer)
        self._nick_timer = self.clock.callLater(NICK_TIMEOUT, self._no_nick)

    def event_received(self, event: Event) -> None:
        self._still_busy()
        if self._just_welcomed and not isinstance(event, Info | Room):
            self._just_welcomed = False  # a server that sends no ROOM
        if self._put_out is not None and not isinstance(event, Error):
            self._put_out = None  # still here: it was a room's ban
        if self.oper is not None:
            answer = self.oper.answer(event)
            if answer is not None:
                accepted, text = answer
                (self.ui.notice if accepted else self.ui.warn)(text)
                return
        if isinstance(event, Numbered | Historic | HistoryMore | HistoryEnd):
            taken = self.catchup.take(event)
            for text in taken.notices:
                self._quiet(text)
            for line in taken.requests:
                if self.client is not None:
                    self.client.send(line)
            if taken.live is None:
                if taken.past is not None:
                    self._show(taken.past)
                return
            event = taken.live
        match event:
            case Room(name):
                self.catchup.entered(name)
                if self._just_welcomed:
                    # WELCOME named the room already: only the prompt changes.
                    self._just_welcomed = False
                    if self.room.track(event):
                        self.ui.state_changed(self.me, True)
                    return
            case Info(text) if text == SHUTTING_DOWN:
                self.catchup.server_stopping()
        match event:
            case NickRequest():
                self._stop_timer(self._nick_timer)
                self._nick_timer = None
                self._nick_requested()
                return
            case Error(code, text) if code in NICK_REJECTIONS and not self.joined:
                self._nick_rejected(text or code)
                return
            case Error(code, text):
                if code in (Code.KICKED, Code.BANNED):
                    self._put_out = code
                else:
                    self._fatal = self._fatal or code in FATAL_ERRORS
                self._closing_error = self._closing_error or code in CLOSING_ERRORS
                self.ui.warn(error_text(code, text))
                return
            case Welcome(nick, _):
                back = self.joined_once
                self.me = self.nick = nick
                self.joined_once = True
                if back:
                    self.ui.notice(f"reconnected: you are back in the room as {nick}")
                self.ui.state_changed(nick, True)
                self.catchup.welcomed()
                self._just_welcomed = True
            case Renamed(old, new) if old == self.me:
                self.me = self.nick = new
                self.ui.state_changed(new, True)
        if self.room.track(event) and self.joined:
            self.ui.state_changed(self.me, True)
        self._show(event)
        if isinstance(event, Welcome):
            self._flush()

    def line_skipped(self) -> None:
        self._still_busy()
        self.ui.warn("a line from the server was too long to show; skipped it")

    def connection_lost(self, client: ChatClientProtocol, reason: Failure) -> None:
        if client is not self.client:
            return
        was_joined = self.joined
        self.client = None
        self.me = None
        self.room.disconnected()
        if self.oper is not None:
            self.oper.disconnected()
        self._stop_timer(self._nick_timer)
        self._nick_timer = None
        if self.finished:
            return
        if client is self._abandoned:  # said why already; reconnecting
            self.ui.state_changed(self.nick, False)
            return
        if self.quitting:
            if self.interactive:
                self.ui.notice("you left the room")
            self.finish(0)
            return
        why = describe(reason)
        if self._put_out is not None:
            what = "kicked" if self._put_out == Code.KICKED else "banned"
            self.ui.warn(f"you were {what} from the server: not reconnecting")
            self.finish(1)
            return
        if self._fatal or not (was_joined or self.joined_once):
            if not self._closing_error:
                # A TLS failure always comes before joining: no need to say so.
                tls = why.startswith("TLS failed")
                self.ui.warn(why if tls else f"{why} before you joined the room")
            self.finish(1)
            return
        if not self.reconnect:
            self.ui.warn(f"disconnected: {why}")
            self.finish(1)
            return
        self.ui.notice(f"disconnected: {why}")
        self.ui.state_changed(self.nick, False)

    # -- from the connector -------------------------------------------------

    def connect_failed(self, reason: Failure, where: str) -> None:
        """The first connection attempt failed."""
        if not self.finished:
            self.ui.warn(f"cannot connect to {where}: {describe(reason)}")
            self.finish(1)

    def retry_scheduled(self, attempt: int, delay: float) -> None:
        if self.finished or not self.joined_once:
            return
        if attempt == 1:
            self.ui.notice(f"reconnecting in {delay:.0f} s...")
        else:
            self.ui.notice(f"still no server; trying again in {delay:.0f} s...")

    # -- from the user ------------------------------------------------------

    def choose_nick(self, text: str) -> None:
        """The user answered the nickname prompt."""
        nick = text.strip()
        if is_quit(nick):
            self.quit()
            return
        if not nick or self.client is None:
            self.ui.ask_nick()
            return
        self.nick = nick
        self.client.send(nick)

    def submit(self, line: str) -> bool:
        """A line typed in the room. False (nothing sent) when not joined."""
        if self.client is None or not self.joined or self.quitting:
            return False
        self.client.send(line)
        if is_quit(line):
            self._start_quit()
        return True

    def input_line(self, line: str) -> None:
        """A line read in pipe mode: sent once joined, in order."""
        if line.strip() and not self.quitting:
            self.outbox.append(line)
            self._flush()

    def input_ended(self) -> None:
        """End of input in pipe mode: send what is left, then /quit."""
        self.input_done = True
        self._flush()

    def quit(self) -> None:
        """The user wants to leave (/quit, Ctrl-D, Ctrl-C)."""
        if self.finished:
            return
        if self.client is not None and self.joined and not self.quitting:
            self.client.send("/quit")
            self._start_quit()
        elif not self.quitting:
            self.finish(0)

    # -- from outside ---------------------------------------------------------

    def stopped(self, signum: int | None) -> None:
        """The program is being stopped by a signal (SIGTERM, say): say so, and
        take no further part; connections are about to close."""
        if self.finished:
            return
        self.finished = True
        self._stop_timer(self._quit_timer)
        self._stop_timer(self._nick_timer)
        self._quit_timer = self._nick_timer = None
        self.ui.notice(f"stopped by {signal_name(signum)}")

    # -- inside ---------------------------------------------------------------

    def _no_nick(self) -> None:
        """Connected, but no NICK came: not a chat server, or not answering."""
        self._nick_timer = None
        text = (
            f"no chat server at {self.where}: it took the connection but did not "
            f"ask for a nickname within {NICK_TIMEOUT:g} s (is it the right port?)"
        )
        if self.joined_once and self.reconnect:
            self.ui.notice(f"{text}; trying again")
            self._abandoned = self.client
            if self.client is not None:
                self.client.close()
            return
        self.ui.warn(text)
        self.finish(1)

    @staticmethod
    def _stop_timer(timer: IDelayedCall | None) -> None:
        if timer is not None and timer.active():
            timer.cancel()

    def _nick_requested(self) -> None:
        if self.client is not None and not self._options_sent:
            # Once per connection: the server keeps them through rejections.
            self._options_sent = True
            lines = self.catchup.join_lines()
            login = self.oper.line() if self.oper is not None else None
            if login is not None:
                lines.insert(1, login)
            for line in lines:
                self.client.send(line)
        if self.nick is not None and self.client is not None:
            self.client.send(self.nick)
        elif self.interactive:
            self.ui.ask_nick()
        else:
            self.ui.warn("the server asks for a nickname: use --nick")
            self.finish(2)

    def _nick_rejected(self, reason: str) -> None:
        if self.interactive:
            self.ui.warn(f"nickname {self.nick!r} not accepted: {reason}")
            self.nick = None  # the NICK that follows asks the user again
        else:
            self.ui.warn(f"nickname {self.nick!r} rejected: {reason}")
            self.finish(1)

    def _show(self, event: Event) -> None:
        line = render(event, self.me, self.now())
        if line is not None:
            self.ui.show(line)

    def _quiet(self, text: str) -> None:
        """A quiet line among the conversation's (a divider, a gap)."""
        self.ui.show(notice(text, self.now()))

    def _flush(self) -> None:
        if self.finished:
            return
        while self.outbox and self.client is not None and self.joined:
            if self.quitting:
                self.outbox.clear()
                return
            line = self.outbox.pop(0)
            self.client.send(line)
            if is_quit(line):
                self._start_quit()
        if self.input_done and not self.outbox and self.joined and not self.quitting:
            self.quit()

    def _start_quit(self) -> None:
        self.quitting = True
        self._quit_timer = self.clock.callLater(self.QUIT_TIMEOUT, self._quit_timeout)

    def _still_busy(self) -> None:
        """The server is still sending: after /quit, it may be working through
        our lines (slowly, if it rate-limits us), so wait longer."""
        if self._quit_timer is not None and self._quit_timer.active():
            self._quit_timer.reset(self.QUIT_TIMEOUT)

    def _quit_timeout(self) -> None:
        self._quit_timer = None
        self.ui.warn("the server did not close the connection after /quit")
        self.finish(0 if self.interactive else 1)

    def finish(self, status: int) -> None:
        """Stop: close the connection and fire ``done`` with the exit status."""
        if self.finished:
            return
        self.finished = True
        self._stop_timer(self._quit_timer)
        self._stop_timer(self._nick_timer)
        self._quit_timer = self._nick_timer = None
        if self.client is not None:
            self.client.close()
        self.done.callback(status)
