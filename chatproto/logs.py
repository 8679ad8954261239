"""
Logs for log shippers: one JSON object per line.

C{twistd -n --logger chatproto.logs.json_observer chatroom ...} writes every
log event to standard output as a line of JSON (journald, a container runtime
or a pipe takes it from there).  Each object has Twisted's own fields
(C{log_time}, C{log_level} as a name such as C{"info"}, C{log_namespace},
C{log_format}, ...), the event's fields (C{peer}, C{nick}, C{code}, ...) and
C{log_text}, the line as the text log would show it.

C{twist --log-format=json} is close, but starts each record with an ASCII
record separator (RFC 7464), which line-oriented tools do not expect.
"""

from __future__ import annotations

import sys
from typing import IO, Any

from twisted.logger import (
    FileLogObserver,
    ILogObserver,
    LogEvent,
    LogLevel,
    eventAsJSON,
    formatEvent,
)


def counted(count: int, noun: str) -> str:
    """
    C{count} and C{noun} for a log line: "1 line", "2 lines", "0 lines".
    """
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def json_line(event: LogEvent) -> str:
    """
    C{event} as one line of JSON, with its rendered text as C{log_text}.
    """
    # A copy: other observers see the same event dict.
    record = {**event, "log_text": formatEvent(event)}
    level = event.get("log_level")
    if level in LogLevel.iterconstants():
        # "info", not the constant serialized as an object: log shippers
        # filter on it.
        record["log_level"] = level.name
    return eventAsJSON(record) + "\n"


def json_observer(out: IO[Any] | None = None) -> ILogObserver:
    """
    An observer writing JSON lines to C{out} (standard output by default):
    the observer factory for twistd's C{--logger}.
    """
    return FileLogObserver(sys.stdout if out is None else out, json_line)
