"""
Rooms, moderation and operator login end to end: the client against a real
server (twistd in a subprocess), in a pseudo-terminal or behind pipes, over
a proxy that can drop its connection.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from client_helpers import PipedClient, Proxy, PtyClient, Server, Watcher

from chatproto.client.catchup import GAP
from chatproto.operators import format_line, hash_password

RECONNECT_TIMEOUT = 30.0  # the client's backoff reaches a few seconds
PASSWORD = "open sesame"


def strip_sgr(raw: bytes) -> str:
    return re.sub(rb"\x1b\[[0-9;]*m", b"", raw).decode("utf-8", "replace")


def prompt_is(text: str):  # type: ignore[no-untyped-def]
    return lambda screen: screen.cursor_row() == text


@pytest.fixture
def proxy(server: Server) -> Iterator[Proxy]:
    proxy = Proxy(server.port)
    try:
        yield proxy
    finally:
        proxy.close()


def test_back_in_the_same_room_after_a_dropped_connection(
    server: Server, proxy: Proxy
) -> None:
    alice = PtyClient(proxy.port, "--nick", "alice")
    bob = None
    try:
        alice.wait_for(prompt_is("[lobby] alice> "), "the lobby prompt")
        alice.send("/join physics\r")
        alice.wait_for(prompt_is("[physics] alice> "), "the physics prompt")
        alice.wait_for_text("-- you are in the room physics")
        alice.send("/topic waves\r")  # she made the room: she may
        alice.wait_for_text("topic of physics: waves")
        bob = Watcher(server.port, "bob")
        bob.send(b"/join physics\r\n")
        bob.expect("TOPIC physics waves")
        bob.expect("USERS alice bob")
        alice.wait_for_text("-- bob joined")

        proxy.cut()
        alice.wait_for_text("-- disconnected:")
        bob.expect("LEAVE alice connection closed")
        for n in (1, 2):
            bob.send(f"missed {n}\r\n".encode())
            bob.expect(f"MSG bob missed {n}")
        proxy.resume()

        alice.wait_for_text("reconnected: you are back", RECONNECT_TIMEOUT)
        # Back in physics, not the lobby: her LEAVE and the two messages.
        alice.wait_for_text("-- end of history (3 lines while you were away) --")
        alice.wait_for(prompt_is("[physics] alice> "), "the physics prompt again")
        bob.send(b"after\r\n")
        alice.wait_for_text("<bob> after")
        alice.send("/rooms\r")
        alice.wait_for_text("rooms: lobby (0), physics (2)")
        text = strip_sgr(alice.screen.raw)
        for line in ("<bob> missed 1", "<bob> missed 2", "<bob> after"):
            assert text.count(line) == 1, line
        assert GAP not in text
        alice.send("/quit\r")
        assert alice.wait_exit() == 0
    finally:
        alice.close()
        if bob is not None:
            bob.close()


def test_a_long_gap_is_caught_up_page_by_page(tmp_path: Path) -> None:
    server = Server(tmp_path, 0, "tcp", "--rate", "0")
    proxy = Proxy(server.port)
    alice = PipedClient(tmp_path, proxy.port, "--nick", "alice")
    bob = Watcher(server.port, "bob")
    try:
        alice.send("/join physics")
        alice.wait_for("-- you are in the room physics")
        bob.send(b"/join physics\r\n")
        bob.expect("USERS alice bob")
        proxy.cut()
        alice.wait_for("disconnected:", "stderr")
        # More than one replay holds (500): HISTORY-MORE, then /since.
        bob.send(b"".join(f"missed {n}\r\n".encode() for n in range(1, 701)))
        bob.expect("MSG bob missed 700")
        proxy.resume()
        alice.wait_for(
            "-- end of history (701 lines while you were away) --",
            timeout=RECONNECT_TIMEOUT,
        )
        bob.send(b"live again\r\n")
        alice.wait_for("<bob> live again")
        assert alice.finish() == 0
    finally:
        alice.close()
        bob.close()
        proxy.close()
        server.stop()
    out = alice.stdout()
    for n in (1, 2, 499, 500, 501, 700):
        assert out.count(f"<bob> missed {n}\n") == 1, n
    assert sum(1 for line in out.splitlines() if "<bob> missed " in line) == 700
    assert GAP not in out


@pytest.fixture
def oper_server(tmp_path: Path) -> Iterator[Server]:
    operators = tmp_path / "operators"
    operators.write_text(format_line("teacher", hash_password(PASSWORD, n=1024)))
    operators.chmod(0o600)
    server = Server(tmp_path, 0, "tcp", "--operators", str(operators))
    try:
        yield server
    finally:
        server.stop()


def test_an_operator_logs_in_and_a_kick_is_final(oper_server: Server) -> None:
    teacher = PtyClient(oper_server.port, "--nick", "teacher", "--oper", "teacher")
    bob = PtyClient(oper_server.port, "--nick", "bob")
    try:
        teacher.wait_for_text("Operator password for teacher:")
        teacher.send(PASSWORD + "\r")
        teacher.wait_for_text("-- you are an operator now (teacher)")
        teacher.wait_for(prompt_is("[lobby] teacher> "), "the chat prompt")
        bob.wait_for(prompt_is("[lobby] bob> "), "bob's prompt")
        teacher.send("/announce tests at 3\r")
        bob.wait_for_text("!!! announcement from teacher: tests at 3")
        teacher.send("/kick bob\r")
        bob.wait_for_text("! you were kicked by teacher; goodbye")
        bob.wait_for_text("! you were kicked from the server: not reconnecting")
        assert bob.wait_exit() == 1
        assert "reconnecting" not in bob.screen.text().replace("not reconnecting", "")
        teacher.wait_for_text("*** teacher kicked bob")
        teacher.send("/quit\r")
        assert teacher.wait_exit() == 0
        # Typed without echo, never shown.
        assert PASSWORD.encode() not in teacher.screen.raw
    finally:
        teacher.close()
        bob.close()


def test_a_wrong_password_is_refused_plainly(
    oper_server: Server, tmp_path: Path
) -> None:
    secret = tmp_path / "oper-password"
    secret.write_text("not it\n")
    client = PipedClient(
        tmp_path,
        oper_server.port,
        "--nick",
        "bob",
        "--oper",
        "teacher",
        "--oper-password-file",
        str(secret),
    )
    try:
        client.wait_for(
            "operator login as teacher refused: wrong operator name or password",
            "stderr",
        )
        client.wait_for("-- Welcome bob")
        assert client.finish() == 0
    finally:
        client.close()
    assert "not it" not in client.stdout() + client.stderr()
