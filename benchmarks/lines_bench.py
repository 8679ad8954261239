#!/usr/bin/env python3
"""The server's Python cost of a message, in process: members in one room
through the line protocol on StringTransports and a fake clock, each read
bringing k lines, the turn flushed after each read; pipelined lines (a
read's lines to the session together) against the same server handing the
session one line at a time, alternating, medians of the rounds.

    python benchmarks/lines_bench.py
    python benchmarks/lines_bench.py --members 100 --lines 1 16

No sockets and no kernel: what it measures is the Python work, from
dataReceived to the bytes handed to each member's transport.
"""

from __future__ import annotations

import argparse
import statistics
import time

from twisted.internet.address import IPv4Address
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport

from chatproto.factory import ChatFactory
from chatproto.limits import Limits
from chatproto.metrics import NO_METRICS
from chatproto.protocol import ChatProtocol
from chatproto.rooms import MemoryRoomStore, Rooms
from chatproto.server import ChatServer


class Sink(StringTransport):
    """A transport that counts what it is given and keeps nothing."""

    written = 0

    def write(self, data: bytes) -> None:
        self.written += len(data)


def room(members: int, one_at_a_time: bool) -> tuple[Clock, list[ChatProtocol]]:
    clock = Clock()
    rooms = Rooms(
        ["lobby"],
        MemoryRoomStore(clock.seconds),
        clock,
        schedule=lambda call: clock.callLater(0, call),
    )
    server = ChatServer(rooms, Limits(rate=0), clock, metrics=NO_METRICS)
    factory = ChatFactory(server)
    protocols = []
    for n in range(members):
        address = IPv4Address("TCP", "127.0.0.1", 40000 + n)
        protocol = factory.buildProtocol(address)
        assert isinstance(protocol, ChatProtocol)
        protocol.makeConnection(Sink(peerAddress=address))
        protocol.dataReceived(b"member%d\n" % n)
        if one_at_a_time:
            protocol.takeLines = lambda *args: []  # type: ignore[method-assign]
        protocols.append(protocol)
    clock.advance(0)
    return clock, protocols


def us_per_message(members: int, lines: int, one_at_a_time: bool, rounds: int) -> float:
    clock, protocols = room(members, one_at_a_time)
    line = b"m%d hello, this is line %d of a sender\n"
    reads = [b"".join(line % (n, k) for k in range(lines)) for n in range(members)]
    # About 20,000 messages a round, whatever the shape.
    repeat = max(1, 20_000 // (members * lines))
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(repeat):
            for protocol, read in zip(protocols, reads, strict=True):
                protocol.dataReceived(read)
                clock.advance(0)
        times.append((time.perf_counter() - started) / (repeat * members * lines))
    return statistics.median(times) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=10)
    parser.add_argument("--lines", type=int, nargs="+", default=[256, 32, 8, 2, 1])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    print(f"{args.members} members, us of Python a message, medians of {args.rounds}")
    print(f"{'lines/read':>10} {'pipelined':>10} {'one by one':>11} {'ratio':>6}")
    for lines in args.lines:
        # Alternate, so that drift on a noisy machine touches both.
        pipelined, one_by_one = [], []
        for _ in range(3):
            pipelined.append(us_per_message(args.members, lines, False, args.rounds))
            one_by_one.append(us_per_message(args.members, lines, True, args.rounds))
        new, old = statistics.median(pipelined), statistics.median(one_by_one)
        print(f"{lines:>10} {new:>10.2f} {old:>11.2f} {new / old:>5.2f}x")


if __name__ == "__main__":
    main()
