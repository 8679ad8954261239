"""
The WebSocket front end, without sockets: a WebSocket client driven through
a StringTransport into the real site (Twisted's HTTP channel and WebSocket
upgrade, wsproto), on a fake clock, next to line-protocol members of the
same server.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from helpers import RecordedMetrics, Server
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransportWithDisconnection
from web_helpers import WebClient, site_for, web_member
from wsproto.events import CloseConnection, TextMessage

from chatproto.limits import Limits
from chatproto.metrics import NO_METRICS
from chatproto.session import CLOSE_GRACE
from chatproto.web.member import WebMember


def web_server(**limits: Any) -> tuple[Server, Any]:
    server = Server(**limits)
    return server, site_for(server.server)


def test_the_first_message_is_nick_and_each_message_holds_whole_lines() -> None:
    server, site = web_server()
    client = WebClient(site, server.clock)
    assert client.status == 101
    assert client.messages() == ["NICK\r\n"]
    client.send("alice")
    assert client.received() == [
        "WELCOME alice to lobby; type /help for commands",
        "ROOM lobby",
        "JOIN alice",
        "USERS alice",
    ]


def test_web_and_line_members_share_a_room() -> None:
    server, site = web_server()
    web = web_member(site, server.clock, "alice")
    tcp = server.member("bob")
    assert web.received() == ["JOIN bob"]
    web.send("hello bob")
    tcp.send(b"hi alice\r\n")
    expected = ["MSG alice hello bob", "MSG bob hi alice"]
    assert web.received() == expected
    assert tcp.received() == expected


def test_a_web_member_gets_the_very_bytes_a_line_member_gets() -> None:
    server, site = web_server()
    web = web_member(site, server.clock, "alice")
    tcp = server.member("bob")
    web.messages()
    tcp.send("/me waves 👋\r\n".encode())
    (message,) = web.messages()
    assert isinstance(message, str)
    tcp_bytes = tcp.transport.value()
    assert tcp_bytes.endswith(message.encode("utf-8"))


def test_a_message_may_end_with_a_line_ending_and_hold_several_lines() -> None:
    server, site = web_server()
    client = WebClient(site, server.clock)
    client.messages()
    # The catch-up's lines before the nickname, in one message.
    client.send("/ids on\n/join physics\r\nalice\r\n")
    lines = client.received()
    assert lines[:2] == [
        "WELCOME alice to physics; type /help for commands",
        "ROOM physics",
    ]
    client.send("hello\n")
    (line,) = client.received()
    assert re.fullmatch(r"ID \d+ MSG alice hello", line), line


def test_an_overlong_message_gets_line_too_long_and_the_connection_stays() -> None:
    server, site = web_server(max_line=20)
    client = web_member(site, server.clock, "alice")
    client.send("x" * 21)
    assert client.received() == [
        "ERROR line-too-long lines are limited to 20 bytes; discarded"
    ]
    client.send("y" * 20 + "\r\n")  # the line ending is not counted
    assert client.received() == ["MSG alice " + "y" * 20]
    client.send("é" * 11)  # 22 bytes in 11 characters
    assert client.received()[0].startswith("ERROR line-too-long")
    assert client.connected


def test_a_huge_message_is_never_held_whole() -> None:
    server, site = web_server(max_line=100)
    client = web_member(site, server.clock, "alice")
    member = next(iter(server.server.sessions)).front
    assert isinstance(member, WebMember)
    buffered = member.socket._textBuffer  # type: ignore[union-attr]
    # 10 MB in fragments of 64 KiB, as a hostile client would stream it.
    chunk = "z" * 65536
    for _ in range(160):
        client.send_raw(client.ws.send(TextMessage(chunk, message_finished=False)))
        assert len(buffered.data) <= 102
    client.send_raw(client.ws.send(TextMessage("end", message_finished=True)))
    assert client.received() == [
        "ERROR line-too-long lines are limited to 100 bytes; discarded"
    ]
    client.send("still here")
    assert client.received() == ["MSG alice still here"]


def test_a_binary_message_is_decoded_as_the_line_protocol_decodes() -> None:
    server, site = web_server()
    client = web_member(site, server.clock, "alice")
    client.send_bytes(b"caf\xc3\xa9 \xff")
    assert client.received() == ["MSG alice café \ufffd"]


def test_text_is_cleaned_as_on_the_line_protocol() -> None:
    server, site = web_server()
    client = web_member(site, server.clock, "alice")
    client.send("\x1b[31mred\x1b[0m\ttab\u202eevil\x07")
    assert client.received() == ["MSG alice red tabevil"]


def test_nickname_rules_are_the_sessions() -> None:
    server, site = web_server()
    server.member("alice")
    client = WebClient(site, server.clock)
    client.messages()
    client.send("ALICE")
    assert client.received() == ["ERROR nick-taken alice is already here", "NICK"]
    client.send("<script>")
    assert client.received()[0].startswith("ERROR nick-invalid")


def test_flooding_pauses_the_socket_and_loses_nothing() -> None:
    server, site = web_server(rate=1, burst=3)  # the nickname takes one
    client = web_member(site, server.clock, "alice")
    # Five messages in one read: the connection stops being read after the
    # burst, and the rest wait, in order.
    frames = b"".join(client.ws.send(TextMessage(f"m{i}")) for i in range(5))
    client.send_raw(frames)
    lines = client.received()
    assert any(line.startswith("ERROR rate-limited") for line in lines), lines
    assert [line for line in lines if line.startswith("MSG")] == [
        "MSG alice m0",
        "MSG alice m1",
    ]
    assert client.input_paused
    said = []
    for _ in range(10):
        server.clock.advance(1)
        said += [line for line in client.received() if line.startswith("MSG")]
    assert said == ["MSG alice m2", "MSG alice m3", "MSG alice m4"]
    assert not client.input_paused


def test_a_slow_reader_is_dropped_past_its_send_queue() -> None:
    server, site = web_server(sendq=2048)
    client = web_member(site, server.clock, "alice")
    tcp = server.member("bob")
    # The socket's buffer is full: the transport pauses its producer.
    client.transport.producer.pauseProducing()
    for i in range(100):
        tcp.send(f"line {i} {'x' * 40}\r\n".encode())
    assert not client.connected
    assert "LEAVE alice send queue exceeded" in tcp.received()


def test_a_send_queue_that_drains_keeps_its_member() -> None:
    server, site = web_server(sendq=4096)
    client = web_member(site, server.clock, "alice")
    tcp = server.member("bob")
    client.received()
    client.transport.producer.pauseProducing()
    for i in range(10):
        tcp.send(f"line {i}\r\n".encode())
    assert client.received() == []
    client.transport.producer.resumeProducing()
    assert client.received() == [f"MSG bob line {i}" for i in range(10)]
    assert client.connected


def test_the_handshake_times_out() -> None:
    server, site = web_server(handshake_timeout=5)
    client = WebClient(site, server.clock)
    server.clock.advance(5)
    assert client.received() == [
        "NICK",
        "ERROR handshake-timeout no nickname chosen in 5 seconds",
    ]
    assert client.closed_by_server == 1000
    assert not client.connected


def test_per_address_limits_count_web_and_line_members_together() -> None:
    server, site = web_server(max_per_ip=2)
    tcp = server.connect(host="192.0.2.9")
    first = WebClient(site, server.clock, host="192.0.2.9")
    refused = WebClient(site, server.clock, host="192.0.2.9")
    assert refused.received() == [
        "ERROR too-many-connections at most 2 connections from one address"
    ]
    assert refused.closed_by_server == 1000
    assert not refused.connected
    assert first.connected and not tcp.closed
    other = WebClient(site, server.clock, host="192.0.2.10")
    assert other.received() == ["NICK"]


def test_a_full_server_refuses_web_members_too() -> None:
    server, site = web_server(max_clients=1)
    server.connect()
    refused = WebClient(site, server.clock)
    assert refused.received()[0].startswith("ERROR server-full")
    assert not refused.connected


def test_a_refused_client_that_does_not_close_is_cut(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server, site = web_server(max_clients=1)
    server.connect()
    # A peer that never lets the connection close.
    monkeypatch.setattr(StringTransportWithDisconnection, "loseConnection", no_op)
    refused = WebClient(site, server.clock)
    assert refused.received()[0].startswith("ERROR server-full")
    assert not refused.transport.disconnected
    server.clock.advance(CLOSE_GRACE)
    assert refused.transport.disconnected  # aborted


def no_op(*args: object) -> None:
    pass


def test_a_closed_websocket_leaves_the_room() -> None:
    server, site = web_server()
    client = web_member(site, server.clock, "alice")
    tcp = server.member("bob")
    client.close()
    assert tcp.received() == ["LEAVE alice connection closed"]
    assert server.server.find("alice") is None


def test_quit_closes_the_websocket() -> None:
    server, site = web_server()
    client = web_member(site, server.clock, "alice")
    client.send("/quit bye")
    client.messages()
    assert client.closed_by_server == 1000
    assert not client.connected


def test_shutdown_tells_web_members_and_closes() -> None:
    server, site = web_server()
    client = web_member(site, server.clock, "alice")
    server.server.shut_down()
    assert client.received() == ["INFO server shutting down"]
    assert not client.connected


def test_web_members_are_counted_and_logged_like_the_others() -> None:
    metrics = RecordedMetrics()
    server = Server(metrics=metrics)
    site = site_for(server.server)
    client = web_member(site, server.clock, "alice")
    client.send("héllo")
    assert ("connection_accepted",) in metrics.calls
    assert metrics.named("bytes_received") == [(5,), (6,)]
    assert metrics.named("members_changed")[-1] == (1,)


def test_writes_after_the_client_closed_are_dropped() -> None:
    server, site = web_server()
    client = web_member(site, server.clock, "alice")
    session = next(iter(server.server.sessions))
    # The client's close is answered; before the TCP connection ends, the
    # room still writes: nothing raises, nothing is sent.
    client.send_raw(client.ws.send(CloseConnection(1000)))
    before = client.transport.value()
    session.notify("too late")
    assert client.transport.value() == before
    session.close()


class FakeSession:
    """
    Records what the front end hands it, and pauses input after
    C{pause_after} lines, as the session does when a member floods.
    """

    def __init__(self, front: WebMember, pause_after: int) -> None:
        self.front = front
        self.pause_after = pause_after
        self.lines: list[str | None] = []

    def start(self) -> None:
        pass

    def line_received(self, text: str) -> None:
        self.lines.append(text)
        if len(self.lines) == self.pause_after:
            self.front.pause_input()

    def line_too_long(self) -> None:
        self.lines.append(None)

    def connection_lost(self, reason: object) -> None:
        pass


class FakeServer:
    def __init__(self, clock: Any, pause_after: int) -> None:
        self.clock = clock
        self.limits = Limits(max_line=10)
        self.metrics = NO_METRICS
        self.pause_after = pause_after
        self.session: FakeSession | None = None

    def refusal(self, host: str | None) -> None:
        return None

    def connect(self, front: WebMember, peer: str, host: str | None) -> FakeSession:
        self.session = FakeSession(front, self.pause_after)
        return self.session


def test_paused_input_hands_the_session_nothing_until_resumed() -> None:
    clock = Clock()
    server = FakeServer(clock, pause_after=2)
    client = WebClient(site_for(server), clock)  # type: ignore[arg-type]
    assert server.session is not None
    frames = [client.ws.send(TextMessage(f"m{i}")) for i in range(4)]
    frames.insert(3, client.ws.send(TextMessage("x" * 11)))  # too long
    client.send_raw(b"".join(frames))
    assert server.session.lines == ["m0", "m1"]
    assert client.input_paused
    server.session.front.resume_input()
    assert server.session.lines == ["m0", "m1", "m2", None, "m3"]
    assert not client.input_paused
