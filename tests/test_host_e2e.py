"""
``chatproto host`` as people use it, in a network namespace of its own
(tests/netns.py): the host and two people who join with a plain
``chatproto``, found by multicast DNS; the host asked before closing a room
with people in it; the room closing; a taken port.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from discovery_helpers import NsPty, Watcher, run_client
from netns import Namespace, namespace_or_skip
from servers import twistd

from chatproto.discovery.net import host_label

CLOSE = "Close the room for everyone? (y/n) "


@pytest.fixture
def ns() -> Iterator[Namespace]:
    yield from namespace_or_skip()


@pytest.fixture
def ptys() -> Iterator[list[NsPty]]:
    clients: list[NsPty] = []
    try:
        yield clients
    finally:
        for client in clients:
            client.close()


def join_by_discovery(ns: Namespace, nick: str, ptys: list[NsPty]) -> NsPty:
    """A plain ``chatproto``: no address, no port, the nickname typed."""
    member = NsPty(ns)
    ptys.append(member)
    member.wait_for_text(
        f"found one chat server on the local network: teacher on {host_label()}"
    )
    member.prompt_is("Choose a nickname: ")
    member.send(f"{nick}\r")
    member.prompt_is(f"[lobby] {nick}> ")
    return member


def test_host_and_two_people_who_find_it_then_the_host_closes_the_room(
    ns: Namespace, tmp_path: Path, ptys: list[NsPty]
) -> None:
    teacher = NsPty(ns, "host", "--nick", "teacher")
    ptys.append(teacher)
    teacher.wait_for_text("hosting the room 'lobby' on port 4000")
    teacher.wait_for_text(
        f"announced on the local network as 'teacher on {host_label()}': "
        "others join with a plain `chatproto`"
    )
    # The namespace has loopback only: no address to give out.
    teacher.wait_for_text("this computer has no network address but loopback")
    teacher.prompt_is("[lobby] teacher> ")
    # The host is an operator of its own server.
    teacher.wait_for_text("you are an operator now (teacher)")

    alice = join_by_discovery(ns, "alice", ptys)
    bob = join_by_discovery(ns, "bob", ptys)
    bob.wait_for_text("in the room (3): alice, bob, teacher")
    teacher.wait_for_text("-- bob joined")
    alice.send("hello everyone\r")
    for person in (teacher, bob):
        person.wait_for_text("<alice> hello everyone")
    teacher.send("welcome!\r")
    for person in (alice, bob):
        person.wait_for_text("<teacher> welcome!")
    # ... and so it moderates: a topic, a mute.
    teacher.send("/topic fractions today\r")
    for person in (alice, bob):
        person.wait_for_text("*** teacher set the topic: fractions today")
        person.wait_for_text("topic of lobby: fractions today")
    teacher.send("/mute bob 5\r")
    alice.wait_for_text("*** teacher muted bob for 5 minutes")
    bob.send("can I speak?\r")
    bob.wait_for_text("! your line was not sent: you are muted in lobby until")
    teacher.send("/unmute bob\r")
    bob.wait_for_text("*** teacher unmuted bob")

    watcher = Watcher(ns, tmp_path)
    try:
        watcher.wait_for("add teacher on ")
        # Asked first; "n" keeps the room open.
        teacher.send("/quit\r")
        teacher.wait_for_text(
            "2 people are still in the room (alice, bob); leaving closes it for them"
        )
        teacher.prompt_is(CLOSE)
        teacher.send("n\r")
        teacher.wait_for_text("the room stays open")
        teacher.prompt_is("[lobby] teacher> ")
        bob.send("still here\r")
        teacher.wait_for_text("<bob> still here")
        # Ctrl-D asks too; "y" closes.
        teacher.send("\x04")
        teacher.prompt_is(CLOSE, "the question again")
        teacher.send("y\r")
        assert teacher.wait_exit() == 0
        for person in (alice, bob):
            person.wait_for_text(
                "!!! announcement from teacher: the room is closing (the host is "
                "leaving)"
            )
            person.wait_for_text("-- teacher left")
            person.wait_for_text("server shutting down")
            person.wait_for_text("disconnected: the server closed the connection")
        # Withdrawn from the network as it stopped.
        watcher.wait_for("remove teacher on ", timeout=3)
    finally:
        watcher.close()
    for person in (alice, bob):
        person.send("\x03")
        assert person.wait_exit() == 0
    assert run_client(ns, "--list", "--browse", "0.5").returncode == 1


def test_port_taken_so_the_next_one_is_used(
    ns: Namespace, tmp_path: Path, ptys: list[NsPty]
) -> None:
    # Something else on 4000 (a chat server not announced, as it happens).
    with twistd(tmp_path, port="tcp:4000", prefix=ns.command([])):
        teacher = NsPty(ns, "host", "--nick", "teacher")
        ptys.append(teacher)
        teacher.wait_for_text(
            "hosting the room 'lobby' on port 4001 (port 4000 is taken)"
        )
        teacher.wait_for_text("announced on the local network")
        teacher.prompt_is("[lobby] teacher> ")
        listed = run_client(ns, "--list")
        assert listed.stdout.split("\t")[2] == "4001"
        alice = join_by_discovery(ns, "alice", ptys)
        alice.wait_for_text("in the room (2): alice, teacher")
        alice.send("/quit\r")
        assert alice.wait_exit() == 0
        teacher.wait_for_text("-- alice left")
        # Alone: no question.
        teacher.send("/quit\r")
        assert teacher.wait_exit() == 0
        assert CLOSE not in teacher.screen.text()


def test_host_without_announcing(ns: Namespace, ptys: list[NsPty]) -> None:
    teacher = NsPty(ns, "host", "--nick", "teacher", "--no-announce", "--port", "5000")
    ptys.append(teacher)
    teacher.wait_for_text("hosting the room 'lobby' on port 5000")
    teacher.wait_for_text("only people on it can join (chatproto --port 5000)")
    teacher.prompt_is("[lobby] teacher> ")
    assert "announc" not in teacher.screen.text()
    assert run_client(ns, "--list", "--browse", "0.5").returncode == 1
    joined = run_client(ns, "--port", "5000", "--nick", "bot", stdin="hi\n")
    assert joined.returncode == 0, joined.stderr
    teacher.wait_for_text("<bot> hi")
    teacher.send("\x03")  # Ctrl-C, alone: leaves at once
    assert teacher.wait_exit() == 0


def test_sigterm_stops_the_room_cleanly(
    ns: Namespace, tmp_path: Path, ptys: list[NsPty]
) -> None:
    teacher = NsPty(ns, "host", "--nick", "teacher")
    ptys.append(teacher)
    teacher.wait_for_text("announced on the local network")
    alice = join_by_discovery(ns, "alice", ptys)
    watcher = Watcher(ns, tmp_path)
    try:
        watcher.wait_for("add teacher on ")
        teacher.child.kill(signal.SIGTERM)  # as `kill` or a shutdown does
        assert teacher.wait_exit_or_signal() == 128 + signal.SIGTERM
        alice.wait_for_text("server shutting down")
        watcher.wait_for("remove teacher on ", timeout=3)
    finally:
        watcher.close()
