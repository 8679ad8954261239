"""
The fan-out coalesces a reactor turn's room events into one write per member,
without changing what anyone sees or in which order.
"""

from __future__ import annotations

from helpers import Connection, RecordedMetrics, Server

from chatproto.room import Event


def count_writes(connection: Connection) -> list[bytes]:
    writes: list[bytes] = []
    write = connection.transport.write

    def counting(data: bytes) -> None:
        writes.append(data)
        write(data)

    connection.transport.write = counting  # type: ignore[method-assign]
    return writes


def test_a_turn_of_messages_is_one_write_per_member() -> None:
    server = Server()
    members = [server.member(nick) for nick in ("a", "b", "c")]
    for member in members:
        member.received()
    writes = [count_writes(member) for member in members]
    # Three reads in one reactor turn, before its end.
    members[0].protocol.dataReceived(b"one\ntwo\n")
    members[1].protocol.dataReceived(b"three\n")
    members[2].protocol.dataReceived(b"/me four\n")
    assert writes == [[], [], []]
    server.clock.advance(0)  # the turn's work is done
    expected = ["MSG a one", "MSG a two", "MSG b three", "ACTION c four"]
    for member, written in zip(members, writes, strict=True):
        assert len(written) == 1
        assert member.received() == expected


def test_a_direct_reply_comes_after_the_turns_earlier_room_events() -> None:
    server = Server()
    alice, bob = server.member("alice"), server.member("bob")
    alice.received()
    alice.protocol.dataReceived(b"first\n")
    bob.protocol.dataReceived(b"/who\n/bogus\n")
    alice.protocol.dataReceived(b"second\n")
    server.clock.advance(0)
    lines = bob.received()
    assert lines[:2] == ["MSG alice first", "USERS alice bob"]
    assert lines[2].startswith("ERROR unknown-command")
    assert lines[3:] == ["MSG alice second"]
    assert alice.received() == ["MSG alice first", "MSG alice second"]


def test_a_newcomer_mid_turn_gets_later_events_live_and_earlier_in_replay() -> None:
    metrics = RecordedMetrics()
    server = Server(metrics=metrics, replay=10)
    alice = server.member("alice")
    alice.received()
    newcomer = server.connect()
    alice.protocol.dataReceived(b"before\n")
    newcomer.protocol.dataReceived(b"zoe\n")
    alice.protocol.dataReceived(b"after\n")
    metrics.calls.clear()
    server.clock.advance(0)
    lines = newcomer.received()
    replayed = [line for line in lines if line.startswith("HISTORY ")]
    assert replayed[-1].endswith(" MSG alice before")
    live = lines[
        lines.index(next(x for x in lines if x.startswith("HISTORY-END"))) + 1 :
    ]
    assert live == ["JOIN zoe", "USERS alice zoe", "MSG alice after"]
    assert alice.received() == ["MSG alice before", "JOIN zoe", "MSG alice after"]
    # Each event counted once, with the members it really reached.
    assert metrics.named("fanned_out") == [
        (Event("MSG", "alice", "before"), 1),
        (Event("JOIN", "zoe"), 2),
        (Event("MSG", "alice", "after"), 2),
    ]


def test_a_leaver_gets_what_was_said_before_it_left() -> None:
    server = Server()
    alice, bob = server.member("alice"), server.member("bob")
    bob.received()
    alice.protocol.dataReceived(b"wait for me\n")
    bob.protocol.dataReceived(b"/quit\n")
    server.clock.advance(0)
    assert bob.received() == ["MSG alice wait for me"]
    assert alice.received()[-2:] == ["MSG alice wait for me", "LEAVE bob"]


def test_shutdown_hands_out_the_turn_before_saying_goodbye() -> None:
    server = Server()
    alice, bob = server.member("alice"), server.member("bob")
    bob.received()
    alice.protocol.dataReceived(b"last words\n")
    server.server.shut_down()
    assert bob.received() == ["MSG alice last words", "INFO server shutting down"]


def test_a_failing_member_costs_the_others_nothing_and_counts_stay_right() -> None:
    metrics = RecordedMetrics()
    server = Server(metrics=metrics)
    members = [server.member(nick) for nick in ("a", "b", "c", "d")]
    for member in members:
        member.received()

    def broken(batch: object) -> None:
        raise RuntimeError("broken connection")

    session = members[1].protocol.session
    assert session is not None
    session.deliver_batch = broken  # type: ignore[method-assign]
    metrics.calls.clear()
    members[0].protocol.dataReceived(b"one\ntwo\n")
    server.clock.advance(0)
    for member in (members[0], members[2], members[3]):
        assert member.received() == ["MSG a one", "MSG a two"]
    # Every member of the room was handed each event once (the broken one
    # too: its failure is logged, not retried).
    assert metrics.named("fanned_out") == [
        (Event("MSG", "a", "one"), 4),
        (Event("MSG", "a", "two"), 4),
    ]
