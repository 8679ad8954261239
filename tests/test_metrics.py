"""
What the room and the protocol report to L{Metrics}, and how
L{PrometheusMetrics} counts it.  (End to end, over HTTP: test_service.py.)
"""

from __future__ import annotations

import subprocess
import sys

from helpers import RecordedMetrics, Server

from chatproto import wire
from chatproto.metrics import NO_METRICS, Metrics, NoMetrics
from chatproto.prometheus import PrometheusMetrics
from chatproto.room import Event


def test_a_fanout_is_reported_once_with_its_recipient_count() -> None:
    metrics = RecordedMetrics()
    server = Server(metrics=metrics)
    alice, bob, carol = (server.member(nick) for nick in ("alice", "bob", "carol"))
    metrics.calls.clear()
    alice.send(b"hello\n")
    assert metrics.named("fanned_out") == [(Event("MSG", "alice", "hello"), 3)]
    alice.send(b"/msg bob psst\n")
    assert metrics.named("fanned_out")[-1] == (
        Event("PRIVATE", "alice", "bob", "psst"),
        2,
    )
    assert bob.received() and carol.received()


def test_membership_changes_report_the_room_size() -> None:
    metrics = RecordedMetrics()
    server = Server(metrics=metrics)
    alice = server.member("alice")
    server.member("bob")
    alice.send(b"/quit\n")
    assert metrics.named("members_changed") == [(1,), (2,), (1,)]


def test_connections_bytes_and_rejections_are_reported() -> None:
    metrics = RecordedMetrics()
    server = Server(metrics=metrics)
    connection = server.connect()
    assert metrics.named("connection_accepted") == [()]
    # The NICK prompt is the connection's own line, not a fan-out.
    assert metrics.named("bytes_sent") == [(len(b"NICK\r\n"),)]
    connection.send(b"no good\n")
    connection.send(b"alice\n")
    assert metrics.named("nick_rejected") == [()]
    # Once per read, not per line.
    connection.send(b"one\ntwo\n")
    assert metrics.named("bytes_received") == [(8,), (6,), (8,)]


def test_limits_are_reported_when_they_bite() -> None:
    metrics = RecordedMetrics()
    server = Server(metrics=metrics, rate=5, burst=3, sendq=1024)
    alice, bob = server.member("alice"), server.member("bob")
    idle = server.connect()
    # Lines 0 to 2 are the burst; each later one makes alice wait.
    alice.send(b"".join(b"line %d\n" % n for n in range(5)))
    assert metrics.named("throttled") == [()]
    for _ in range(10):
        server.clock.advance(0.2)
    assert metrics.named("throttled") == [(), (), ()]
    bob.transport.producer.pauseProducing()  # bob stops reading
    alice.send(b"x" * 1000 + b"\n")
    server.clock.advance(1)
    alice.send(b"y" * 1000 + b"\n")
    assert bob.closed
    assert metrics.named("slow_reader_dropped") == [()]
    assert metrics.named("handshake_timed_out") == []
    server.clock.advance(60)
    assert idle.closed
    assert metrics.named("handshake_timed_out") == [()]


def test_prometheus_counts_bytes_sent_once_per_fanout() -> None:
    metrics = PrometheusMetrics()
    event = Event("MSG", "alice", "hello")
    metrics.fanned_out(event, 3, 0.0002)
    metrics.fanned_out(Event("JOIN", "bob"), 2, 0.0001)
    metrics.fanned_out(Event("LEAVE", "bob"), 0, 0.0)
    metrics.bytes_sent(6)
    value = metrics.registry.get_sample_value
    assert value("chatroom_sent_bytes_total") == (
        3 * len(wire.encode_event(event)) + 2 * len(b"JOIN bob\r\n") + 6
    )
    assert value("chatroom_lines_delivered_total") == 5
    assert value("chatroom_messages_relayed_total") == 1  # the MSG, not the JOIN
    # A fan-out to nobody is not a fan-out.
    assert value("chatroom_fanout_seconds_count") == 2
    assert value("chatroom_fanout_seconds_bucket", {"le": "0.0001"}) == 1


def test_prometheus_counters_for_limits() -> None:
    metrics = PrometheusMetrics()
    metrics.throttled()
    metrics.throttled()
    metrics.slow_reader_dropped()
    metrics.handshake_timed_out()
    metrics.members_changed(7)
    value = metrics.registry.get_sample_value
    assert value("chatroom_rate_limit_throttles_total") == 2
    assert value("chatroom_slow_reader_drops_total") == 1
    assert value("chatroom_handshake_timeouts_total") == 1
    assert value("chatroom_members") == 7


def test_each_server_has_its_own_registry() -> None:
    first, second = PrometheusMetrics(), PrometheusMetrics()
    first.connection_accepted()
    assert first.registry.get_sample_value("chatroom_connections_accepted_total") == 1
    assert second.registry.get_sample_value("chatroom_connections_accepted_total") == 0


def test_implementations_have_every_method_of_the_interface() -> None:
    wanted = {name for name in vars(Metrics) if not name.startswith("_")}
    for implementation in (NoMetrics, PrometheusMetrics, RecordedMetrics):
        assert wanted <= set(vars(implementation)), implementation
    assert isinstance(NO_METRICS, NoMetrics)


def test_the_domain_and_a_server_without_metrics_do_not_load_prometheus() -> None:
    code = (
        "import sys, chatproto.room, chatproto.tap\n"
        "options = chatproto.tap.Options()\n"
        "options.parseOptions([])\n"
        "chatproto.tap.makeService(options)\n"
        "loaded = {'prometheus_client', 'twisted.web'} & set(sys.modules)\n"
        "assert not loaded, loaded\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stderr
