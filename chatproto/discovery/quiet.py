"""
zeroconf logs through the standard library; left alone, its warnings would
go to stderr (over the client's terminal) or into twistd's log as
multi-line tracebacks.  We keep the first one, to say in one line of our own.
"""

from __future__ import annotations

import logging
import threading


class FirstProblem(logging.Handler):
    """Keeps the first warning zeroconf logs, from whichever thread."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self._first: str | None = None
        self._guard = threading.Lock()

    def emit(self, entry: logging.LogRecord) -> None:
        try:
            text = entry.getMessage().strip().splitlines()[0]
        except Exception:
            text = str(entry.msg)
        with self._guard:
            if self._first is None:
                self._first = text

    def take(self) -> str | None:
        """The first warning since the last call, if any."""
        with self._guard:
            first, self._first = self._first, None
        return first


zeroconf_problems = FirstProblem()


def quiet_zeroconf() -> None:
    """Send zeroconf's log to L{zeroconf_problems} only.  Idempotent."""
    logger = logging.getLogger("zeroconf")
    if zeroconf_problems not in logger.handlers:
        logger.addHandler(zeroconf_problems)
    logger.propagate = False
