"""
Flood control, slow readers, connection limits and handshake timeouts,
driven through StringTransport and a fake clock.
"""

from __future__ import annotations

import pytest
from helpers import Server
from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.logger import capturedLogs, formatEvent

from chatproto.limits import TokenBucket


def _messages(lines: list[str]) -> list[str]:
    return [line for line in lines if line.startswith("MSG ")]


# Token bucket


def test_token_bucket_allows_a_burst_then_the_rate() -> None:
    from twisted.internet.task import Clock

    clock = Clock()
    bucket = TokenBucket(rate=2, burst=3, clock=clock)
    for _ in range(3):  # the whole burst at once
        assert bucket.ready() and bucket.wait() == 0
        bucket.take()
    assert not bucket.ready()
    assert bucket.wait() == pytest.approx(0.5)  # then one token each half second
    clock.advance(0.5)
    assert bucket.ready()
    bucket.take()
    bucket.spend(2)  # a debt, waited out by the lines after it
    assert bucket.wait() == pytest.approx(1.5)
    clock.advance(10)
    assert bucket.full()


@settings(deadline=None, max_examples=200)
@given(
    rate=st.sampled_from([0.3, 1, 2, 7, 10]),
    burst=st.integers(1, 12),
    steps=st.lists(
        st.tuples(st.floats(0, 3), st.integers(0, 4), st.floats(0, 2)), max_size=8
    ),
)
def test_available_counts_the_lines_that_may_go_one_after_another(
    rate: float, burst: int, steps: list[tuple[float, int, float]]
) -> None:
    from twisted.internet.task import Clock

    clock = Clock()
    bucket = TokenBucket(rate=rate, burst=burst, clock=clock)
    for wait, takes, debt in steps:
        clock.advance(wait)
        for _ in range(takes):
            if bucket.ready():
                bucket.take()
        bucket.spend(debt)
        available = bucket.available()
        # The same bucket, taken from line by line until it says no.
        counted = 0
        saved = bucket.tokens
        while bucket.ready():
            bucket.take()
            counted += 1
        assert available == counted
        bucket.tokens = saved


# Flood control


def test_flooder_is_throttled_in_order_and_loses_nothing() -> None:
    server = Server(rate=5, burst=3)
    alice, bob = server.member("alice"), server.member("bob")
    server.clock.advance(1)  # the nicknames' tokens are back
    alice.received()
    alice.send(b"".join(b"line %d\n" % n for n in range(8)))
    sent = alice.received()
    assert sent[0] == "MSG alice line 0"
    assert sent[3].startswith("ERROR rate-limited ")
    assert _messages(bob.received()) == [
        "MSG alice line 0",
        "MSG alice line 1",
        "MSG alice line 2",
    ]
    assert alice.transport.producerState == "paused"  # TCP pushes back
    server.clock.advance(0.2)
    assert _messages(bob.received()) == ["MSG alice line 3"]
    for _ in range(10):
        server.clock.advance(0.2)
    assert _messages(bob.received()) == [f"MSG alice line {n}" for n in range(4, 8)]
    assert alice.transport.producerState == "producing"
    # Told once for the whole flood.
    assert [line for line in alice.received() if line.startswith("ERROR")] == []


def test_others_are_not_delayed_by_a_flooder() -> None:
    server = Server(rate=5, burst=2)
    alice, bob = server.member("alice"), server.member("bob")
    alice.send(b"1\n2\n3\n4\n5\n")
    bob.received()
    bob.send(b"me too\n")
    assert bob.received() == ["MSG bob me too"]


def test_flooder_is_told_again_after_calming_down() -> None:
    server = Server(rate=5, burst=2)
    alice = server.member("alice")
    alice.send(b"1\n2\n")
    server.clock.advance(5)  # the bucket refills completely
    alice.send(b"3\n4\n")
    server.clock.advance(5)
    errors = [line for line in alice.received() if line.startswith("ERROR")]
    assert len(errors) == 2


def test_rate_zero_turns_the_limit_off() -> None:
    server = Server(rate=0)
    alice = server.member("alice")
    alice.send(b"x\n" * 100)
    assert len(alice.received()) == 100
    assert alice.transport.producerState == "producing"


# Slow readers


def test_slow_reader_gets_everything_once_it_reads() -> None:
    server = Server(sendq=4096)
    alice, bob = server.member("alice"), server.member("bob")
    bob.received()
    bob.transport.producer.pauseProducing()  # bob's socket buffer is full
    for n in range(20):
        alice.send(b"message %d\n" % n)
    assert bob.received() == []
    bob.transport.producer.resumeProducing()
    assert bob.received() == [f"MSG alice message {n}" for n in range(20)]


def test_reader_too_slow_is_disconnected_and_others_go_on() -> None:
    server = Server(sendq=1024)
    alice, bob, carol = (server.member(nick) for nick in ("alice", "bob", "carol"))
    for member in (alice, bob, carol):
        member.received()
    bob.transport.producer.pauseProducing()
    for n in range(100):
        alice.send(b"message %03d\n" % n)
        assert bob.session._sendq.queued <= 1024  # memory stays bounded
    assert bob.transport.disconnected
    carol_lines = carol.received()
    assert "LEAVE bob send queue exceeded" in carol_lines
    assert _messages(carol_lines) == [f"MSG alice message {n:03d}" for n in range(100)]
    assert server.room.nicknames() == ["alice", "carol"]
    assert carol_lines.count("LEAVE bob send queue exceeded") == 1


# Connection limits


