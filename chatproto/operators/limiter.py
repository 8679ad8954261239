"""
Slowing down a connection that keeps getting the operator password wrong.

One L{AttemptLimiter} per connection.  The first few failures cost nothing
(people mistype); after that, each attempt waits, counted from the last
failure, twice as long as the one before, up to a ceiling.  A success starts
over.  Time comes from an injected clock, so tests use L{task.Clock}.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from twisted.cred.error import LoginFailed
from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.interfaces import IReactorTime
from twisted.internet.task import deferLater
from twisted.python.failure import Failure

T = TypeVar("T")

FREE_FAILURES = 3
FIRST_DELAY = 2.0
MAX_DELAY = 60.0


class AttemptInProgressError(Exception):
    """
    An attempt was made while the connection's previous one was still
    waiting or being checked.
    """


class AttemptLimiter:
    """
    One connection's operator login attempts, one at a time.

    @ivar failures: failed attempts since the last success.
    """

    def __init__(
        self,
        clock: IReactorTime,
        free_failures: int = FREE_FAILURES,
        first_delay: float = FIRST_DELAY,
        max_delay: float = MAX_DELAY,
    ) -> None:
        self._clock = clock
        self._free = free_failures
        self._first = first_delay
        self._max = max_delay
        self.failures = 0
        self._last_failure = 0.0
        self._in_progress: Deferred[Any] | None = None

    def backoff(self) -> float:
        """
        How long an attempt waits after the last failure, as things stand:
        0 for the first C{free_failures} failures, then C{first_delay},
        doubling with each further failure, at most C{max_delay}.
        """
        if self.failures == 0 or self.failures < self._free:
            return 0.0
        return min(self._max, self._first * 2.0 ** (self.failures - self._free))

    def delay(self) -> float:
        """
        How many seconds an attempt made now would wait before being
        checked.
        """
        waited = self._clock.seconds() - self._last_failure
        return max(0.0, self.backoff() - waited)

    @property
    def busy(self) -> bool:
        """
        Whether an attempt is waiting or being checked.
        """
        return self._in_progress is not None

    def attempt(self, check: Callable[[], Deferred[T]]) -> Deferred[T]:
        """
        Run C{check} (e.g. a credentials checker's C{requestAvatarId}) once
        L{delay} has passed, and count its outcome: a L{LoginFailed} (such as
        L{UnauthorizedLogin}) is a failure, a result a success.

        @return: C{check}'s result; or a failure with L{AttemptInProgressError},
            at once, if an attempt is already under way; or with
            L{CancelledError} after L{cancel}.
        """
        if self._in_progress is not None:
            return fail(AttemptInProgressError())
        wait = self.delay()
        waited: Deferred[None] = (
            deferLater(self._clock, wait) if wait > 0 else succeed(None)
        )
        self._in_progress = waited
        result = waited.addCallback(lambda _: check())
        return result.addBoth(self._count)

    def cancel(self) -> None:
        """
        Abandon the attempt under way, if any (the connection is gone): its
        timer is cancelled and its L{Deferred} fails with L{CancelledError}.
        """
        if self._in_progress is not None:
            self._in_progress.cancel()

    def _count(self, result: T | Failure) -> T | Failure:
        self._in_progress = None
        if isinstance(result, Failure):
            if result.check(LoginFailed):
                self.failures += 1
                self._last_failure = self._clock.seconds()
        else:
            self.failures = 0
        return result
