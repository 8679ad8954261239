"""
Line framing linear in the number of lines per read.
"""

from __future__ import annotations

import sys

from twisted.protocols.basic import LineReceiver


class LinesReceiver(LineReceiver):
    """
    A L{LineReceiver} that splits each read into lines once, not once a line.

    L{LineReceiver.dataReceived} takes one line at a time off the front of
    its buffer, copying the rest of the buffer each time: a read of n lines
    costs time quadratic in n, and a sender that pipelines hundreds of lines
    makes that copying a tenth of the server's CPU. This class splits the
    buffer with one C{bytes.split} and hands the lines out in order, with
    the rest of L{LineReceiver}'s behaviour unchanged: re-entrant reads,
    pausing, a switch to raw mode, C{MAX_LENGTH}, and stopping on
    C{lineReceived}'s return value or a disconnecting transport. The one
    difference: a C{delimiter} changed from inside C{lineReceived} applies
    from the next read, not to the lines of the current one, already split.

    While the lines of a read are being handed out, those not yet handed
    out are held apart from C{_buffer}, which then holds the incomplete tail
    and what arrived meanwhile; L{clearLineBuffer} takes both.
    """

    # The complete lines of the current pass not yet handed out, last first
    # (the next one is popped off the end); None outside a pass.
    _unhanded: list[bytes] | None = None
    # The delimiter _unhanded was split on.
    _unhanded_delimiter = b""

    def clearLineBuffer(self) -> bytes:
        """
        Clear buffered data, including lines of the current read not yet
        handed to C{lineReceived}.

        @return: All of the cleared buffered data, in the order received.
        """
        self._take_back_unhanded()
        return super().clearLineBuffer()

    def dataReceived(self, data: bytes) -> object:
        """
        Translate bytes into lines, and call C{lineReceived} (or
        C{rawDataReceived}, depending on mode).
        """
        if self._busyReceiving:
            self._buffer += data
            return None

        try:
            self._busyReceiving = True
            self._buffer += data
            # The incomplete tail of the last pass: while _buffer is still
            # that very object, nothing arrived since and it holds no line.
            tail = None
            while self._buffer and not self.paused:
                if not self.line_mode:
                    data, self._buffer = self._buffer, b""
                    why = self.rawDataReceived(data)
                    if why:
                        return why
                    continue
                delimiter = self.delimiter
                if self._buffer is tail:  # nothing arrived since the last pass
                    lines = []
                else:
                    lines = self._buffer.split(delimiter)
                    tail = lines.pop()
                if not lines:
                    if len(self._buffer) >= self.MAX_LENGTH + len(delimiter):
                        line, self._buffer = self._buffer, b""
                        return self.lineLengthExceeded(line)
                    return None
                # Hand the lines out while the tail, and whatever arrives
                # meanwhile, waits in _buffer.
                lines.reverse()
                self._buffer = tail
                self._unhanded = lines
                self._unhanded_delimiter = delimiter
                try:
                    while lines and not self.paused and self.line_mode:
                        line = lines.pop()
                        if len(line) > self.MAX_LENGTH:
                            lines.append(line)
                            self._take_back_unhanded()
                            exceeded, self._buffer = self._buffer, b""
                            return self.lineLengthExceeded(exceeded)
                        why = self.lineReceived(line)
                        if why or self.transport and self.transport.disconnecting:
                            return why
                finally:
                    if lines:  # stopped early
                        self._take_back_unhanded()
                    self._unhanded = None
        finally:
            self._busyReceiving = False
        return None

    def takeLines(self, max_length: int, limit: int = sys.maxsize) -> list[bytes]:
        """
        From inside C{lineReceived}: take the current read's complete lines
        that come next, in order, at most C{limit} of them, up to the first
        one longer than C{max_length}, which (with what follows) is handed
        out as usual.

        @return: The lines taken, without delimiters; none outside a pass.
        """
        lines = self._unhanded
        if not lines or limit <= 0:
            return []
        # Last first: take from the end, up to the nearest overlong line.
        taken = lines[-limit:]
        if max(map(len, taken)) <= max_length:
            del lines[len(lines) - len(taken) :]
            taken.reverse()
            return taken
        # An overlong line among the next `limit`: take up to it.
        taken = []
        while len(lines[-1]) <= max_length:
            taken.append(lines.pop())
        return taken

    @property
    def moreLines(self) -> bool:
        """
        From inside C{lineReceived}: whether the current read has more
        complete lines to hand out.
        """
        return bool(self._unhanded)

    def putBackLines(self, lines: list[bytes]) -> None:
        """
        From inside C{lineReceived}: put back the last of the lines taken
        with L{takeLines}, in order, to be handed out first.
        """
        if lines:
            assert self._unhanded is not None, "outside a pass"
            self._unhanded.extend(reversed(lines))

    def _take_back_unhanded(self) -> None:
        # Put the lines not yet handed out back in front of _buffer, in
        # order, with one join.
        lines = self._unhanded
        if lines:
            lines.reverse()
            lines.append(self._buffer)
            self._buffer = self._unhanded_delimiter.join(lines)
            lines.clear()
