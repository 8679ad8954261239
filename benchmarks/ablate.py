#!/usr/bin/env python3
"""Run the chatroom server with one of its performance levers taken out.

    python benchmarks/ablate.py --without coalescing -- -n --pidfile= chatroom ...

Everything after ``--`` is twistd's command line. This process becomes the
server (run.py measures its pid), so it fits ``run.py --server-cmd`` and
``run.py --also NAME=CMD`` (the same run as the unpatched server); see
docs/performance.rst, "What each lever is worth". Levers (--without):

coalescing
    every room event is written to each member as it is posted, one
    ``transport.write`` per member per line, instead of once per member per
    reactor turn.
nodelay
    ``TCP_NODELAY`` is switched off again on accepted sockets (Nagle's
    algorithm on, as in the baseline).

direct
    every write goes through Twisted's buffering (``transport.write``), to
    the socket on the reactor's next iteration, instead of straight to the
    socket when nothing waits to be sent on it.

Candidate levers (--with), measured before they were kept or dropped:

iteration-hook
    a turn is flushed by a hook after the reactor's ``doIteration`` (the
    reads of the turn), instead of a zero-delay ``callLater``.
gc-freeze
    ``gc.freeze()`` once the reactor runs: the start-up objects leave the
    collector's generations.
gc-threshold
    the youngest generation is collected every 50,000 allocations instead of
    700 (with ``gc-freeze``'s freeze too).
flush-gap-2, flush-gap-5
    a room's turns are flushed at least 2 (5) ms apart: a flush due sooner
    after the last one waits, so a busy room hands each member more lines
    per write (fewer ``send()`` calls per delivery), while a quiet room's
    line still goes out at once.
gc-report
    no change: every collection of the oldest generation, and any collection
    that took 0.5 ms or more, is written to the server's log
    (``gc gen=2 1.23 ms``), so the pauses are measured where they happen.

The backlog lever needs no patch: ``--backlog 50`` is Twisted's default.
"""

from __future__ import annotations

import argparse
import socket
import sys
from collections.abc import Callable
from typing import Any


def without_coalescing() -> None:
    from chatproto import room

    init = room.Room.__init__

    def no_schedule(self: room.Room, *args: Any, **kwargs: Any) -> None:
        kwargs["schedule"] = None
        init(self, *args, **kwargs)

    room.Room.__init__ = no_schedule  # type: ignore[method-assign]


def without_nodelay() -> None:
    from chatproto import protocol

    tune = protocol.tune_socket

    def nagle(transport: Any) -> None:
        tune(transport)
        handle = getattr(transport, "getHandle", lambda: None)()
        if isinstance(handle, socket.socket):
            handle.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 0)

    protocol.tune_socket = nagle


def without_direct() -> None:
    from chatproto import protocol

    protocol.direct_writes = lambda transport: transport


def schedule_with(schedule: Any) -> None:
    from chatproto import rooms

    init = rooms.Rooms.__init__

    def patched(self: rooms.Rooms, *args: Any, **kwargs: Any) -> None:
        kwargs["schedule"] = schedule
        init(self, *args, **kwargs)

    rooms.Rooms.__init__ = patched  # type: ignore[method-assign]


def with_iteration_hook() -> None:
    from twisted.internet import reactor

    pending: list[Any] = []
    iterate = reactor.doIteration  # type: ignore[attr-defined]

    def run_pending() -> None:
        while pending:
            calls = pending[:]
            del pending[:]
            for call in calls:
                call()

    def do_iteration(timeout: float | None) -> None:
        run_pending()  # posted by timed calls, before the reactor waits
        iterate(timeout)
        run_pending()

    reactor.doIteration = do_iteration  # type: ignore[attr-defined]
    schedule_with(pending.append)


def with_flush_gap(gap: float) -> Callable[[], None]:
    def lever() -> None:
        from twisted.internet import reactor

        last: dict[Any, float] = {}  # per fan-out: when it last flushed

        def schedule(flush: Any) -> None:
            owner = getattr(flush, "__self__", flush)
            wait = last.get(owner, -gap) + gap - reactor.seconds()  # type: ignore[attr-defined]

            def run() -> None:
                last[owner] = reactor.seconds()  # type: ignore[attr-defined]
                flush()

            reactor.callLater(max(0.0, wait), run)  # type: ignore[attr-defined]

        schedule_with(schedule)

    return lever


def with_gc_freeze() -> None:
    import gc

    from twisted.internet import reactor

    reactor.callWhenRunning(gc.freeze)  # type: ignore[attr-defined]


def with_gc_threshold() -> None:
    import gc

    with_gc_freeze()
    _, second, third = gc.get_threshold()
    gc.set_threshold(50_000, second, third)


def with_gc_report() -> None:
    import gc
    import time

    started = [0.0]

    def report(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
            return
        took = (time.perf_counter() - started[0]) * 1e3
        if info["generation"] == 2 or took >= 0.5:
            print(f"gc gen={info['generation']} {took:.2f} ms", file=sys.stderr)

    gc.callbacks.append(report)


LEVERS = {
    "coalescing": without_coalescing,
    "nodelay": without_nodelay,
    "direct": without_direct,
}
CANDIDATES = {
    "iteration-hook": with_iteration_hook,
    "gc-freeze": with_gc_freeze,
    "gc-threshold": with_gc_threshold,
    "gc-report": with_gc_report,
    "flush-gap-2": with_flush_gap(0.002),
    "flush-gap-5": with_flush_gap(0.005),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--without", action="append", choices=sorted(LEVERS), default=[])
    ap.add_argument(
        "--with", dest="with_", action="append", choices=sorted(CANDIDATES), default=[]
    )
    ap.add_argument("twistd_args", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    rest = args.twistd_args[1:] if args.twistd_args[:1] == ["--"] else args.twistd_args
    for lever in args.without:
        LEVERS[lever]()
    for lever in args.with_:
        CANDIDATES[lever]()
    from twisted.scripts.twistd import run

    sys.argv = ["twistd", *rest]
    run()


if __name__ == "__main__":
    main()
