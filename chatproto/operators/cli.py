"""
C{python -m chatproto.operators NAME}: make an operator's line for the
operators file.

The password comes from standard input (its first line), or, on a
terminal, from a prompt asked twice without echo.  It is never an argument:
arguments show in C{ps} and the shell's history.

Exit status: 0, the line is printed; 1, the password was refused or not
given; 2, a bad name or usage.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Sequence

from chatproto.errors import ChatError
from chatproto.nicknames import check_nick
from chatproto.operators.passwords import PasswordRefusedError, hash_password
from chatproto.operators.roster import format_line

PROG = "python -m chatproto.operators"


class NoPasswordError(Exception):
    """No password could be had; the message says why."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=(
            "Print an operators file line for NAME, with a salted scrypt hash "
            "of a password read from standard input (the first line) or, on "
            "a terminal, asked for twice. Append it to the file given to "
            "twistd chatroom --operators."
        ),
        epilog=f"example: {PROG} teacher >> /etc/chatroom/operators",
    )
    parser.add_argument("name", metavar="NAME", help="the operator's nickname")
    return parser


def read_password(name: str) -> str:
    """
    The password, from the terminal (asked twice) or standard input.

    @raise NoPasswordError: if it is not given, or twice differently.
    """
    if sys.stdin.isatty():
        try:
            first = getpass.getpass(f"Password for {name}: ")
            second = getpass.getpass("The same password again: ")
        except EOFError:
            raise NoPasswordError("no password given") from None
        if first != second:
            raise NoPasswordError("the two passwords differ; nothing was printed")
        return first
    line = sys.stdin.buffer.readline()
    if not line:
        raise NoPasswordError("no password on standard input")
    try:
        return line.rstrip(b"\r\n").decode("utf-8")
    except UnicodeDecodeError:
        raise NoPasswordError("the password on standard input is not UTF-8") from None


def main(argv: Sequence[str] | None = None) -> int:
    arguments = _parser().parse_args(argv)
    name: str = arguments.name
    try:
        check_nick(name)
    except ChatError as error:
        print(
            f"{PROG}: {name!r} cannot be an operator: {error.reason}", file=sys.stderr
        )
        return 2
    try:
        line = format_line(name, hash_password(read_password(name)))
    except (NoPasswordError, PasswordRefusedError) as error:
        print(f"{PROG}: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return 1
    print(line)
    return 0
