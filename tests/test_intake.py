"""
The intake on its own: order, pacing, waiting and stopping, with a fake
reader and a fake clock.
"""

from __future__ import annotations

import sys

from twisted.internet.defer import Deferred
from twisted.internet.task import Clock

from chatproto.intake import ENTRIES_PER_TOKEN, Intake
from chatproto.limits import TokenBucket


class Reader:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def pause_input(self) -> None:
        self.calls.append("pause")

    def resume_input(self) -> None:
        self.calls.append("resume")


def make(rate: float = 2, burst: int = 3) -> tuple[Intake, Clock, Reader, list[bool]]:
    clock, reader, told = Clock(), Reader(), []
    bucket = TokenBucket(rate, burst, clock) if rate else None
    return Intake(clock, bucket, reader, told.append), clock, reader, told


def test_a_burst_goes_at_once_then_the_rate_in_order() -> None:
    intake, clock, reader, told = make()
    done: list[int] = []
    for i in range(6):
        intake.admit(lambda i=i: done.append(i))
    assert done == [0, 1, 2]
    assert reader.calls == ["pause"]
    assert told == [True]
    clock.advance(0.5)
    assert done == [0, 1, 2, 3]
    assert told == [True, False], "told once, counted each time"
    clock.advance(1.0)
    assert done == list(range(6))
    assert reader.calls == ["pause", "resume"]
    assert not clock.getDelayedCalls()


def test_told_again_only_after_the_rate_was_kept() -> None:
    intake, clock, _, told = make(rate=1, burst=1)
    intake.admit(lambda: None)
    intake.admit(lambda: None)
    clock.advance(1)
    assert told == [True]
    clock.advance(5)  # the bucket refills: the member kept its rate
    intake.admit(lambda: None)
    intake.admit(lambda: None)
    intake.admit(lambda: None)
    assert told == [True, True]


def test_lines_wait_for_what_is_pending_and_keep_their_order() -> None:
    intake, _, reader, _ = make(rate=0)
    done: list[str] = []
    pending: Deferred[None] = Deferred()
    # As the session does: what the pending work does, then wait for it.
    pending.addCallback(lambda _: done.append("pending done"))
    intake.admit(lambda: intake.wait_for(pending))
    intake.admit(lambda: done.append("after"))
    assert done == [] and reader.calls == ["pause"]
    pending.callback(None)
    assert done == ["pending done", "after"]
    assert reader.calls == ["pause", "resume"]


def test_a_chained_deferred_is_still_waited_for() -> None:
    intake, _, _, _ = make(rate=0)
    inner: Deferred[None] = Deferred()
    outer: Deferred[None] = Deferred()
    outer.addCallback(lambda _: inner)
    outer.callback(None)  # called, yet waiting on inner
    done: list[str] = []
    intake.wait_for(outer)
    intake.admit(lambda: done.append("line"))
    assert done == []
    inner.callback(None)
    assert done == ["line"]


def test_stop_forgets_what_is_held_and_its_timer() -> None:
    intake, clock, reader, _ = make(rate=1, burst=1)
    done: list[int] = []
    intake.admit(lambda: done.append(1))
    intake.admit(lambda: done.append(2))
    intake.stop()
    assert not clock.getDelayedCalls()
    clock.advance(10)
    intake.admit(lambda: done.append(3))
    assert done == [1]
    assert reader.calls == ["pause"], "a stopped member is not read again"


def test_an_action_that_stops_the_intake_ends_the_rest() -> None:
    intake, _, _, _ = make(rate=0)
    done: list[int] = []
    pending: Deferred[None] = Deferred()
    intake.wait_for(pending)
    intake.admit(lambda: (done.append(1), intake.stop()))  # e.g. /quit
    intake.admit(lambda: done.append(2))
    pending.callback(None)
    assert done == [1]


def test_history_entries_cost_tokens() -> None:
    intake, _, _, _ = make(rate=1, burst=2)
    intake.charge(2 * ENTRIES_PER_TOKEN)
    done: list[int] = []
    intake.admit(lambda: done.append(1))
    assert done == []


def test_a_member_gone_while_waiting_is_not_read_again() -> None:
    intake, _, reader, _ = make(rate=0)
    pending: Deferred[None] = Deferred()
    intake.wait_for(pending)
    intake.admit(lambda: None)
    intake.stop()
    pending.callback(None)
    assert reader.calls == ["pause"]


def test_take_up_to_lets_through_what_the_rate_allows() -> None:
    intake, clock, reader, told = make(rate=2, burst=3)
    assert intake.take_up_to(5) == 3  # the burst
    assert intake.take_up_to(5) == 0
    clock.advance(1.0)
    assert intake.take_up_to(5) == 2
    assert reader.calls == [] and told == [], "the caller admits the rest"


def test_take_up_to_without_a_rate_takes_all() -> None:
    intake, _, _, _ = make(rate=0)
    assert intake.take_up_to(1000) == 1000


def test_take_up_to_takes_nothing_while_anything_is_held_or_waited_for() -> None:
    intake, clock, _, _ = make(rate=2, burst=1)
    intake.admit(lambda: None)
    intake.admit(lambda: None)  # held: over the rate
    clock.advance(0.1)
    assert intake.take_up_to(3) == 0, "a line would jump the queue"
    clock.advance(0.4)  # the held line goes
    clock.advance(10)  # the bucket refills
    assert intake.take_up_to(3) == 1

    waiting, _, _, _ = make(rate=0)
    waiting.wait_for(Deferred())
    assert waiting.take_up_to(3) == 0
    stopped, _, _, _ = make(rate=0)
    stopped.stop()
    assert stopped.take_up_to(3) == 0


def test_allowance_is_what_take_up_to_would_let_through() -> None:
    intake, clock, _, _ = make(rate=2, burst=3)
    assert intake.idle and intake.allowance() == 3
    intake.take_up_to(1)
    assert intake.allowance() == 2
    clock.advance(0.25)  # half a token
    assert intake.allowance() == 2
    clock.advance(0.25)
    assert intake.allowance() == 3
    unlimited, _, _, _ = make(rate=0)
    assert unlimited.allowance() == sys.maxsize


def test_no_allowance_while_anything_is_held_waited_for_or_gone() -> None:
    intake, _, _, _ = make(rate=2, burst=1)
    intake.admit(lambda: None)
    intake.admit(lambda: None)  # held
    assert not intake.idle and intake.allowance() == 0
    waiting, _, _, _ = make(rate=0)
    waiting.wait_for(Deferred())
    assert not waiting.idle and waiting.allowance() == 0
    stopped, _, _, _ = make(rate=0)
    stopped.stop()
    assert not stopped.idle and stopped.allowance() == 0
