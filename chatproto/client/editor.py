"""A line editor that keeps the line being typed intact while output arrives.

Built on conch's HistoricRecvLine (key dispatch and history) over insults.
Unlike RecvLine it handles UTF-8 input (each entry of ``lineBuffer`` is one
whole character, UTF-8 encoded), wide characters, and lines longer than the
terminal (the input row scrolls sideways). Every change redraws the single
input row from its start, so the screen cannot drift from the buffer.
"""

from __future__ import annotations

import codecs
import unicodedata
from typing import Protocol as Interface

from twisted.conch.recvline import HistoricRecvLine
from twisted.python.failure import Failure


class Owner(Interface):
    def line_entered(self, text: str) -> bool:
        """Enter was pressed; return False to keep the line in the editor."""

    def end_of_input(self) -> None:
        """Ctrl-D on an empty line."""

    def interrupted(self) -> None:
        """Ctrl-C."""

    def complete(self, prefix: str) -> list[str]:
        """Nicknames, or /commands if ``prefix`` starts with ``/``, that
        start with ``prefix`` (for Tab)."""

    def show_choices(self, choices: list[str]) -> None:
        """Tab found several nicknames or commands."""

    def editor_closed(self, reason: Failure) -> None:
        """The terminal went away."""


def char_width(ch: str) -> int:
    """Columns a character takes on a terminal (0, 1 or 2)."""
    if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me", "Cf"):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def text_width(text: str) -> int:
    return sum(char_width(ch) for ch in text)


def is_secret(line: str) -> bool:
    """A line that holds a password (``/oper NAME PASSWORD``)."""
    return line.split(" ", 1)[0].lower() == "/oper"


def common_prefix(words: list[str]) -> str:
    """The longest start all of ``words`` share (compared as they are)."""
    first, last = min(words), max(words)
    length = 0
    while length < min(len(first), len(last)) and first[length] == last[length]:
        length += 1
    return first[:length]


def view(widths: list[int], cursor: int, start: int, room: int) -> tuple[int, int]:
    """The slice [first, end) of the line to show in ``room`` columns.

    Keeps ``start`` if the cursor is visible from there, else scrolls just
    enough to show it.
    """
    first = min(start, cursor)
    used = sum(widths[first:cursor])
    while used > room and first < cursor:
        used -= widths[first]
        first += 1
    end, used = first, 0
    while end < len(widths) and used + widths[end] <= room:
        used += widths[end]
        end += 1
    return first, max(end, cursor)


