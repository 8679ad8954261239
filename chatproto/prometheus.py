"""
C{--metrics}: the server's L{Metrics} as Prometheus metrics, served over HTTP
at C{/metrics}.

Each server has its own L{CollectorRegistry} (not prometheus_client's global
one), so servers and tests in one process never share counters.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info
from prometheus_client.exposition import choose_encoder
from twisted.web.resource import Resource
from twisted.web.server import Request, Site

from chatproto import __version__, wire
from chatproto.events import Event

# Chat lines, as opposed to joins, leaves, renames and replies.
_MESSAGES = frozenset({"MSG", "ACTION", "PRIVATE"})
# A fan-out to a hundred members takes well under a millisecond; the default
# buckets (from 5 ms up) would put every one in the first bucket.
_FANOUT_BUCKETS = (
    0.00001,
    0.00005,
    0.0001,
    0.0005,
    0.001,
    0.005,
    0.01,
    0.05,
    0.1,
    0.5,
    1.0,
)


class PrometheusMetrics:
    """
    A L{chatproto.metrics.Metrics} that keeps Prometheus counters.
    """

    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry()
        Info("chatroom_build", "The chatproto version.", registry=registry).info(
            {"version": __version__}
        )
        self._members = Gauge(
            "chatroom_members",
            "People on the server now, in all rooms.",
            registry=registry,
        )
        self._rooms = Gauge(
            "chatroom_rooms", "Rooms that exist now.", registry=registry
        )
        self._connections = Counter(
            "chatroom_connections_accepted",
            "Client connections accepted.",
            registry=registry,
        )
        self._messages = Counter(
            "chatroom_messages_relayed",
            "Chat messages (MSG, ACTION, PRIVATE) relayed, once per message.",
            registry=registry,
        )
        self._deliveries = Counter(
            "chatroom_lines_delivered",
            "Lines handed to members' connections by the room's fan-out.",
            registry=registry,
        )
        self._received = Counter(
            "chatroom_received_bytes",
            "Bytes read from clients.",
            registry=registry,
        )
        self._sent = Counter(
            "chatroom_sent_bytes",
            "Bytes written to clients' connections.",
            registry=registry,
        )
        self._nick_rejections = Counter(
            "chatroom_nick_rejections",
            "Nicknames refused (invalid, taken, or overlong).",
            registry=registry,
        )
        self._throttles = Counter(
            "chatroom_rate_limit_throttles",
            "Times a member was paused for sending faster than --rate.",
            registry=registry,
        )
        self._slow_readers = Counter(
            "chatroom_slow_reader_drops",
            "Members disconnected for reading too slowly (--sendq).",
            registry=registry,
        )
        self._handshake_timeouts = Counter(
            "chatroom_handshake_timeouts",
            "Connections closed for choosing no nickname in time.",
            registry=registry,
        )
        self._fanout = Histogram(
            "chatroom_fanout_seconds",
            "Time to hand one event to all its recipients' connections.",
            buckets=_FANOUT_BUCKETS,
            registry=registry,
        )

    def connection_accepted(self) -> None:
        self._connections.inc()

    def members_changed(self, count: int) -> None:
        self._members.set(count)

    def rooms_changed(self, count: int) -> None:
        self._rooms.set(count)

    def nick_rejected(self) -> None:
        self._nick_rejections.inc()

    def fanned_out(self, event: Event, recipients: int, seconds: float) -> None:
        if not recipients:
            return  # e.g. the last member's LEAVE, to nobody
        self._fanout.observe(seconds)
        self._deliveries.inc(recipients)
        # Every recipient got the same line: its rendering is cached on the
        # event, so this is a lookup, not a second encoding.
        self._sent.inc(len(wire.encode_event(event)) * recipients)
        if event.kind in _MESSAGES:
            self._messages.inc()

    def bytes_received(self, count: int) -> None:
        self._received.inc(count)

    def bytes_sent(self, count: int) -> None:
        self._sent.inc(count)

    def throttled(self) -> None:
        self._throttles.inc()

    def slow_reader_dropped(self) -> None:
        self._slow_readers.inc()

    def handshake_timed_out(self) -> None:
        self._handshake_timeouts.inc()


class MetricsPage(Resource):
    """
    The current values of a registry, in the format the scraper asks for.

    Rendered in the reactor thread: collecting a few counters is far cheaper
    than handing the request to a thread pool, as
    C{prometheus_client.twisted.MetricsResource} (a WSGI app) would.
    """

    isLeaf = True

    def __init__(self, registry: CollectorRegistry) -> None:
        super().__init__()
        self.registry = registry

    def render_GET(self, request: Request) -> bytes:
        encoder, content_type = choose_encoder(request.getHeader("accept") or "")
        request.setHeader("content-type", content_type)
        return encoder(self.registry)


class MetricsSite(Site):
    # Scrapers call every few seconds; an access log line for each would
    # bury the chat server's own log.
    noisy = False

    def log(self, request: Request) -> None:
        pass


def metrics_site(metrics: PrometheusMetrics) -> Site:
    """
    A web site serving C{metrics} at C{/metrics}.
    """
    root = Resource()
    root.putChild(b"metrics", MetricsPage(metrics.registry))
    return MetricsSite(root)
