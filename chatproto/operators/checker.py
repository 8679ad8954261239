"""
The C{twisted.cred} credentials checker for operators: C{/oper NAME
PASSWORD} against the operators file.

Each check costs a scrypt (about 0.1 s of one core, see passwords.py), so it
runs on a thread of the checker's own, never on the reactor thread: a flood
of attempts queues there and the chat goes on.  One thread, because the
project's machines have two cores: the checks can take at most one of them,
never the reactor's.  Its own pool rather than the reactor's, so that a
flood does not delay the reactor pool's other work (name resolution).

The queue is bounded (L{MAX_PENDING}, a few seconds of work): past it, an
attempt is refused at once with L{CheckerBusyError} rather than waiting
behind the flood, and memory stays bounded.  On stop, queued checks are
dropped, not computed, so a flood cannot hold up the server's exit.
"""

from __future__ import annotations

from typing import Any, TypeVar

from twisted.application.service import Service
from twisted.cred.checkers import ICredentialsChecker
from twisted.cred.credentials import IUsernamePassword
from twisted.cred.error import UnauthorizedLogin
from twisted.internet.defer import Deferred, fail
from twisted.internet.interfaces import IReactorFromThreads
from twisted.internet.threads import deferToThreadPool
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.python.threadpool import ThreadPool
from zope.interface import implementer

from chatproto.nicknames import nick_key
from chatproto.operators.roster import Operators

T = TypeVar("T")

# Checks queued or running at once, all connections together: about 3 s of
# work on one thread.
MAX_PENDING = 32


class CheckerBusyError(Exception):
    """
    Too many operator logins are being checked at once; try again shortly.
    Not a L{LoginFailed}: the attempt was not checked, so it does not count
    as a wrong password.
    """


class CheckerStoppedError(UnauthorizedLogin):
    """
    The server stopped before the password was checked.
    """


def _text(value: bytes | str) -> str | None:
    # twisted.cred's UsernamePassword carries bytes; the chat core has text.
    if isinstance(value, str):
        return value
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return None


@implementer(ICredentialsChecker)
class OperatorChecker(Service):
    """
    Checks an operator's name and password against L{Operators}.

    A service: add it to the server's L{MultiService}, and its thread starts
    and stops with the server.  While it is not running, every check fails.

    @ivar threads: the size of its thread pool.
    @ivar pending: checks queued or running now.
    """

    credentialInterfaces = (IUsernamePassword,)
    log = Logger()

    def __init__(
        self,
        operators: Operators,
        reactor: IReactorFromThreads | None = None,
        threads: int = 1,
        max_pending: int = MAX_PENDING,
    ) -> None:
        if reactor is None:
            from twisted.internet import reactor as default

            reactor = default
        self._operators = operators
        self._reactor = reactor
        self.threads = threads
        self.max_pending = max_pending
        self.pending = 0
        self._pool: ThreadPool | None = None

    def startService(self) -> None:
        super().startService()
        # A stopped ThreadPool cannot start again: a new one each time.
        self._pool = ThreadPool(0, self.threads, "chatproto-operators")
        self._pool.start()

    def stopService(self) -> None:
        super().stopService()
        if self._pool is not None:
            pool, self._pool = self._pool, None
            # Joins the thread: waits for the check in progress, if any;
            # the queued ones see that the pool is gone and skip the work.
            pool.stop()

    def requestAvatarId(self, credentials: Any) -> Deferred[str]:
        """
        Check C{credentials} (an L{IUsernamePassword}, whose C{username} and
        C{password} may be bytes, UTF-8, or text).

        @return: a L{Deferred} that fires, on the reactor thread, with the
            operator's name as the file spells it, or fails with
            L{UnauthorizedLogin}: the same failure, after the same work, for
            an unknown name as for a wrong password (L{CheckerStoppedError},
            a kind of it, if the checker is not running); or, at once, with
            L{CheckerBusyError} if L{max_pending} checks are under way.
        """
        pool = self._pool
        if pool is None:
            return fail(CheckerStoppedError("operator logins are not being checked"))
        if self.pending >= self.max_pending:
            return fail(CheckerBusyError("too many operator logins at once"))
        name = _text(credentials.username)
        password = _text(credentials.password)
        # Looked up here, on the reactor thread, so that a reload never
        # races with a check.
        operator = None if name is None else self._operators.get(nick_key(name))
        if operator is None or password is None:
            password_hash = self._operators.dummy_hash()
        else:
            password_hash = operator.password_hash

        def check() -> bool:
            # On the checker's thread.  Reading _pool there is safe: it is
            # one reference, replaced by None on the reactor thread.
            if self._pool is not pool:
                raise CheckerStoppedError("the server stopped")
            return password_hash.matches(password or "")

        def done(result: T) -> T:
            self.pending -= 1
            return result

        def decide(matched: bool) -> str:
            if operator is None or not matched:
                raise UnauthorizedLogin("wrong operator name or password")
            return operator.name

        def failed(failure: Failure) -> Failure:
            # Never the credentials; the traceback shows no values.
            if not failure.check(UnauthorizedLogin):
                self.log.failure("checking an operator password failed", failure)
                return Failure(UnauthorizedLogin("the password could not be checked"))
            return failure

        self.pending += 1
        return (
            deferToThreadPool(self._reactor, pool, check)
            .addBoth(done)
            .addCallback(decide)
            .addErrback(failed)
        )
