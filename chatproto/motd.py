"""
C{--motd FILE}: the message of the day, and re-reading it on SIGHUP.

The room only sees plain text lines, through L{Motd.lines}; the file, its
encoding and the signal stay out here.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from types import FrameType
from typing import Any

from twisted.application.service import Service
from twisted.internet.interfaces import IReactorFromThreads
from twisted.logger import Logger

from chatproto import wire
from chatproto.logs import counted

# A MOTD is a few lines of welcome; this catches pointing --motd at the wrong
# file, which every newcomer would otherwise receive.
MAX_MOTD_BYTES = 16 * 1024


class MotdError(Exception):
    """
    The MOTD file cannot be used; the message says why, for people.
    """


def read_motd(path: str) -> tuple[str, ...]:
    """
    The lines of the MOTD file at C{path}: decoded as UTF-8 (invalid bytes
    become U+FFFD), cleaned of control characters like anything a client
    sends, trailing spaces and blank lines dropped.

    @raise MotdError: if the file cannot be read or is too big.
    """
    try:
        with open(path, "rb") as motd:
            data = motd.read(MAX_MOTD_BYTES + 1)
    except OSError as error:
        raise MotdError(f"cannot read the MOTD file {path}: {error.strerror}") from None
    if len(data) > MAX_MOTD_BYTES:
        raise MotdError(
            f"the MOTD file {path} is over {MAX_MOTD_BYTES} bytes; "
            "is it the right file?"
        )
    lines = (wire.clean_text(line).rstrip() for line in wire.decode(data).split("\n"))
    return tuple(line for line in lines if line)


class Motd:
    """
    The message of the day from a file, read now and again on L{reload}.
    """

    log = Logger()

    def __init__(self, path: str) -> None:
        """
        @raise MotdError: if the file cannot be used.
        """
        self.path = os.path.abspath(path)
        self._lines = read_motd(self.path)

    def lines(self) -> tuple[str, ...]:
        return self._lines

    def reload(self) -> None:
        """
        Read the file again; if it cannot be used, log why and keep the
        message as it was.
        """
        try:
            self._lines = read_motd(self.path)
        except MotdError as error:
            self.log.error(
                "MOTD not reloaded, keeping the old one: {error}", error=error
            )
        else:
            self.log.info(
                "MOTD reloaded from {path}: {lines}",
                path=self.path,
                lines=counted(len(self._lines), "line"),
            )


class HangupService(Service):
    """
    Calls C{reload} in the reactor thread whenever the process gets SIGHUP
    (C{systemctl reload}, C{kill -HUP}), while the service runs.

    Without it SIGHUP would kill the server, so it is installed even when
    there is nothing to reload.
    """

    def __init__(
        self, reload: Callable[[], None], reactor: IReactorFromThreads | None = None
    ) -> None:
        if reactor is None:
            from twisted.internet import reactor as default

            reactor = default
        self._reload = reload
        self._reactor = reactor
        self._previous: Any = None

    def startService(self) -> None:
        super().startService()
        # twistd starts services once the reactor runs, after it has set up
        # its own signal handling, so this handler is not overwritten.
        self._previous = signal.signal(signal.SIGHUP, self._hangup)

    def stopService(self) -> None:
        if self.running:
            # None: the previous handler was not set from Python.
            signal.signal(signal.SIGHUP, self._previous or signal.SIG_DFL)
        return super().stopService()

    def _hangup(self, signum: int, frame: FrameType | None) -> None:
        # A signal handler may run between any two bytecodes of the reactor
        # thread; do the work from the reactor loop instead.
        self._reactor.callFromThread(self._reload)
