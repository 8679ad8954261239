"""
Nickname rules: what a nickname may be, and when two nicknames are the same
(see L{chatproto.names}, which room names share).
"""

from __future__ import annotations

from chatproto.errors import Code
from chatproto.names import NameRule, look_alike_key, name_key

MAX_NICK_LENGTH = 24
NICKNAMES = NameRule("a nickname", MAX_NICK_LENGTH, Code.NICK_INVALID)
RULE = NICKNAMES.text

nick_key = name_key
check_nick = NICKNAMES.check

__all__ = [
    "MAX_NICK_LENGTH",
    "NICKNAMES",
    "RULE",
    "check_nick",
    "look_alike_key",
    "nick_key",
]
