"""
Nickname rules: what a nickname may be, and when two nicknames are the same.

These are chat-domain rules; they know nothing of bytes or connections.
"""

from __future__ import annotations

import unicodedata

import icu

from chatproto.errors import ChatError

# ICU's implementation of Unicode TR39 (security mechanisms): its skeleton
# maps characters that look alike to one prototype.
_SPOOF_CHECKER = icu.SpoofChecker()

MAX_NICK_LENGTH = 24
RULE = f"a nickname is 1 to {MAX_NICK_LENGTH} letters, digits, _ or -"


def _allowed(char: str, first: bool) -> bool:
    if char in "_-":
        return True
    category = unicodedata.category(char)
    if category[0] == "L" or category == "Nd":
        return True
    # Combining marks let decomposed text (e + U+0308) spell "zoë"; a mark
    # has nothing to combine with at the start.
    return category[0] == "M" and not first


def nick_key(nick: str) -> str:
    """
    The identity of a nickname: two nicknames are the same if their keys are.

    NFKC folds compatibility forms (fullwidth letters, ligatures) and composes
    accents; casefold then ignores case.
    """
    return unicodedata.normalize("NFKC", nick).casefold()


def look_alike_key(nick: str) -> str:
    """
    Two nicknames that look alike (Cyrillic а for Latin a, I for l, rn for
    m) have the same look-alike key: their TR39 skeleton, case-folded.  The
    skeleton comes first, so that a capital I still passes for an l.
    """
    skeleton = _SPOOF_CHECKER.getSkeleton(0, unicodedata.normalize("NFKC", nick))
    return skeleton.casefold()


def check_nick(nick: str) -> str:
    """
    Check that C{nick} is a valid nickname and return its key.

    @raise ChatError: with code C{nick-invalid} if it is not.
    """
    if not 1 <= len(nick) <= MAX_NICK_LENGTH or not all(
        _allowed(char, index == 0) for index, char in enumerate(nick)
    ):
        raise ChatError("nick-invalid", RULE)
    return nick_key(nick)
