"""The member's terminal (TerminalUI) on an in-memory terminal with a session
on a StringTransport: the prompt names the room, Tab completes the room's
nicknames and the server's commands."""

from __future__ import annotations

import re
from datetime import datetime

from twisted.conch.insults.helper import TerminalBuffer
from twisted.internet import error
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure

from chatproto.client.protocol import ChatClientProtocol
from chatproto.client.session import Session
from chatproto.client.terminal import COMMANDS, TerminalUI


class Member:
    def __init__(self) -> None:
        self.buffer = TerminalBuffer()
        self.buffer.width = 100
        self.buffer.connectionMade()
        self.ui = TerminalUI(colour=False, now=lambda: datetime(2024, 1, 1, 12, 0))
        self.ui.editor.makeConnection(self.buffer)
        self.ui.editor.terminalSize(100, 24)
        self.session = Session(
            self.ui,
            nick="alice",
            interactive=True,
            reconnect=True,
            clock=Clock(),
            where="localhost:4000",
        )
        self.ui.session = self.session
        self.transport = StringTransport()
        self.client = ChatClientProtocol(self.session)
        self.client.makeConnection(self.transport)

    def server(self, *lines: str) -> None:
        self.client.dataReceived("".join(f"{line}\r\n" for line in lines).encode())

    def row(self) -> str:
        row = bytes(self.buffer).decode().split("\n")[self.buffer.y]
        return re.sub(r"\x1b?\[[0-9;]*m", "", row)  # the buffer drops ESC

    def type(self, text: str) -> None:
        for byte in text.encode("utf-8"):
            self.ui.editor.keystrokeReceived(bytes([byte]), None)

    def tab(self) -> None:
        self.ui.editor.keystrokeReceived(self.buffer.TAB, None)


def joined() -> Member:
    m = Member()
    m.server("NICK", "WELCOME alice to lobby", "ROOM lobby", "HISTORY-END 1")
    m.server("ID 2 JOIN alice", "USERS alice bob Bóris")
    return m


def test_the_prompt_names_the_room_and_follows_a_join() -> None:
    m = joined()
    assert m.row() == "[lobby] alice> "
    m.server("ROOM physics", "HISTORY-END 9", "ID 10 JOIN alice", "USERS alice")
    assert m.row() == "[physics] alice> "
    m.client.connectionLost(Failure(error.ConnectionLost()))
    assert m.row() == "(alice, offline)> "


def test_tab_completes_the_rooms_nicknames_as_they_change() -> None:
    m = joined()
    assert m.ui.complete("b") == ["bob", "Bóris"]
    m.server("ID 3 JOIN carol", "ID 4 RENAME bob robert", "ID 5 LEAVE Bóris")
    assert m.ui.complete("") == ["alice", "carol", "robert"]
    m.type("ca")
    m.tab()
    assert m.ui.editor.text == "carol: "
    m.server("ROOM physics", "HISTORY-END 9", "ID 10 JOIN alice", "USERS alice dave")
    assert m.ui.complete("ca") == []
    assert m.ui.complete("d") == ["dave"]


def test_tab_completes_commands() -> None:
    m = joined()
    assert m.ui.complete("/JO") == ["/join"]
    assert m.ui.complete("/un") == ["/unban", "/unmute"]
    assert {"/join", "/rooms", "/topic", "/kick", "/oper"} <= set(COMMANDS)
    m.type("/ro")
    m.tab()
    assert m.ui.editor.text == "/rooms "
