"""
File descriptors: every connection takes one.

At start-up the soft limit (RLIMIT_NOFILE) is raised as far as the hard
limit allows, and C{--max-clients} is cut to what the descriptors can serve
with L{RESERVE} left over, so a newcomer past it gets C{ERROR server-full}
instead of an C{accept()} that fails with EMFILE and leaves it hanging.
"""

from __future__ import annotations

import resource
from collections.abc import Callable
from dataclasses import dataclass, replace

from chatproto.limits import Limits
from chatproto.logs import counted

# Descriptors kept for everything but members: standard streams, the
# reactor's own, listening sockets, the log and its rotation, the history
# database with its WAL and shared memory, metrics scrapes (about 20 in
# all), and above all the newcomers being refused: each holds one until its
# ERROR server-full is written, and Twisted accepts them in batches of 100
# and more.  Past this, a refused newcomer is closed without a word.
RESERVE = 256
# Where the kernel caps a process when the hard limit says "unlimited"
# (Linux's default fs.nr_open).
UNLIMITED_CAP = 1 << 20

GetLimit = Callable[[int], tuple[int, int]]
SetLimit = Callable[[int, tuple[int, int]], None]


@dataclass(frozen=True)
class Descriptors:
    """
    The descriptor limit the server runs with.
    """

    limit: int  # the soft limit in force (resource.RLIM_INFINITY: none)
    hard: int
    raised_from: int | None = None  # the soft limit before, if raised

    @property
    def clients(self) -> int:
        """
        How many connections the descriptors can serve.
        """
        if self.limit == resource.RLIM_INFINITY:
            return UNLIMITED_CAP
        return max(1, self.limit - RESERVE)


def raise_limit(
    getrlimit: GetLimit = resource.getrlimit,
    setrlimit: SetLimit = resource.setrlimit,
) -> Descriptors:
    """
    Raise the soft descriptor limit to the hard one (no privilege needed),
    or as near as the kernel allows.
    """
    soft, hard = getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return Descriptors(soft, hard)
    wanted = UNLIMITED_CAP if hard == resource.RLIM_INFINITY else hard
    if wanted <= soft:
        return Descriptors(soft, hard)
    try:
        setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    except (OSError, ValueError):  # above the kernel's fs.nr_open, say
        return Descriptors(soft, hard)
    return Descriptors(wanted, hard, raised_from=soft)


def fit(limits: Limits, descriptors: Descriptors) -> tuple[Limits, str]:
    """
    C{limits} with C{max_clients} cut to what C{descriptors} can serve, and
    a sentence for the start-up banner saying what it can reach.
    """
    asked = limits.max_clients
    serving = min(asked, descriptors.clients)
    if descriptors.limit == resource.RLIM_INFINITY:
        have = "unlimited"
    else:
        raised = (
            f"raised from {descriptors.raised_from}"
            if descriptors.raised_from is not None
            else "the hard limit"
            if descriptors.limit == descriptors.hard
            else f"hard limit {descriptors.hard}"
        )
        have = f"{descriptors.limit} ({raised})"
    if serving == asked:
        said = f"{have}, enough for --max-clients {asked}"
    else:
        said = (
            f"{have}, so at most {counted(serving, 'client')}, not --max-clients "
            f"{asked} "
            f"({RESERVE} are kept for the server's own files and for refusing "
            "newcomers); raise the hard limit (LimitNOFILE= in the systemd "
            "unit, ulimit -Hn) to serve more"
        )
    return replace(limits, max_clients=serving), said
