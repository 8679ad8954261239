"""
Who may moderate: the operators file, its password hashes, the
C{twisted.cred} checker over it, and the per-connection attempt limiter.

For the core::

    operators = Operators(path)        # OperatorsFileError: stop start-up
    checker = OperatorChecker(operators, reactor)
    checker.setServiceParent(service)  # its thread runs with the server
    operators.reload()                 # on SIGHUP (HangupService), with the MOTD's
    operators.keys()                   # nickname keys nobody else may take
    operators.get(nick_key(nick))      # the Operator with that nickname, or None

    limiter = AttemptLimiter(reactor)  # one per connection; cancel() when it goes
    limiter.attempt(lambda: checker.requestAvatarId(UsernamePassword(name, pw)))
    # -> Deferred firing with the operator's name, or failing with
    #    UnauthorizedLogin (a wrong name or password), CheckerBusyError (a
    #    flood: try later), AttemptInProgressError or CancelledError

C{python -m chatproto.operators NAME} prints a line for the file.
"""

from chatproto.operators.checker import (
    CheckerBusyError,
    CheckerStoppedError,
    OperatorChecker,
)
from chatproto.operators.limiter import AttemptInProgressError, AttemptLimiter
from chatproto.operators.passwords import (
    PasswordHash,
    PasswordHashError,
    PasswordRefusedError,
    check_password,
    hash_password,
)
from chatproto.operators.roster import (
    Operator,
    Operators,
    OperatorsFileError,
    format_line,
    parse_operators,
    read_operators,
)

__all__ = [
    "AttemptInProgressError",
    "AttemptLimiter",
    "CheckerBusyError",
    "CheckerStoppedError",
    "Operator",
    "OperatorChecker",
    "Operators",
    "OperatorsFileError",
    "PasswordHash",
    "PasswordHashError",
    "PasswordRefusedError",
    "check_password",
    "format_line",
    "hash_password",
    "parse_operators",
    "read_operators",
]
