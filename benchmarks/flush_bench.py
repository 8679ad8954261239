#!/usr/bin/env python3
"""The fan-out's per-member Python cost, in process: Fanout.flush of one event
to 500 members whose delivery does nothing, best of 7.

    python benchmarks/flush_bench.py                         # this tree's fanout.py
    python benchmarks/flush_bench.py --fanout OLD/fanout.py  # another version's

At a fixed light rate each turn carries about one message, so this loop runs
once per delivery: see docs/performance.rst, "What each lever is worth".
"""

from __future__ import annotations

import argparse
import importlib.util
import inspect
import timeit
from types import ModuleType

from chatproto.events import Batch, Event
from chatproto.metrics import NO_METRICS


class Recipient:
    __slots__ = ()

    def deliver_batch(self, batch: Batch) -> None:
        pass


class Member:
    __slots__ = ("fanout_cursor", "recipient", "nick")

    def __init__(self) -> None:
        self.fanout_cursor = 0
        self.recipient = Recipient()
        self.nick = "m"


def load(path: str | None) -> ModuleType:
    if path is None:
        from chatproto import fanout

        return fanout
    spec = importlib.util.spec_from_file_location("other_fanout", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--fanout", default=None, help="a fanout.py to measure instead")
    ap.add_argument("--members", type=int, default=500)
    args = ap.parse_args()
    members = [Member() for _ in range(args.members)]
    fanout = load(args.fanout).Fanout(lambda: members, lambda call: None, NO_METRICS)
    event = Event("MSG", "m0", "hello")
    # Fanout.post took one event before 2026-12-03 and takes a sequence
    # since: an older fanout.py (--fanout) is posted to its own way.
    posted: object = (event,)
    if "events" not in inspect.signature(fanout.post).parameters:
        posted = event

    def turn() -> None:
        fanout.post(posted)
        fanout.flush()

    best = min(timeit.repeat(turn, number=2000, repeat=7)) / 2000
    print(f"{best / args.members * 1e9:.0f} ns per member per turn")


if __name__ == "__main__":
    main()
