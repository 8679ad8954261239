#!/usr/bin/env python3
"""Run the chatroom server with one of its performance levers taken out.

    python benchmarks/ablate.py --without coalescing -- -n --pidfile= chatroom ...

Everything after ``--`` is twistd's command line. This process becomes the
server (run.py measures its pid), so it fits ``run.py --server-cmd``; see
docs/performance.rst, "What each lever is worth". Levers:

coalescing
    every room event is written to each member as it is posted, one
    ``transport.write`` per member per line, instead of once per member per
    reactor turn.
nodelay
    ``TCP_NODELAY`` is switched off again on accepted sockets (Nagle's
    algorithm on, as in the baseline).

The backlog lever needs no patch: ``--backlog 50`` is Twisted's default.
"""

from __future__ import annotations

import argparse
import socket
import sys
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

    tune = protocol._tune_socket

    def nagle(transport: Any) -> None:
        tune(transport)
        handle = getattr(transport, "getHandle", lambda: None)()
        if isinstance(handle, socket.socket):
            handle.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 0)

    protocol._tune_socket = nagle


LEVERS = {"coalescing": without_coalescing, "nodelay": without_nodelay}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--without", action="append", choices=sorted(LEVERS), default=[])
    ap.add_argument("twistd_args", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    rest = args.twistd_args[1:] if args.twistd_args[:1] == ["--"] else args.twistd_args
    for lever in args.without:
        LEVERS[lever]()
    from twisted.scripts.twistd import run

    sys.argv = ["twistd", *rest]
    run()


if __name__ == "__main__":
    main()
