"""
The operators file (C{--operators FILE}) and the roster read from it.

One operator a line, its name and its password hash, as printed by
C{python -m chatproto.operators NAME}::

    # Physics, room 12
    teacher scrypt$32768$8$1$<salt>$<hash>

C{#} starts a comment (names and hashes never contain one); blank lines are
skipped.  Names follow the nickname rules and are told apart as nicknames
are (L{nick_key}).  No message of this module ever shows a hash.
"""

from __future__ import annotations

import codecs
import os
import stat
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from twisted.logger import Logger

from chatproto.errors import ChatError
from chatproto.nicknames import check_nick
from chatproto.operators.passwords import PasswordHash, PasswordHashError, dummy_hash

# Hundreds of operators fit in a fraction of this; it catches pointing
# --operators at the wrong file.
MAX_FILE_BYTES = 256 * 1024


class OperatorsFileError(Exception):
    """
    The operators file cannot be used; the message says why in one line,
    for people.
    """


@dataclass(frozen=True)
class Operator:
    """
    One line of the file: C{name} as written there, C{key} its nickname key.
    """

    name: str
    key: str
    password_hash: PasswordHash = field(repr=False)


def format_line(name: str, password_hash: PasswordHash) -> str:
    """
    The operators file line for C{name}, without its newline.
    """
    return f"{name} {password_hash.encode()}"


def _parse_line(text: str) -> Operator | None:
    """
    The operator on one line; C{None} for a blank or comment line.

    @raise ValueError: saying what is wrong, never quoting the hash.
    """
    words = text.split("#", 1)[0].split()
    if not words:
        return None
    if len(words) != 2:
        found = "1 word" if len(words) == 1 else f"{len(words)} words"
        raise ValueError(
            f"expected a name and a password hash, found {found} "
            "(make each line with: python -m chatproto.operators NAME)"
        )
    name, encoded = words
    try:
        key = check_nick(name)
    except ChatError as error:
        # Not quoted: a line written by hand may have a password there.
        raise ValueError(f"the name is not valid: {error.reason}") from None
    try:
        return Operator(name, key, PasswordHash.parse(encoded))
    except PasswordHashError as error:
        raise ValueError(
            f"the password hash of {name} is not usable: {error}"
        ) from None


def parse_operators(lines: Iterable[bytes], source: str) -> dict[str, Operator]:
    """
    The operators in the lines of a file, by nickname key.

    @param source: the file's name, for messages.
    @raise OperatorsFileError: naming the first bad line.
    """
    operators: dict[str, Operator] = {}
    where: dict[str, int] = {}
    for number, raw in enumerate(lines, start=1):
        try:
            operator = _parse_line(raw.decode("utf-8"))
        except UnicodeDecodeError:
            raise OperatorsFileError(
                f"line {number} of {source} is not valid UTF-8"
            ) from None
        except ValueError as error:
            raise OperatorsFileError(f"line {number} of {source}: {error}") from None
        if operator is None:
            continue
        if operator.key in operators:
            raise OperatorsFileError(
                f"line {number} of {source}: {operator.name} is already an "
                f"operator on line {where[operator.key]}"
            )
        operators[operator.key] = operator
        where[operator.key] = number
    return operators


def read_operators(path: str) -> dict[str, Operator]:
    """
    The operators in the file at C{path}, by nickname key.

    @raise OperatorsFileError: if it cannot be read, is too big, or has a
        bad line.
    """
    try:
        with open(path, "rb") as file:
            data = file.read(MAX_FILE_BYTES + 1)
    except OSError as error:
        raise OperatorsFileError(
            f"cannot read the operators file {path}: {error.strerror}"
        ) from None
    if len(data) > MAX_FILE_BYTES:
        raise OperatorsFileError(
            f"the operators file {path} is over {MAX_FILE_BYTES} bytes; "
            "is it the right file?"
        )
    # A BOM: the file was saved by an editor that adds one.
    return parse_operators(data.removeprefix(codecs.BOM_UTF8).splitlines(), path)


class Operators:
    """
    The operators named in a file, read now and again on L{reload}.
    """

    log = Logger()

    def __init__(self, path: str) -> None:
        """
        @raise OperatorsFileError: if the file cannot be used.
        """
        self.path = os.path.abspath(path)
        self._by_key = read_operators(self.path)
        self._dummy = _dummy_for(self._by_key)
        self._warn_if_readable_by_others()

    def keys(self) -> frozenset[str]:
        """
        The nickname keys of the operators: nicknames nobody else may take.
        """
        return frozenset(self._by_key)

    def get(self, key: str) -> Operator | None:
        """
        The operator whose name has nickname key C{key}, if any.
        """
        return self._by_key.get(key)

    def __len__(self) -> int:
        return len(self._by_key)

    def __iter__(self) -> Iterator[Operator]:
        """
        The operators, in the file's order (e.g. to reserve the nicknames
        that look like theirs, with L{look_alike_key}).
        """
        return iter(tuple(self._by_key.values()))

    def dummy_hash(self) -> PasswordHash:
        """
        A hash to check an unknown name's password against, as costly as
        checking a real operator's.
        """
        return self._dummy

    def reload(self) -> None:
        """
        Read the file again; if it cannot be used, log why and keep the
        operators as they were.
        """
        try:
            by_key = read_operators(self.path)
        except OperatorsFileError as error:
            self.log.error(
                "operators not reloaded, keeping the old ones: {error}", error=error
            )
            return
        self._by_key, self._dummy = by_key, _dummy_for(by_key)
        self.log.info(
            "operators reloaded from {path}: {names}",
            path=self.path,
            names=" ".join(operator.name for operator in by_key.values()) or "none",
        )
        self._warn_if_readable_by_others()

    def _warn_if_readable_by_others(self) -> None:
        try:
            mode = stat.S_IMODE(os.stat(self.path).st_mode)
        except OSError:
            return
        if mode & 0o077:
            self.log.warn(
                "the operators file {path} can be read by other users (mode "
                "{mode:04o}); chmod 600 it",
                path=self.path,
                mode=mode,
            )


def _dummy_for(operators: Mapping[str, Operator]) -> PasswordHash:
    # The parameters most lines use, so that a wrong name takes as long as a
    # wrong password for most names.
    counts = Counter(
        (operator.password_hash.n, operator.password_hash.r, operator.password_hash.p)
        for operator in operators.values()
    )
    if not counts:
        return dummy_hash()
    return dummy_hash(*counts.most_common(1)[0][0])
