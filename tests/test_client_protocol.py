"""The client's wire protocol, driven through a StringTransport."""

from __future__ import annotations

from datetime import UTC, datetime

from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure

from chatproto.client.events import (
    Event,
    Historic,
    HistoryEnd,
    Joined,
    Message,
    NickRequest,
    Numbered,
    Users,
)
from chatproto.client.protocol import ChatClientFactory, ChatClientProtocol


class Recorder:
    def __init__(self) -> None:
        self.events: list[Event] = []
        self.skipped = 0
        self.made: list[ChatClientProtocol] = []
        self.lost: list[Failure] = []

    def connection_made(self, client: ChatClientProtocol) -> None:
        self.made.append(client)

    def event_received(self, event: Event) -> None:
        self.events.append(event)

    def line_skipped(self) -> None:
        self.skipped += 1

    def connection_lost(self, client: ChatClientProtocol, reason: Failure) -> None:
        self.lost.append(reason)


def connected() -> tuple[ChatClientProtocol, StringTransport, Recorder]:
    recorder = Recorder()
    client = ChatClientFactory(recorder).buildProtocol(None)
    transport = StringTransport()
    client.makeConnection(transport)
    assert recorder.made == [client]
    return client, transport, recorder


def test_crlf_and_lf_lines_split_across_reads() -> None:
    client, _, recorder = connected()
    for chunk in (b"NI", b"CK\r", b"\nMSG alice hi\nMSG bob y", b"o\r\n"):
        client.dataReceived(chunk)
    assert recorder.events == [
        NickRequest(),
        Message("alice", "hi"),
        Message("bob", "yo"),
    ]


def test_history_and_id_lines_split_across_reads() -> None:
    client, _, recorder = connected()
    data = (
        b"HISTORY 41 2026-11-21T18:02:11Z JOIN bob\r\n"
        b"HISTORY 42 2026-11-21T18:02:15Z MSG bob anyone here?\r\n"
        b"HISTORY-END 42\r\n"
        b"ID 43 JOIN alice\r\n"
        b"USERS alice bob\r\n"
    )
    for start in range(0, len(data), 7):
        client.dataReceived(data[start : start + 7])
    said = datetime(2026, 11, 21, 18, 2, 11, tzinfo=UTC)
    assert recorder.events == [
        Historic(41, said, Joined("bob")),
        Historic(42, said.replace(second=15), Message("bob", "anyone here?")),
        HistoryEnd(42),
        Numbered(43, Joined("alice")),
        Users(("alice", "bob")),
    ]


def test_utf8_split_across_reads_and_invalid_bytes() -> None:
    client, _, recorder = connected()
    data = "MSG zoë ça va\r\n".encode()
    split = data.index(b"\xc3") + 1
    client.dataReceived(data[:split])
    client.dataReceived(data[split:] + b"MSG bob \xff\r\n")
    assert recorder.events == [Message("zoë", "ça va"), Message("bob", "\ufffd")]


def test_long_line_is_skipped_without_dropping_the_connection() -> None:
    client, transport, recorder = connected()
    client.MAX_LENGTH = 100
    long = b"MSG alice " + b"x" * 500
    client.dataReceived(b"MSG a one\r\n" + long[:50])
    client.dataReceived(long[50:300])
    client.dataReceived(long[300:] + b"\r\nMSG b two\r\nMSG c thr")
    client.dataReceived(b"ee\r\n")
    assert recorder.events == [
        Message("a", "one"),
        Message("b", "two"),
        Message("c", "three"),
    ]
    assert recorder.skipped == 1
    assert transport.connected and not transport.disconnecting


def test_long_line_followed_by_lines_in_the_same_read() -> None:
    client, transport, recorder = connected()
    client.MAX_LENGTH = 20
    client.dataReceived(b"USERS " + b"a " * 40 + b"\r\nUSERS bob\r\nUSERS c\r\n")
    assert recorder.events == [Users(("bob",)), Users(("c",))]
    assert not transport.disconnecting


def test_send_ends_lines_and_cannot_be_split() -> None:
    client, transport, _ = connected()
    client.send("zoë says hi")
    client.send("two\nlines\r")
    assert transport.value() == "zoë says hi\r\ntwo lines \r\n".encode()


def test_connection_lost_is_reported() -> None:
    client, transport, recorder = connected()
    client.close()
    assert transport.disconnecting
    client.connectionLost(Failure(ConnectionError("gone")))
    assert len(recorder.lost) == 1
