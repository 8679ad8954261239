"""
The C{twisted.cred} credentials checker for operators: C{/oper NAME
PASSWORD} against the operators file.

Each check costs a scrypt (about 0.1 s of one core, see passwords.py), so it
runs on a thread of the checker's own, never on the reactor thread: a flood
of attempts queues there and the chat goes on.  One thread, because the
project's machines have two cores: the checks can take at most one of them,
never the reactor's.  Its own pool rather than the reactor's, so that a
flood does not delay the reactor pool's other work (name resolution).
"""

from __future__ import annotations

from typing import Any

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
    """

    credentialInterfaces = (IUsernamePassword,)
    log = Logger()

    def __init__(
        self,
        operators: Operators,
        reactor: IReactorFromThreads | None = None,
        threads: int = 1,
    ) -> None:
        if reactor is None:
            from twisted.internet import reactor as default

            reactor = default
        self._operators = operators
        self._reactor = reactor
        self.threads = threads
        self._pool: ThreadPool | None = None

    def startService(self) -> None:
        super().startService()
        # A stopped ThreadPool cannot start again: a new one each time.
        self._pool = ThreadPool(0, self.threads, "chatproto-operators")
        self._pool.start()

    def stopService(self) -> None:
        super().stopService()
        if self._pool is not None:
            # Joins the thread: waits for the check in progress, if any.
            self._pool.stop()
            self._pool = None

    def requestAvatarId(self, credentials: Any) -> Deferred[str]:
        """
        Check C{credentials} (an L{IUsernamePassword}, whose C{username} and
        C{password} may be bytes, UTF-8, or text).

        @return: a L{Deferred} that fires, on the reactor thread, with the
            operator's name as the file spells it, or fails with
            L{UnauthorizedLogin}: the same failure, after the same work, for
            an unknown name as for a wrong password.
        """
        if self._pool is None:
            return fail(UnauthorizedLogin("operator logins are not being checked"))
        name = _text(credentials.username)
        password = _text(credentials.password)
        # Looked up here, on the reactor thread, so that a reload never
        # races with a check.
        operator = None if name is None else self._operators.get(nick_key(name))
        if operator is None or password is None:
            password_hash = self._operators.dummy_hash()
        else:
            password_hash = operator.password_hash

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

        return (
            deferToThreadPool(
                self._reactor, self._pool, password_hash.matches, password or ""
            )
            .addCallback(decide)
            .addErrback(failed)
        )
