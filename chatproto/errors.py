"""
The one error the chat domain raises, and the codes it carries.

The codes are the first word of the line protocol's C{ERROR <code> <reason>}
lines (docs/protocol.rst, "Error codes").  They are defined here once, for
the server and for the client.
"""

from __future__ import annotations

from enum import StrEnum


class Code(StrEnum):
    NICK_INVALID = "nick-invalid"
    NICK_TAKEN = "nick-taken"
    NICK_REQUIRED = "nick-required"
    TOO_MANY_ATTEMPTS = "too-many-attempts"
    HANDSHAKE_TIMEOUT = "handshake-timeout"
    FLOOD = "flood"
    LINE_TOO_LONG = "line-too-long"
    UNKNOWN_COMMAND = "unknown-command"
    USAGE = "usage"
    NO_SUCH_NICK = "no-such-nick"
    RATE_LIMITED = "rate-limited"
    NOT_PERMITTED = "not-permitted"
    MUTED = "muted"
    SLOW_MODE = "slow-mode"
    BANNED = "banned"
    KICKED = "kicked"
    ROOM_INVALID = "room-invalid"
    NO_SUCH_ROOM = "no-such-room"
    TOO_MANY_ROOMS = "too-many-rooms"
    SERVER_FULL = "server-full"
    TOO_MANY_CONNECTIONS = "too-many-connections"


# A nickname was refused; the server asks for another.
NICK_REJECTIONS = frozenset({Code.NICK_INVALID, Code.NICK_TAKEN})
# The server closes the connection after these, and trying again is useless.
FATAL_ERRORS = frozenset(
    {
        Code.TOO_MANY_ATTEMPTS,
        Code.HANDSHAKE_TIMEOUT,
        Code.FLOOD,
        Code.KICKED,
        Code.BANNED,
    }
)
# The server closes the connection after these (maybe only for now).
CLOSING_ERRORS = FATAL_ERRORS | {Code.SERVER_FULL, Code.TOO_MANY_CONNECTIONS}


class ChatError(Exception):
    """
    A request was refused.  Front ends turn it into one error reply, e.g. the
    line protocol's C{ERROR <code> <reason>}.

    @ivar code: a short machine-readable word such as C{nick-taken}.
    @ivar reason: a sentence for people.
    """

    def __init__(self, code: Code, reason: str) -> None:
        super().__init__(code, reason)
        self.code = code
        self.reason = reason
