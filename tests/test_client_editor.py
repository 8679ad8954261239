"""The line editor on an in-memory terminal (conch's TerminalBuffer)."""

from __future__ import annotations

from twisted.conch.insults.helper import TerminalBuffer
from twisted.python.failure import Failure

from chatproto.client.editor import LineEditor, char_width, text_width, view


class Owner:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.accept = True
        self.eof = 0
        self.interrupts = 0
        self.nicks = ["alice", "albert", "bob"]
        self.choices: list[list[str]] = []

    def line_entered(self, text: str) -> bool:
        self.lines.append(text)
        return self.accept

    def end_of_input(self) -> None:
        self.eof += 1

    def interrupted(self) -> None:
        self.interrupts += 1

    def complete(self, prefix: str) -> list[str]:
        return [n for n in self.nicks if n.startswith(prefix)]

    def show_choices(self, choices: list[str]) -> None:
        self.choices.append(choices)

    def editor_closed(self, reason: Failure) -> None:
        pass


class Term:
    def __init__(self, width: int = 40, prompt: str = "alice> ") -> None:
        self.owner = Owner()
        self.buffer = TerminalBuffer()
        self.buffer.width = width
        self.buffer.connectionMade()
        self.editor = LineEditor(self.owner)
        self.editor.makeConnection(self.buffer)
        self.editor.terminalSize(width, 24)
        self.editor.set_prompt(prompt)

    def type(self, text: str) -> None:
        for byte in text.encode("utf-8"):
            self.editor.keystrokeReceived(bytes([byte]), None)

    def key(self, name: str, times: int = 1) -> None:
        for _ in range(times):
            self.editor.keystrokeReceived(getattr(self.buffer, name), None)

    def lines(self) -> list[str]:
        return [line for line in bytes(self.buffer).decode().split("\n") if line]

    def row(self) -> str:
        return bytes(self.buffer).decode().split("\n")[self.buffer.y]

    def x(self) -> int:
        return self.buffer.x


def test_typing_shows_after_the_prompt() -> None:
    t = Term()
    t.type("hello")
    assert t.row() == "alice> hello"
    assert t.x() == len("alice> hello")
    assert t.editor.text == "hello"


def test_output_goes_above_and_the_half_typed_line_stays_intact() -> None:
    t = Term()
    t.type("hello world")
    t.key("LEFT_ARROW", 3)
    t.editor.add_output("09:00 <bob> first")
    t.editor.add_output("09:01 <bob> second")
    assert t.lines() == [
        "09:00 <bob> first",
        "09:01 <bob> second",
        "alice> hello world",
    ]
    assert t.row() == "alice> hello world"
    assert t.x() == len("alice> hello wo")  # the cursor is where it was
    t.type("X")
    assert t.editor.text == "hello woXrld"
    assert t.row() == "alice> hello woXrld"


def test_enter_hands_the_line_over_and_clears_the_input_row() -> None:
    t = Term()
    t.type("hi there")
    t.editor.keystrokeReceived(b"\r", None)
    assert t.owner.lines == ["hi there"]
    assert t.row() == "alice> "
    assert t.editor.text == ""


def test_a_refused_line_stays_for_later() -> None:
    t = Term()
    t.owner.accept = False
    t.type("not yet")
    t.editor.keystrokeReceived(b"\r", None)
    assert t.owner.lines == ["not yet"]
    assert t.editor.text == "not yet"
    assert t.row() == "alice> not yet"


def test_history_up_and_down() -> None:
    t = Term()
    for line in ("one", "two"):
        t.type(line)
        t.editor.keystrokeReceived(b"\r", None)
    t.type("draft")
    t.key("UP_ARROW")
    assert t.row() == "alice> two"
    t.key("UP_ARROW")
    assert t.row() == "alice> one"
    t.key("UP_ARROW")
    assert t.row() == "alice> one"
    t.key("DOWN_ARROW")
    assert t.row() == "alice> two"
    t.key("DOWN_ARROW")
    assert t.row() == "alice> draft"  # what was being typed is kept
    t.key("DOWN_ARROW")
    assert t.row() == "alice> "


def test_editing_keys() -> None:
    t = Term()
    t.type("helo world")
    t.key("HOME")
    t.key("RIGHT_ARROW", 3)
    t.type("l")
    assert t.editor.text == "hello world"
    t.key("END")
    t.key("BACKSPACE")
    assert t.editor.text == "hello worl"
    t.key("HOME")
    t.key("DELETE")
    assert t.row() == "alice> ello worl"
    t.editor.keystrokeReceived(b"\x05", None)  # Ctrl-E
    t.editor.keystrokeReceived(b"\x17", None)  # Ctrl-W
    assert t.editor.text == "ello "
    t.editor.keystrokeReceived(b"\x01", None)  # Ctrl-A
    t.editor.keystrokeReceived(b"\x0b", None)  # Ctrl-K
    assert t.editor.text == ""
    t.type("abc")
    t.key("LEFT_ARROW")
    t.editor.keystrokeReceived(b"\x15", None)  # Ctrl-U
    assert t.editor.text == "c"
    assert t.row() == "alice> c"
    assert t.x() == len("alice> ")


