"""
The per-connection limiter on operator logins, on a fake clock: three
failures are free, then each attempt waits longer; a success starts over.
"""

from __future__ import annotations

from typing import Any

import pytest
from twisted.cred.error import UnauthorizedLogin
from twisted.internet.defer import CancelledError, Deferred, fail, succeed
from twisted.internet.task import Clock
from twisted.python.failure import Failure

from chatproto.operators.limiter import AttemptInProgressError, AttemptLimiter


class Checks:
    """A stand-in checker: records when it is asked, answers as told."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.asked_at: list[float] = []
        self.answer: str | None = None  # None: wrong password
        self.pending: Deferred[str] | None = None

    def right(self) -> Deferred[str]:
        self.asked_at.append(self.clock.seconds())
        return succeed("teacher")

    def wrong(self) -> Deferred[str]:
        self.asked_at.append(self.clock.seconds())
        return fail(UnauthorizedLogin("wrong operator name or password"))

    def slow(self) -> Deferred[str]:
        self.asked_at.append(self.clock.seconds())
        self.pending = Deferred()
        return self.pending


def outcome(d: Deferred[Any]) -> list[Any]:
    results: list[Any] = []
    d.addBoth(results.append)
    return results


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_three_failures_are_free_then_delays_double_up_to_a_ceiling(
    clock: Clock,
) -> None:
    limiter = AttemptLimiter(clock, free_failures=3, first_delay=2, max_delay=10)
    checks = Checks(clock)
    for _ in range(3):
        (result,) = outcome(limiter.attempt(checks.wrong))
        assert isinstance(result, Failure) and result.check(UnauthorizedLogin)
    assert checks.asked_at == [0, 0, 0]
    assert limiter.failures == 3
    waits = []
    for _ in range(5):
        waits.append(limiter.delay())
        results = outcome(limiter.attempt(checks.wrong))
        assert results == []  # waiting: not checked yet
        clock.advance(limiter.delay())
        assert len(results) == 1 and results[0].check(UnauthorizedLogin)
    assert waits == [2, 4, 8, 10, 10]
    assert checks.asked_at[3:] == [2, 6, 14, 24, 34]
    assert clock.getDelayedCalls() == []


def test_the_delay_counts_from_the_last_failure(clock: Clock) -> None:
    limiter = AttemptLimiter(clock, free_failures=1, first_delay=4)
    checks = Checks(clock)
    outcome(limiter.attempt(checks.wrong))
    assert limiter.delay() == 4
    clock.advance(3)
    assert limiter.delay() == 1
    results = outcome(limiter.attempt(checks.wrong))
    clock.advance(0.999)
    assert results == []
    clock.advance(0.001)
    assert len(results) == 1
    clock.advance(100)  # a member who waits by themselves does not wait again
    assert limiter.delay() == 0
    outcome(limiter.attempt(checks.wrong))
    assert checks.asked_at == [0, 4, 104]


def test_a_success_starts_over(clock: Clock) -> None:
    limiter = AttemptLimiter(clock)
    checks = Checks(clock)
    for _ in range(4):
        wait = limiter.delay()
        outcome(limiter.attempt(checks.wrong))
        clock.advance(wait)
    assert limiter.failures == 4 and limiter.delay() == 4
    results = outcome(limiter.attempt(checks.right))
    clock.advance(4)
    assert results == ["teacher"]
    assert limiter.failures == 0 and limiter.delay() == 0


def test_other_errors_are_passed_on_without_counting(clock: Clock) -> None:
    limiter = AttemptLimiter(clock, free_failures=0)
    (result,) = outcome(limiter.attempt(lambda: fail(RuntimeError("bug"))))
    assert isinstance(result, Failure) and result.check(RuntimeError)
    assert limiter.failures == 0 and limiter.delay() == 0


def test_one_attempt_at_a_time(clock: Clock) -> None:
    limiter = AttemptLimiter(clock)
    checks = Checks(clock)
    first = outcome(limiter.attempt(checks.slow))
    assert limiter.busy
    (second,) = outcome(limiter.attempt(checks.right))
    assert second.check(AttemptInProgressError)
    assert checks.asked_at == [0]
    assert checks.pending is not None
    checks.pending.errback(UnauthorizedLogin())
    assert first[0].check(UnauthorizedLogin)
    assert not limiter.busy
    assert limiter.failures == 1  # the refused attempt did not count
    assert outcome(limiter.attempt(checks.right)) == ["teacher"]


def test_cancel_while_waiting_stops_the_timer(clock: Clock) -> None:
    limiter = AttemptLimiter(clock, free_failures=0)
    checks = Checks(clock)
    outcome(limiter.attempt(checks.wrong))
    results = outcome(limiter.attempt(checks.wrong))
    assert len(clock.getDelayedCalls()) == 1
    limiter.cancel()
    assert results[0].check(CancelledError)
    assert clock.getDelayedCalls() == []
    assert checks.asked_at == [0]
    assert not limiter.busy and limiter.failures == 1


def test_cancel_while_checking_abandons_the_check(clock: Clock) -> None:
    limiter = AttemptLimiter(clock)
    checks = Checks(clock)
    results = outcome(limiter.attempt(checks.slow))
    limiter.cancel()
    assert results[0].check(CancelledError)
    assert checks.pending is not None and checks.pending.called
    assert not limiter.busy
    limiter.cancel()  # nothing under way: nothing happens


def test_the_default_is_three_free_failures_then_two_seconds(clock: Clock) -> None:
    limiter = AttemptLimiter(clock)
    checks = Checks(clock)
    delays = []
    for _ in range(10):
        wait = limiter.delay()
        results = outcome(limiter.attempt(checks.wrong))
        clock.advance(wait)
        assert len(results) == 1
        delays.append(wait)
    assert delays == [0, 0, 0, 2, 4, 8, 16, 32, 60, 60]
