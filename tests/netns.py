"""
A network namespace of a test's own, so that multicast DNS never leaves the
machine: loopback up with multicast on and a route for 224.0.0.0/4, nothing
else.  A child process (``unshare --net``) holds it; programs run in it
through ``nsenter``; it goes when the holder ends, with its stdin.

Making one needs root and util-linux's ``unshare`` and ``nsenter`` and
iproute2's ``ip``.  Where that cannot be, the tests that need it are skipped
with the reason, unless CHATPROTO_REQUIRE_NETNS=1 (as .ci/run sets): then
they fail.
"""

from __future__ import annotations

import os
import select
import shutil
import subprocess
from collections.abc import Iterator, Sequence

import pytest

TIMEOUT = 10.0
MULTICAST_LOOPBACK = "ip link set lo up multicast on && ip route add 224.0.0.0/4 dev lo"
# Loopback never up: it has no address, no interface for multicast DNS.
NO_NETWORK = "true"
# Loopback with its address, but down: sending anything fails.
LINK_DOWN = "ip link set lo up && ip link set lo down"


class NamespaceUnavailableError(Exception):
    pass


class Namespace:
    """A network namespace set up by the shell commands ``setup``."""

    def __init__(self, setup: str = MULTICAST_LOOPBACK) -> None:
        if os.geteuid() != 0:
            raise NamespaceUnavailableError("making a network namespace needs root")
        missing = [t for t in ("unshare", "nsenter", "ip") if not shutil.which(t)]
        if missing:
            raise NamespaceUnavailableError(
                f"{', '.join(missing)} not installed (Debian: util-linux, iproute2)"
            )
        # unshare and sh exec in place: the holder's pid is the namespace's.
        self.holder = subprocess.Popen(
            ["unshare", "--net", "sh", "-c", f"{setup} && echo ready && exec cat"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert self.holder.stdout is not None
        ready, _, _ = select.select([self.holder.stdout], [], [], TIMEOUT)
        line = self.holder.stdout.readline() if ready else b""
        if line != b"ready\n":
            self.close()
            assert self.holder.stderr is not None
            why = self.holder.stderr.read().decode(errors="replace").strip()
            raise NamespaceUnavailableError(
                f"cannot make a network namespace: {why or 'no answer'}"
            )

    def command(self, argv: Sequence[str]) -> list[str]:
        """``argv`` run inside the namespace."""
        return ["nsenter", f"--net=/proc/{self.holder.pid}/ns/net", "--", *argv]

    def close(self) -> None:
        if self.holder.stdin is not None and not self.holder.stdin.closed:
            self.holder.stdin.close()
        try:
            self.holder.wait(TIMEOUT)
        except subprocess.TimeoutExpired:
            self.holder.kill()
            self.holder.wait(TIMEOUT)
        for stream in (self.holder.stdout, self.holder.stderr):
            if stream is not None:
                stream.close()


def namespace_or_skip(setup: str = MULTICAST_LOOPBACK) -> Iterator[Namespace]:
    """For fixtures: a namespace, closed afterwards; skipped if impossible."""
    try:
        namespace = Namespace(setup)
    except NamespaceUnavailableError as e:
        if os.environ.get("CHATPROTO_REQUIRE_NETNS") == "1":
            pytest.fail(f"{e} (and CHATPROTO_REQUIRE_NETNS=1)")
        pytest.skip(str(e))
    try:
        yield namespace
    finally:
        namespace.close()
