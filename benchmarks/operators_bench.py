#!/usr/bin/env python3
"""What an operator password check costs, and what a flood of them does to
the reactor.

    python benchmarks/operators_bench.py            # about 20 s
    python benchmarks/operators_bench.py --quick    # about 8 s

1. The time of one scrypt check (PasswordHash.matches), median of several,
   for the default parameters and their neighbours.
2. The reactor's lag: a LoopingCall every 10 ms records how late it runs,
   first with nothing else going on (the baseline, measured in the same run),
   then while OperatorChecker is kept busy with 50 wrong-password checks in
   flight, with its default one thread and with two.
Needs the project installed (pip install .).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from twisted.cred.credentials import UsernamePassword
from twisted.internet.defer import Deferred, ensureDeferred
from twisted.internet.task import LoopingCall, deferLater, react

from chatproto.operators import OperatorChecker, Operators, format_line, hash_password
from chatproto.operators.passwords import DEFAULT_N, DEFAULT_P, DEFAULT_R

TICK = 0.010
IN_FLIGHT = 50


def time_checks(repeat: int) -> None:
    print(f"one check (median of {repeat}), r={DEFAULT_R} p={DEFAULT_P}:")
    for n in (2**14, DEFAULT_N, 2**16, 2**17):
        made = hash_password("right", n=n)
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            made.matches("wrong")
            times.append(time.perf_counter() - start)
        mark = "  (default)" if n == DEFAULT_N else ""
        memory = 128 * DEFAULT_R * n // 2**20
        print(f"  N=2**{n.bit_length() - 1:<3} {memory:>4} MiB "
              f"{statistics.median(times) * 1000:7.1f} ms{mark}")  # fmt: skip


async def lag(reactor: Any, seconds: float, checker: OperatorChecker | None) -> None:
    late: list[float] = []
    expected = [reactor.seconds()]

    def tick() -> None:
        now = reactor.seconds()
        late.append(max(0.0, now - expected[0]))
        expected[0] = now + TICK

    done = [0]
    running = [True]

    def one_more(_: object = None) -> None:
        assert checker is not None
        if not running[0]:
            return
        d: Deferred[str] = checker.requestAvatarId(
            UsernamePassword(b"teacher", b"wrong")
        )
        d.addErrback(lambda _: None).addCallback(count).addCallback(one_more)

    def count(_: object) -> None:
        done[0] += 1

    if checker is not None:
        checker.startService()
        for _ in range(IN_FLIGHT):
            one_more()
    loop = LoopingCall(tick)
    loop.clock = reactor
    loop.start(TICK)
    await deferLater(reactor, seconds)
    loop.stop()
    running[0] = False
    if checker is None:
        label = "baseline, no checks"
    else:
        checker.stopService()
        label = f"flood, {checker.threads} thread(s)"
    late.sort()
    p99 = late[int(len(late) * 0.99)]
    rate = f"{done[0] / seconds:5.1f} checks/s" if checker else " " * 13
    print(f"  {label:<22} {rate}  lag median {statistics.median(late) * 1000:5.2f} "
          f"ms, p99 {p99 * 1000:6.2f} ms, max {late[-1] * 1000:6.2f} ms")  # fmt: skip


async def main(reactor: Any, quick: bool) -> None:
    time_checks(3 if quick else 9)
    seconds = 1.5 if quick else 4.0
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "operators"
        path.write_text(format_line("teacher", hash_password("right")) + "\n")
        path.chmod(0o600)
        operators = Operators(str(path))
        print(f"reactor lag, {TICK * 1000:.0f} ms ticks for {seconds} s each, "
              f"{IN_FLIGHT} checks in flight:")  # fmt: skip
        flooded = [
            OperatorChecker(operators, reactor, threads=n, max_pending=IN_FLIGHT)
            for n in (1, 2)
        ]
        for checker in [None, *flooded, None]:
            await lag(reactor, seconds, checker)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    quick = parser.parse_args().quick
    react(lambda reactor: ensureDeferred(main(reactor, quick)))