def test_typeover_mode() -> None:
    t = Term()
    t.type("abc")
    t.key("HOME")
    t.key("INSERT")
    t.type("XY")
    assert t.editor.text == "XYc"


def test_ctrl_d_and_ctrl_c() -> None:
    t = Term()
    t.type("ab")
    t.key("HOME")
    t.editor.keystrokeReceived(b"\x04", None)
    assert t.editor.text == "b" and t.owner.eof == 0
    t.editor.keystrokeReceived(b"\x0b", None)  # Ctrl-K: now empty
    t.editor.keystrokeReceived(b"\x04", None)
    assert t.owner.eof == 1
    t.editor.keystrokeReceived(b"\x03", None)
    assert t.owner.interrupts == 1


def test_utf8_input_arrives_byte_by_byte() -> None:
    t = Term()
    t.type("zoë 李")
    assert t.editor.text == "zoë 李"
    assert len(t.editor.lineBuffer) == 5
    t.key("BACKSPACE")
    t.key("BACKSPACE")
    assert t.editor.text == "zoë"


def test_widths() -> None:
    assert [char_width(c) for c in "aé李\u0301"] == [1, 1, 2, 0]
    assert text_width("李雷 ok") == 7


def test_view_scrolls_to_keep_the_cursor_visible() -> None:
    widths = [1] * 30
    assert view(widths, 30, 0, 10) == (20, 30)
    assert view(widths, 0, 20, 10) == (0, 10)
    assert view(widths, 15, 10, 10) == (10, 20)  # already visible: no jump
    assert view([2] * 10, 10, 0, 7) == (7, 10)


def test_long_lines_scroll_sideways_in_one_row() -> None:
    t = Term(width=20, prompt="a> ")
    t.type("0123456789abcdefghijklmnopqrstuvwxyz")
    assert t.lines() == [t.row()]  # never wraps onto a second row
    assert len(t.row()) <= 19
    assert t.row().endswith("xyz")
    t.key("HOME")
    assert t.row().startswith("a> 0123")
    assert t.x() == 3
    t.editor.add_output("a message")
    assert t.lines() == ["a message", "a> 0123456789abcdef"]


def test_tab_completes_nicknames() -> None:
    t = Term()
    t.type("bo")
    t.key("TAB")
    assert t.editor.text == "bob: "
    t.type("ask al")
    t.key("TAB")
    assert t.editor.text == "bob: ask al"
    assert t.owner.choices == [["alice", "albert"]]
    t.type("i")
    t.key("TAB")
    assert t.editor.text == "bob: ask alice "


def test_tab_completes_commands_with_a_space_after() -> None:
    t = Term()
    t.owner.nicks = ["/join", "/kick", "/me", "/msg", "/mute"]
    t.type("/j")
    t.key("TAB")
    assert t.editor.text == "/join "
    assert t.owner.choices == []


def test_tab_goes_as_far_as_the_matches_agree_and_lists_them() -> None:
    t = Term()
    t.owner.nicks = ["/mute", "/msg", "/me", "/unmute"]
    t.type("/m")
    t.key("TAB")
    assert t.editor.text == "/m" and t.owner.choices == [["/mute", "/msg", "/me"]]
    t.owner.nicks = ["alexandra", "alexander", "bob"]
    t.key("BACKSPACE", 2)
    t.type("hi al")
    t.key("TAB")
    assert t.editor.text == "hi alexand"
    t.type("e")
    t.key("TAB")
    assert t.editor.text == "hi alexander "


def test_tab_after_a_command_completes_a_nickname() -> None:
    t = Term()
    t.type("/kick bo")
    t.key("TAB")
    assert t.editor.text == "/kick bob "


def test_an_oper_line_is_not_kept_in_the_history() -> None:
    t = Term()
    t.type("hello")
    t.editor.handle_RETURN()
    t.type("/OPER teacher secret")
    t.editor.handle_RETURN()
    assert t.owner.lines == ["hello", "/OPER teacher secret"]
    t.key("UP_ARROW")
    assert t.editor.text == "hello"
    assert b"secret" not in b"".join(t.editor.historyLines)
