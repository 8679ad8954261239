#!/usr/bin/env python3
"""Line framing's per-line Python cost, in process: dataReceived of one read
of n lines into a lineReceived that does nothing, Twisted's LineReceiver
against chatproto.framing.LinesReceiver, best of 7.

    python benchmarks/framing_bench.py
    python benchmarks/framing_bench.py --lines 1 256 --line-bytes 200

A sender pipelining many lines brings hundreds in one read; LineReceiver
copies the rest of the read for every line, LinesReceiver splits it once.
"""

from __future__ import annotations

import argparse
import timeit

from twisted.internet.testing import StringTransport
from twisted.protocols.basic import LineReceiver

from chatproto.framing import LinesReceiver


class Quadratic(LineReceiver):
    delimiter = b"\n"

    def lineReceived(self, line: bytes) -> None:
        pass


class Linear(LinesReceiver):
    delimiter = b"\n"

    def lineReceived(self, line: bytes) -> None:
        pass


def ns_per_line(cls: type[LineReceiver], read: bytes, lines: int) -> float:
    receiver = cls()
    receiver.makeConnection(StringTransport())
    number = max(20, 20000 // lines)
    best = min(
        timeit.repeat(lambda: receiver.dataReceived(read), number=number, repeat=7)
    )
    return best / number / lines * 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, nargs="+", default=[1, 16, 256, 1024])
    parser.add_argument("--line-bytes", type=int, default=40)
    args = parser.parse_args()
    line = b"MSG " + b"x" * max(0, args.line_bytes - 5) + b"\n"
    print(f"{'lines/read':>10} {'LineReceiver':>14} {'LinesReceiver':>14}  ns/line")
    for lines in args.lines:
        read = line * lines
        quadratic = ns_per_line(Quadratic, read, lines)
        linear = ns_per_line(Linear, read, lines)
        print(f"{lines:>10} {quadratic:>14.0f} {linear:>14.0f}")


if __name__ == "__main__":
    main()
