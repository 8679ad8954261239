"""
Names people choose, nicknames and room names: what one may be, when two are
the same, and a registry that keeps them unique.

These are chat-domain rules; they know nothing of bytes or connections.
"""

from __future__ import annotations

import unicodedata
from typing import Generic, TypeVar

import icu

from chatproto.errors import ChatError, Code

# ICU's implementation of Unicode TR39 (security mechanisms): its skeleton
# maps characters that look alike to one prototype.
_SPOOF_CHECKER = icu.SpoofChecker()
_DEFAULT_IGNORABLE = icu.UProperty.DEFAULT_IGNORABLE_CODE_POINT
# UTS #39, 5.4: more than four combining marks in a row is not real text;
# it stacks marks over the neighbours' lines.
MAX_MARKS_IN_A_ROW = 4


def _allowed(char: str, first: bool) -> bool:
    if char in "_-":
        return True
    # Default-ignorable code points render as nothing, or as a blank: the
    # Hangul fillers (U+3164, U+FFA0, U+115F, U+1160) are letters of that
    # kind, and a name made of them looks empty.
    if icu.Char.hasBinaryProperty(char, _DEFAULT_IGNORABLE):
        return False
    category = unicodedata.category(char)
    if category[0] == "L" or category == "Nd":
        return True
    # Combining marks let decomposed text (e + U+0308) spell "zoë"; a mark
    # has nothing to combine with at the start.
    return category[0] == "M" and not first


def _marks_are_sane(name: str) -> bool:
    """
    No more than L{MAX_MARKS_IN_A_ROW} combining marks on one character,
    and never the same mark twice in a row (which renders as one).
    """
    in_a_row = 0
    previous = ""
    for char in unicodedata.normalize("NFD", name):
        if unicodedata.category(char)[0] == "M":
            in_a_row += 1
            if in_a_row > MAX_MARKS_IN_A_ROW or char == previous:
                return False
        else:
            in_a_row = 0
        previous = char
    return True


def name_key(name: str) -> str:
    """
    The identity of a name: two names are the same if their keys are.

    NFKC folds compatibility forms (fullwidth letters, ligatures) and composes
    accents; casefold then ignores case (so C{STRASSE} is C{straße}).
    """
    return unicodedata.normalize("NFKC", name).casefold()


def look_alike_key(name: str) -> str:
    """
    Two names that look alike (Cyrillic а for Latin a, I for l, rn for m)
    have the same look-alike key: their TR39 skeleton, case-folded.  The
    skeleton comes first, so that a capital I still passes for an l.
    """
    skeleton = _SPOOF_CHECKER.getSkeleton(0, unicodedata.normalize("NFKC", name))
    return skeleton.casefold()


class NameRule:
    """
    What a name of one kind may be: 1 to C{max_length} letters, digits,
    combining marks (not first), C{_} and C{-}; nothing invisible.

    @ivar what: what such a name is called, for messages ("a nickname").
    @ivar invalid: the error code of a name that breaks the rule.
    """

    def __init__(self, what: str, max_length: int, invalid: Code) -> None:
        self.what = what
        self.max_length = max_length
        self.invalid = invalid
        self.text = f"{what} is 1 to {max_length} letters, digits, _ or -"

    def check(self, name: str) -> str:
        """
        Check that C{name} follows the rule and return its key.

        @raise ChatError: with the rule's C{invalid} code if it does not.
        """
        if (
            not 1 <= len(name) <= self.max_length
            or not all(_allowed(char, index == 0) for index, char in enumerate(name))
            or not _marks_are_sane(name)
        ):
            raise ChatError(self.invalid, self.text)
        return name_key(name)


Holder = TypeVar("Holder")


class Registry(Generic[Holder]):
    """
    Names in use, each held by one holder, unique by key and by look-alike
    key.
    """

    def __init__(
        self,
        rule: NameRule,
        taken: Code,
        same: str = "{held} is already taken",
        alike: str = "{name} looks too much like {held}",
    ) -> None:
        self.rule = rule
        self._taken = taken
        # Reasons for refusals, formatted with the name asked for and the
        # name held.
        self._same = same
        self._alike = alike
        self._by_key: dict[str, tuple[str, Holder]] = {}
        self._look_alikes: dict[str, str] = {}  # look-alike key -> key

    def __len__(self) -> int:
        return len(self._by_key)

    def __contains__(self, name: str) -> bool:
        return name_key(name) in self._by_key

    def get(self, name: str) -> Holder | None:
        found = self._by_key.get(name_key(name))
        return None if found is None else found[1]

    def holders(self) -> list[Holder]:
        return [holder for _, holder in self._by_key.values()]

    def check(self, name: str, holder: object = None) -> tuple[str, str]:
        """
        Check that C{name} is valid and free (or held by C{holder} itself).

        @return: its key and look-alike key.
        @raise ChatError: if it is invalid (the rule's code), or someone
            else holds it or one that looks like it (the registry's code).
        """
        key = self.rule.check(name)
        look_alike = look_alike_key(name)
        for found in (key, self._look_alikes.get(look_alike)):
            held = self._by_key.get(found) if found is not None else None
            if held is not None and held[1] is not holder:
                template = self._same if found == key else self._alike
                raise ChatError(self._taken, template.format(name=name, held=held[0]))
        return key, look_alike

    def claim(self, name: str, holder: Holder, previous: str | None = None) -> str:
        """
        Register C{name} for C{holder}, in place of C{previous} (the name it
        held, if any).

        @return: the name's key.
        @raise ChatError: as L{check} does.
        """
        key, look_alike = self.check(name, holder)
        if previous is not None:
            self.release(previous, holder)
        self._by_key[key] = (name, holder)
        self._look_alikes[look_alike] = key
        return key

    def release(self, name: str, holder: object) -> None:
        key = name_key(name)
        held = self._by_key.get(key)
        if held is not None and held[1] is holder:
            del self._by_key[key]
            look_alike = look_alike_key(held[0])
            if self._look_alikes.get(look_alike) == key:
                del self._look_alikes[look_alike]