class LineEditor(HistoricRecvLine):
    """Input row at the bottom; ``add_output`` prints above it."""

    def __init__(self, owner: Owner) -> None:
        self.owner = owner
        self.prompt = ""  # plain text, for its width
        self.prompt_bytes = b""  # as written, maybe with colour
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._start = 0  # first character shown when the line scrolls

    # -- setup -------------------------------------------------------------

    def connectionMade(self) -> None:
        super().connectionMade()
        self.keyHandlers.update(
            {
                b"\x01": self.handle_HOME,  # Ctrl-A
                b"\x02": self.handle_LEFT,  # Ctrl-B
                b"\x03": self.owner.interrupted,  # Ctrl-C
                b"\x04": self.handle_CTRL_D,
                b"\x05": self.handle_END,  # Ctrl-E
                b"\x06": self.handle_RIGHT,  # Ctrl-F
                b"\x08": self.handle_BACKSPACE,  # Ctrl-H
                b"\x0b": self.handle_KILL_END,  # Ctrl-K
                b"\x0c": self.handle_REDRAW,  # Ctrl-L
                b"\x0e": self.handle_DOWN,  # Ctrl-N
                b"\x10": self.handle_UP,  # Ctrl-P
                b"\x15": self.handle_KILL_START,  # Ctrl-U
                b"\x17": self.handle_KILL_WORD,  # Ctrl-W
            }
        )

    def initializeScreen(self) -> None:
        # RecvLine resets (clears) the whole terminal here; we only draw.
        self.mode = "insert"
        self.drawInputLine()

    def setInsertMode(self) -> None:
        self.mode = "insert"

    def setTypeoverMode(self) -> None:
        self.mode = "typeover"

    def terminalSize(self, width: int, height: int) -> None:
        self.width, self.height = max(width, 8), height
        self.drawInputLine()

    def connectionLost(self, reason: Failure = None) -> None:  # type: ignore[assignment]
        self.owner.editor_closed(reason)

    # -- what the owner calls ----------------------------------------------

    @property
    def text(self) -> str:
        return b"".join(self.lineBuffer).decode("utf-8")

    def set_prompt(self, plain: str, styled: bytes | None = None) -> None:
        self.prompt = plain
        self.prompt_bytes = plain.encode("utf-8") if styled is None else styled
        self.drawInputLine()

    def add_output(self, text: str) -> None:
        """Print ``text`` (one or more lines) above the input row, then redraw it."""
        self.terminal.write(b"\r")
        self.terminal.eraseToLineEnd()
        self.terminal.write(text.encode("utf-8") + b"\n")
        self.drawInputLine()

    def clear_input_row(self) -> None:
        """Erase the input row, leaving the cursor at its start (before exiting)."""
        self.terminal.write(b"\r")
        self.terminal.eraseToLineEnd()

    # -- drawing -------------------------------------------------------------

    def drawInputLine(self) -> None:
        chars = [c.decode("utf-8") for c in self.lineBuffer]
        widths = [char_width(c) for c in chars]
        room = max(self.width - 1 - text_width(self.prompt), 4)
        first, end = view(widths, self.lineBufferIndex, self._start, room)
        self._start = first
        shown = "".join(chars[first:end])
        self.terminal.write(b"\r" + self.prompt_bytes + shown.encode("utf-8"))
        self.terminal.eraseToLineEnd()
        back = sum(widths[self.lineBufferIndex : end])
        if back:
            self.terminal.cursorBackward(back)

    def _set_line(self, text: str, cursor: int | None = None) -> None:
        self.lineBuffer = [c.encode("utf-8") for c in text]
        self.lineBufferIndex = len(self.lineBuffer) if cursor is None else cursor
        self.drawInputLine()

    # -- keys ------------------------------------------------------------------

    def keystrokeReceived(self, keyID: object, modifier: object) -> None:
        if modifier is not None:
            return  # Alt-something: nothing bound
        handler = self.keyHandlers.get(keyID)
        if handler is not None:
            handler()
        elif isinstance(keyID, bytes) and keyID >= b" " and keyID != b"\x7f":
            for ch in self._decoder.decode(keyID):
                self.characterReceived(ch.encode("utf-8"), False)

    def characterReceived(self, ch: bytes, moreCharactersComing: bool) -> None:
        if self.mode == "insert" or self.lineBufferIndex == len(self.lineBuffer):
            self.lineBuffer.insert(self.lineBufferIndex, ch)
        else:
            self.lineBuffer[self.lineBufferIndex] = ch
        self.lineBufferIndex += 1
        if not moreCharactersComing:
            self.drawInputLine()

    def handle_TAB(self) -> None:
        before = self.text[: self.lineBufferIndex]
        word = before.rsplit(" ", 1)[-1]
        if not word:
            return
        matches = self.owner.complete(word)
        if not matches:
            return
        if len(matches) == 1:
            # A nickname that starts the line is addressed: "bob: ".
            addressed = before == word and not word.startswith("/")
            completion = matches[0] + (": " if addressed else " ")
        else:
            # As far as the matches agree; the user types on from there.
            completion = common_prefix(matches)
            self.owner.show_choices(matches)
            if len(completion) <= len(word):
                return
        after = self.text[self.lineBufferIndex :]
        start = len(before) - len(word)
        self._set_line(before[:start] + completion + after, start + len(completion))

    def handle_LEFT(self) -> None:
        self.lineBufferIndex = max(self.lineBufferIndex - 1, 0)
        self.drawInputLine()

    def handle_RIGHT(self) -> None:
        self.lineBufferIndex = min(self.lineBufferIndex + 1, len(self.lineBuffer))
        self.drawInputLine()

    def handle_HOME(self) -> None:
        self.lineBufferIndex = 0
        self.drawInputLine()

    def handle_END(self) -> None:
        self.lineBufferIndex = len(self.lineBuffer)
        self.drawInputLine()

    def handle_BACKSPACE(self) -> None:
        if self.lineBufferIndex > 0:
            self.lineBufferIndex -= 1
            del self.lineBuffer[self.lineBufferIndex]
            self.drawInputLine()

    def handle_DELETE(self) -> None:
        if self.lineBufferIndex < len(self.lineBuffer):
            del self.lineBuffer[self.lineBufferIndex]
            self.drawInputLine()

    def handle_CTRL_D(self) -> None:
        if self.lineBuffer:
            self.handle_DELETE()
        else:
            self.owner.end_of_input()

    def handle_KILL_START(self) -> None:
        del self.lineBuffer[: self.lineBufferIndex]
        self.lineBufferIndex = 0
        self.drawInputLine()

    def handle_KILL_END(self) -> None:
        del self.lineBuffer[self.lineBufferIndex :]
        self.drawInputLine()

    def handle_KILL_WORD(self) -> None:
        before = self.text[: self.lineBufferIndex]
        kept = before.rstrip(" ")
        kept = kept[: len(kept) - len(kept.rsplit(" ", 1)[-1])]
        self._set_line(kept + self.text[self.lineBufferIndex :], len(kept))

    def handle_REDRAW(self) -> None:
        self.terminal.eraseDisplay()
        self.terminal.cursorHome()
        self.drawInputLine()

    def handle_UP(self) -> None:
        if self.lineBuffer and self.historyPosition == len(self.historyLines):
            self.historyLines.append(b"".join(self.lineBuffer))
        if self.historyPosition > 0:
            self.historyPosition -= 1
            self._set_line(self.historyLines[self.historyPosition].decode("utf-8"))

    def handle_DOWN(self) -> None:
        if self.historyPosition < len(self.historyLines) - 1:
            self.historyPosition += 1
            self._set_line(self.historyLines[self.historyPosition].decode("utf-8"))
        else:
            self.historyPosition = len(self.historyLines)
            self._set_line("")

    def handle_RETURN(self) -> None:
        text = self.text
        self.lineBuffer, self.lineBufferIndex, self._start = [], 0, 0
        if not self.owner.line_entered(text):
            self._set_line(text)  # refused: keep it for the user to send again
            return
        encoded = text.encode("utf-8")
        if is_secret(text):
            pass  # a password is not kept for Up to show again
        elif text and (not self.historyLines or self.historyLines[-1] != encoded):
            self.historyLines.append(encoded)
        self.historyPosition = len(self.historyLines)
        self.drawInputLine()
