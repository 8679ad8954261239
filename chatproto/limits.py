"""
Per-connection limits: a token bucket for input, and a bounded send queue
for output to a member that does not read fast enough.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from twisted.internet.interfaces import IPushProducer, IReactorTime, ITransport
from zope.interface import implementer


@dataclass(frozen=True)
class Limits:
    """
    The limits a server enforces; each is a twistd option.
    """

    max_line: int = 2048  # bytes in one line, line ending not counted
    rate: float = 5.0  # messages a second per member; 0 means no limit
    burst: int = 10  # messages a member may send at once before the rate applies
    sendq: int = 1 << 20  # bytes held for a member that does not read
    max_clients: int = 10_000  # connections at once
    max_per_ip: int = 0  # connections at once from one address; 0 means no limit
    handshake_timeout: float = 60.0  # seconds to choose a nickname; 0 means none


# A token, give or take rounding: waiting out wait() must be enough, though
# the clock's seconds and the refill are floating point.
_ONE = 1 - 1e-9


class TokenBucket:
    """
    C{rate} tokens a second, at most C{burst} saved up.  Each line takes a
    token: C{burst} lines may come at once, then C{rate} a second.  Other
    costs may put the bucket in debt, which later lines wait out.
    """

    def __init__(self, rate: float, burst: int, clock: IReactorTime) -> None:
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self.tokens = float(burst)
        self._updated = clock.seconds()

    def _refill(self) -> None:
        now = self.clock.seconds()
        self.tokens = min(self.burst, self.tokens + (now - self._updated) * self.rate)
        self._updated = now

    def ready(self) -> bool:
        """
        Whether a line may go now.
        """
        self._refill()
        return self.tokens >= _ONE

    def available(self) -> int:
        """
        How many lines may go now, one after another.
        """
        self._refill()
        tokens = self.tokens
        # The count of n >= 0 with tokens - n >= _ONE, as take() after
        # take() would find (subtracting a whole number is exact).  Rounding
        # in tokens - _ONE can only make the estimate too high, by one.
        count = max(0, int(tokens - _ONE) + 1)
        if count and tokens - (count - 1) < _ONE:
            count -= 1
        return count

    def take(self) -> None:
        """
        Take the token of one line.
        """
        self.spend(1)

    def spend(self, tokens: float) -> None:
        self._refill()
        self.tokens -= tokens

    def wait(self) -> float:
        """
        Seconds until a line may go (0 if it may go now).
        """
        self._refill()
        return max(0.0, (_ONE - self.tokens) / self.rate)

    def full(self) -> bool:
        self._refill()
        return self.tokens >= self.burst


@implementer(IPushProducer)
class SendQueue:
    """
    Writes to a transport, holding what the transport cannot take yet.

    Registered as the transport's streaming producer: the transport pauses
    it when its own buffer is full and resumes it when that buffer drains.
    While paused, lines wait here, up to C{limit} bytes; past that,
    C{overflow} is called once and everything queued is dropped, so memory
    stays bounded whatever the member does.
    """

    def __init__(
        self, transport: ITransport, limit: int, overflow: Callable[[], None]
    ) -> None:
        self.transport = transport
        self.limit = limit
        self.overflow = overflow
        self.paused = False
        self.closed = False
        self.queued = 0
        self._queue: deque[bytes] = deque()
        transport.registerProducer(self, True)

    def write(self, data: bytes) -> None:
        if not self.paused:
            self.transport.write(data)
        elif self.closed:
            return
        elif self.queued + len(data) > self.limit:
            self.stopProducing()
            self.overflow()
        else:
            self._queue.append(data)
            self.queued += len(data)

    def pauseProducing(self) -> None:
        self.paused = True

    def resumeProducing(self) -> None:
        if self.closed:
            return
        self.paused = False
        # Hand the transport what waited, in one write; if that fills its
        # buffer again, it pauses us again and later lines queue behind.
        if self._queue:
            data = b"".join(self._queue)
            self._queue.clear()
            self.queued = 0
            self.transport.write(data)

    def finish(self) -> None:
        """
        Nothing more will be written: hand the transport what waited, and
        unregister, since under TLS a registered producer holds off the
        close.
        """
        if not self.closed:
            if self._queue:
                self.transport.write(b"".join(self._queue))
            self.stopProducing()
            self.transport.unregisterProducer()

    def stopProducing(self) -> None:
        self.closed = self.paused = True
        self._queue.clear()
        self.queued = 0
