"""
A member's intake: what it sends, acted on in order, at its rate.

Flood control throttles and never drops: a line over the rate waits, in
order, and reading from the member stops until it may go on, so that TCP
pushes back on the sender.  Lines also wait while something they depend on
is pending (a room read from disk, an operator's password being checked).
"""

from __future__ import annotations

import sys
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IDelayedCall, IReactorTime

from chatproto.limits import TokenBucket

# Replayed history entries cost flood-control tokens too, one per this
# many, so that /since and /history cannot amplify a few bytes into
# megabytes at the full line rate.
ENTRIES_PER_TOKEN = 50


class Reader(Protocol):
    """The reading side of a member's front end."""

    def pause_input(self) -> None: ...

    def resume_input(self) -> None: ...


class Intake:
    """
    @param bucket: the member's rate, or C{None} for no limit.
    @param throttled: called each time the member goes over its rate, with
        C{True} the first time since it was last within it (when it is
        worth telling the member).
    """

    def __init__(
        self,
        clock: IReactorTime,
        bucket: TokenBucket | None,
        reader: Reader,
        throttled: Callable[[bool], None],
    ) -> None:
        self._clock = clock
        self._bucket = bucket
        self._reader = reader
        self._throttled = throttled
        self._held: deque[tuple[Callable[..., None], tuple[Any, ...]]] = deque()
        self._waiting: Deferred[Any] | None = None
        self._timer: IDelayedCall | None = None
        self._paused = False
        self._told = False
        self._stopped = False

    def admit(self, action: Callable[..., None], *args: Any) -> None:
        """
        Act on something the member sent, C{action(*args)}, after what came
        before it.
        """
        if self._stopped:
            return
        if self._held or self._waiting is not None or not self._take():
            self._held.append((action, args))
            self._drain()
        else:
            # Nothing waits and the rate allows it: most lines, acted on
            # without a trip through the queue.
            action(*args)

    @property
    def idle(self) -> bool:
        """
        Nothing is held back or waited for (and the member is not gone): a
        line admitted now is acted on at once if the rate allows it.
        """
        return not (self._stopped or self._held or self._waiting is not None)

    def allowance(self) -> int:
        """
        How many lines would be acted on at once if they came now: none
        unless L{idle}, then as many as the rate allows (C{sys.maxsize}
        without a rate).
        """
        if not self.idle:
            return 0
        if self._bucket is None:
            return sys.maxsize
        return self._bucket.available()

    def take_up_to(self, count: int) -> int:
        """
        Let up to C{count} lines through at once, ahead of nothing: as many
        as the rate allows, none unless L{idle}.  The caller acts on that
        many lines, in order, right away; the rest go through L{admit}.
        """
        if not self.idle:
            return 0
        if self._bucket is None:
            return count
        taken = 0
        while taken < count and self._take():
            taken += 1
        return taken

    def wait_for(self, pending: Deferred[Any]) -> None:
        """
        Hold what the member sends until C{pending} has fired and run its
        callbacks (at once, if it has).
        """
        # Not pending.called: a Deferred chained to another one is called
        # and yet still waiting.
        fired: list[bool] = []

        def finished(result: object) -> object:
            fired.append(True)
            if self._waiting is pending:
                self._waiting = None
                self._drain()
            return result

        pending.addBoth(finished)
        if not fired:
            self._waiting = pending

    def charge(self, entries: int) -> None:
        """The member was sent C{entries} history entries: they cost tokens."""
        if self._bucket is not None:
            self._bucket.spend(entries / ENTRIES_PER_TOKEN)

    def stop(self) -> None:
        """The member is gone: forget what it sent, act on nothing more."""
        self._stopped = True
        self._held.clear()
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None

    def _take(self) -> bool:
        """Take a token for the next line, if the member's rate allows it."""
        bucket = self._bucket
        if bucket is None:
            return True
        if not bucket.ready():
            return False
        if self._told and bucket.full():
            self._told = False
        bucket.take()
        return True

    def _drain(self) -> None:
        while self._held:
            if self._waiting is not None:
                self._pause()
                return
            if not self._take():
                assert self._bucket is not None
                self._throttle(self._bucket)
                return
            action, args = self._held.popleft()
            action(*args)
        if self._paused and self._timer is None:
            if self._waiting is None and not self._stopped:
                self._paused = False
                self._reader.resume_input()

    def _pause(self) -> None:
        if not self._paused:
            self._paused = True
            self._reader.pause_input()

    def _throttle(self, bucket: TokenBucket) -> None:
        if self._timer is not None:
            return
        first = not self._told
        self._told = True
        self._throttled(first)
        self._pause()
        self._timer = self._clock.callLater(bucket.wait(), self._unthrottle)

    def _unthrottle(self) -> None:
        self._timer = None
        self._drain()