def test_max_clients_refuses_before_the_handshake() -> None:
    server = Server(max_clients=2)
    first, _ = server.connect(), server.connect()
    third = server.connect()
    assert third.refused
    [line] = third.received()
    assert line.startswith("ERROR server-full ")
    assert third.closed
    first.transport.loseConnection()
    assert server.connect().received() == ["NICK"]


def test_max_per_ip_counts_each_address() -> None:
    server = Server(max_per_ip=2)
    server.connect("192.0.2.1"), server.connect("192.0.2.1")
    refused = server.connect("192.0.2.1")
    assert refused.refused
    assert refused.received()[0].startswith("ERROR too-many-connections ")
    assert server.connect("192.0.2.2").received() == ["NICK"]


def test_max_per_ip_is_off_by_default() -> None:
    server = Server()
    connections = [server.connect("192.0.2.1") for _ in range(50)]
    assert not any(connection.refused for connection in connections)


# Handshake timeout


def test_connection_without_nickname_times_out() -> None:
    server = Server(handshake_timeout=60)
    idle = server.connect()
    idle.received()
    server.clock.advance(59)
    assert not idle.closed
    server.clock.advance(1)
    [line] = idle.received()
    assert line == "ERROR handshake-timeout no nickname chosen in 60 seconds"
    assert idle.closed


def test_handshake_timeout_zero_means_none() -> None:
    server = Server(handshake_timeout=0)
    idle = server.connect()
    idle.received()
    server.clock.advance(86400)
    assert not idle.closed
    assert idle.received() == []


def test_members_do_not_time_out() -> None:
    server = Server(handshake_timeout=60)
    alice = server.member("alice")
    server.clock.advance(3600)
    assert not alice.closed
    assert not server.clock.getDelayedCalls()


# Look-alike nicknames


def test_look_alike_nicknames_are_refused() -> None:
    server = Server()
    server.member("alice")
    for spoof in (
        "аlice",
        "ａｌｉｃｅ",
        "ALICE",
        "aIice",
    ):  # Cyrillic а, fullwidth, I for l
        connection = server.connect()
        connection.received()
        connection.send(spoof.encode() + b"\n")
        assert connection.received()[0].startswith("ERROR nick-taken "), spoof


def test_a_nickname_and_its_look_alikes_are_free_once_it_leaves() -> None:
    server = Server()
    alice = server.member("alice")
    alice.send(b"/quit\n")
    server.member("aIice")  # I for l: refused while alice was here
    bob = server.member("bob")
    bob.send(b"/nick bobby\n")  # and a rename lets go of the old name
    carol = server.member("carol")
    carol.send(b"/nick b0b\n")
    assert carol.received() == ["RENAME carol b0b"]


def test_renaming_to_a_look_alike_is_refused() -> None:
    server = Server()
    server.member("paypal")
    mallory = server.member("mallory")
    mallory.send("/nick pаypal\n".encode())
    assert mallory.received()[0].startswith("ERROR nick-taken ")


def test_distinct_names_with_accents_are_both_allowed() -> None:
    server = Server()
    server.member("zoe")
    server.member("zoë")
    assert server.room.nicknames() == ["zoe", "zoë"]


# Bidi controls


def test_bidi_overrides_are_removed_and_real_text_kept() -> None:
    server = Server()
    alice = server.member("alice")
    alice.send("pay \u202eusd 001\u202c now \u2066x\u2069\n".encode())
    alice.send("👩‍👩‍👧 مرحبا e\u0301\n".encode())
    assert alice.received() == [
        "MSG alice pay usd 001 now x",
        "MSG alice 👩‍👩‍👧 مرحبا e\u0301",
    ]


# Graceful shutdown


def test_shutdown_tells_everyone_and_closes_without_leave_storm() -> None:
    server = Server()
    alice, bob = server.member("alice"), server.member("bob")
    joining = server.connect()
    alice.received()
    joining.received()
    done = server.server.shut_down()
    for connection in (alice, bob, joining):
        assert connection.received() == ["INFO server shutting down"]
        assert connection.closed
    assert done.called
    assert not server.server.sessions


def test_shutdown_logs_members_leaving_and_nobody_else() -> None:
    server = Server()
    server.member("alice")
    server.connect().received()  # still choosing a nickname
    with capturedLogs() as events:
        server.server.shut_down()
    left = [formatEvent(e) for e in events if " left: " in formatEvent(e)]
    assert len(left) == 1 and "alice left: server shutting down" in left[0]


def test_shutdown_aborts_connections_that_do_not_close() -> None:
    server = Server()
    stuck = server.member("stuck")
    transport = stuck.transport
    close_for_real = transport.loseConnection
    aborted = []

    # A peer that never reads: closing waits for a flush that never comes.
    def abort() -> None:
        aborted.append(True)
        close_for_real()

    transport.loseConnection = lambda: None  # type: ignore[method-assign]
    transport.abortConnection = abort  # type: ignore[method-assign]
    done = server.server.shut_down()
    server.clock.advance(2.9)
    assert not done.called
    server.clock.advance(0.1)
    assert aborted
    assert done.called


def test_quitting_slow_reader_still_gets_what_was_queued() -> None:
    server = Server(sendq=4096)
    alice, bob = server.member("alice"), server.member("bob")
    bob.received()
    bob.transport.producer.pauseProducing()
    alice.send(b"before you go\n")
    bob.send(b"/quit\n")
    assert bob.received() == ["MSG alice before you go"]
    assert bob.transport.producer is None  # unregistered, so TLS can close


def test_available_with_a_large_burst_is_counted_at_once() -> None:
    from twisted.internet.task import Clock

    bucket = TokenBucket(rate=1, burst=1_000_000, clock=Clock())
    assert bucket.available() == 1_000_000
    bucket.spend(0.5)
    assert bucket.available() == 999_999
