"""
History end to end: the client against a real server (twistd in a
subprocess) catches up after losing its connection and shows every line
exactly once, replayed lines told apart from live ones.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from client_helpers import PipedClient, Proxy, PtyClient, Server, Watcher

from chatproto.client.catchup import GAP

RECONNECT_TIMEOUT = 30.0  # the client's backoff reaches a few seconds


def strip_sgr(raw: bytes) -> str:
    return re.sub(rb"\x1b\[[0-9;]*m", b"", raw).decode("utf-8", "replace")


def say(member: Watcher, text: str) -> None:
    member.send(text.encode() + b"\r\n")
    member.expect(f"MSG {member_nick(member)} {text}")


def member_nick(member: Watcher) -> str:
    welcome = next(line for line in member.lines if line.startswith("WELCOME "))
    return welcome.split(" ")[1]


@pytest.fixture
def proxy(server: Server) -> Iterator[Proxy]:
    proxy = Proxy(server.port)
    try:
        yield proxy
    finally:
        proxy.close()


def test_a_dropped_connection_is_caught_up_exactly_once(
    server: Server, proxy: Proxy
) -> None:
    bob = Watcher(server.port, "bob")
    alice = None
    try:
        say(bob, "said before alice came")
        alice = PtyClient(proxy.port, "--nick", "alice")
        # The newcomer's replay, once, dimmed, and a divider after it.
        alice.wait_for_text("-- end of history --")
        bob.expect("JOIN alice")
        say(bob, "live one")
        alice.wait_for_text("<bob> live one")

        proxy.cut()  # the Wi-Fi goes
        alice.wait_for_text("-- disconnected:")
        bob.expect("LEAVE alice", prefix=True)
        for n in range(1, 4):
            say(bob, f"missed {n}")
        proxy.resume()

        alice.wait_for_text("reconnected: you are back", RECONNECT_TIMEOUT)
        # Alice's LEAVE as the server saw it, and the three messages.
        alice.wait_for_text("-- end of history (4 lines while you were away) --")
        say(bob, "after the return")
        alice.wait_for_text("<bob> after the return")

        raw = alice.screen.raw
        text = strip_sgr(raw)
        for line in (
            "said before alice came",
            "live one",
            "missed 1",
            "missed 2",
            "missed 3",
            "after the return",
        ):
            assert text.count(f"<bob> {line}") == 1, line
        assert text.count("-- alice left (connection closed)") == 1
        assert GAP not in text
        # Replayed lines are dim; live ones are not.
        for line in ("said before alice came", "missed 1", "missed 3"):
            assert f"\x1b[2m{line}\x1b[0m".encode() in raw
        for line in ("live one", "after the return"):
            assert f"> {line}".encode() in raw
            assert f"\x1b[2m{line}".encode() not in raw
        assert text.index("missed 3") < text.index("while you were away")
        assert text.index("while you were away") < text.index("after the return")
        alice.send("/quit\r")
        assert alice.wait_exit() == 0
    finally:
        bob.close()
        if alice is not None:
            alice.close()


def test_a_piped_client_catches_up_across_server_restarts(tmp_path: Path) -> None:
    db = str(tmp_path / "history.sqlite")
    server = Server(tmp_path, 0, "tcp", "--history-db", db)
    port = server.port
    client = PipedClient(tmp_path, port, "--nick", "alice")
    try:
        bob = Watcher(port, "bob")
        say(bob, "said before the restart")
        client.wait_for("<bob> said before the restart")
        bob.close()

        server.stop()
        client.wait_for("server shutting down")
        client.wait_for("disconnected:", "stderr")
        # Meanwhile, the room goes on on the same history, where the client
        # cannot reach it.
        elsewhere = Server(tmp_path, 0, "tcp", "--history-db", db)
        carol = Watcher(elsewhere.port, "carol")
        say(carol, "while you were away")
        carol.send(b"/me waves\r\n/quit\r\n")
        carol.expect_closed()
        carol.close()
        elsewhere.stop()

        server = Server(tmp_path, port, "tcp", "--history-db", db)
        # JOIN carol, her message, her action, her LEAVE.
        client.wait_for(
            "-- end of history (4 lines while you were away) --",
            timeout=RECONNECT_TIMEOUT,
        )
        dave = Watcher(port, "dave")
        say(dave, "live again")
        client.wait_for("<dave> live again")
        dave.close()
        assert client.finish() == 0
    finally:
        client.close()
        server.stop()

    out = client.stdout()
    assert "\x1b" not in out
    assert GAP not in out
    for line in (
        "<bob> said before the restart",
        "-- carol joined",
        "<carol> while you were away",
        "* carol waves",
        "<dave> live again",
    ):
        assert out.count(line) == 1, (line, out)
    # Plain text: the replay is what comes before its divider.
    assert out.index("server shutting down") < out.index("-- carol joined")
    assert out.index("* carol waves") < out.index("while you were away) --")
    assert out.index("while you were away) --") < out.index("<dave> live again")
    assert "reconnected: you are back in the room as alice" in client.stderr()


def test_a_newcomers_replay_is_shown_once(server: Server, tmp_path: Path) -> None:
    bob = Watcher(server.port, "bob")
    say(bob, "earlier")
    client = PipedClient(tmp_path, server.port, "--nick", "alice")
    try:
        client.wait_for("-- in the room")
        say(bob, "now")
        client.wait_for("<bob> now")
        client.send("/history")  # pages back: nothing further than the replay
        client.wait_for("-- no more history --")
        assert client.finish() == 0
    finally:
        bob.close()
        client.close()
    out = client.stdout()
    assert out.count("<bob> earlier") == 1
    assert out.count("-- bob joined") == 1
    assert out.index("<bob> earlier") < out.index("-- end of history --")
    assert out.index("-- end of history --") < out.index("<bob> now")
