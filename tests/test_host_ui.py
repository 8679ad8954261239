"""
The host's terminal: leaving closes the room, so the host is asked first
when people are still in it.  Driven through a terminal buffer and a session
on a StringTransport, with a fake clock.
"""

from __future__ import annotations

from datetime import datetime

import pytest
from twisted.conch.insults.helper import TerminalBuffer
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport

from chatproto.client import host_ui
from chatproto.client.host_ui import ANNOUNCE_CLOSING, CLOSING, HostUI
from chatproto.client.login import OperLogin
from chatproto.client.protocol import ChatClientProtocol
from chatproto.client.session import Session

CLOSE = "Close the room for everyone? (y/n) "


class Hosting:
    def __init__(self) -> None:
        self.buffer = TerminalBuffer()
        self.buffer.width = 100
        self.buffer.connectionMade()
        self.ui = HostUI(colour=False)
        self.ui.now = lambda: datetime(2024, 1, 1, 12, 0)
        self.ui.editor.makeConnection(self.buffer)
        self.ui.editor.terminalSize(100, 24)
        self.session = Session(
            self.ui,
            nick="teacher",
            interactive=True,
            reconnect=False,
            clock=Clock(),
            where="localhost:4000",
        )
        self.ui.session = self.session
        self.status: list[int] = []
        self.session.done.addCallback(self.status.append)
        self.transport = StringTransport()
        self.client = ChatClientProtocol(self.session)
        self.client.makeConnection(self.transport)

    def server(self, *lines: str) -> None:
        self.client.dataReceived("".join(f"{line}\r\n" for line in lines).encode())

    def sent(self) -> list[str]:
        lines = self.transport.value().decode().split("\r\n")[:-1]
        self.transport.clear()
        return lines

    def join(self, *others: str) -> None:
        self.server("NICK")
        self.sent()
        self.server("WELCOME teacher to lobby", "HISTORY-END 1", "ID 2 JOIN teacher")
        self.server(f"USERS teacher {' '.join(others)}".strip())

    def type(self, text: str) -> None:
        for byte in text.encode():
            self.ui.editor.keystrokeReceived(bytes([byte]), None)

    def enter(self, text: str) -> None:
        self.type(text)
        self.ui.editor.keystrokeReceived(b"\r", None)

    def row(self) -> str:
        return bytes(self.buffer).decode().split("\n")[self.buffer.y]

    def screen(self) -> str:
        return bytes(self.buffer).decode()


@pytest.fixture
def hosting(monkeypatch: pytest.MonkeyPatch) -> Hosting:
    joined: list[str] = []
    monkeypatch.setattr(host_ui, "host_joined", joined.append)
    hosting = Hosting()
    hosting.joined = joined  # type: ignore[attr-defined]
    return hosting


def test_alone_the_host_leaves_without_a_question(hosting: Hosting) -> None:
    hosting.join()
    hosting.enter("/quit bye")
    assert hosting.sent() == ["/quit bye"]
    assert CLOSE not in hosting.screen()


def test_with_people_in_the_room_the_host_is_asked_and_may_stay(
    hosting: Hosting,
) -> None:
    hosting.join("alice", "bob")
    hosting.enter("/quit")
    assert hosting.sent() == []
    assert "2 people are still in the room (alice, bob)" in hosting.screen()
    assert hosting.row() == CLOSE
    hosting.enter("no")
    assert hosting.sent() == []
    assert "the room stays open" in hosting.screen()
    assert "teacher" in hosting.row() and CLOSE not in hosting.row()
    hosting.enter("hello")  # still in the room
    assert hosting.sent() == ["hello"]


def test_yes_tells_the_members_then_leaves(hosting: Hosting) -> None:
    hosting.join("alice")
    hosting.server("ID 3 JOIN bob", "ID 4 LEAVE alice")
    hosting.enter("/quit see you")
    assert "1 person is still in the room (bob)" in hosting.screen()
    hosting.enter("Y")
    assert hosting.sent() == [f"/me {CLOSING}", "/quit see you"]


@pytest.mark.parametrize(("first", "again"), [(b"\x03", b"\x03"), (b"\x04", b"\x03")])
def test_ctrl_c_or_d_asks_and_again_closes(
    hosting: Hosting, first: bytes, again: bytes
) -> None:
    hosting.join("alice")
    hosting.ui.editor.keystrokeReceived(first, None)
    assert hosting.row() == CLOSE
    assert hosting.sent() == []
    hosting.ui.editor.keystrokeReceived(again, None)
    assert hosting.sent() == [f"/me {CLOSING}", "/quit"]


def test_the_hook_hears_of_the_host_joining_once(hosting: Hosting) -> None:
    hosting.join("alice")
    hosting.server("ID 3 RENAME teacher boss")
    assert hosting.joined == ["teacher"]  # type: ignore[attr-defined]


def test_choosing_a_nickname_is_not_mistaken_for_leaving(hosting: Hosting) -> None:
    hosting.session.nick = None
    hosting.server("NICK")
    hosting.sent()
    hosting.enter("/quit")  # at "Choose a nickname:": leaves, nobody to ask about
    assert hosting.status == [0]


def test_the_host_logged_in_as_operator_announces_the_closing(
    hosting: Hosting,
) -> None:
    hosting.session.oper = OperLogin("teacher", "made-up")
    hosting.server("NICK")
    assert hosting.sent() == ["/ids on", "/oper teacher made-up", "teacher"]
    hosting.server("INFO you are an operator now (teacher)")
    assert "you are an operator now (teacher)" in hosting.screen()
    assert "made-up" not in hosting.screen()
    hosting.server("WELCOME teacher to lobby", "ROOM lobby", "HISTORY-END 1")
    hosting.server("ID 2 JOIN teacher", "USERS alice teacher")
    hosting.enter("/quit")
    hosting.enter("y")
    # To every room: members elsewhere on the server lose it too.
    assert hosting.sent() == [f"/announce {ANNOUNCE_CLOSING}", "/quit"]


def test_the_host_alone_announces_too_for_other_rooms(hosting: Hosting) -> None:
    hosting.session.oper = OperLogin("teacher", "made-up")
    hosting.server("NICK", "INFO you are an operator now (teacher)")
    hosting.server("WELCOME teacher to lobby", "ROOM lobby", "HISTORY-END 1")
    hosting.server("ID 2 JOIN teacher", "USERS teacher")
    hosting.sent()
    hosting.enter("/quit")
    assert hosting.sent() == [f"/announce {ANNOUNCE_CLOSING}", "/quit"]
