"""Catching up by id: each room line shown once, across reconnections.

The server numbers room lines (docs/protocol.rst, "History"). A CatchUp
remembers the ids the client has shown and the last id it has been offered,
says what to send before the nickname (``/ids on``, ``/since <last id>``),
and decides, line by line, whether a replayed or live line is new. It lives
as long as the session, so it spans reconnections; it knows nothing of
sockets or screens.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

# How many ids to remember: twice what the server can replay.
REMEMBER = 20_000

GAP = "some earlier messages are no longer available"


class RecentIds:
    """A set of the ``size`` ids added last."""

    def __init__(self, size: int = REMEMBER) -> None:
        self._order: deque[int] = deque()
        self._ids: set[int] = set()
        self._size = size

    def __contains__(self, id: int) -> bool:
        return id in self._ids

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, id: int) -> None:
        if id in self._ids:
            return
        self._order.append(id)
        self._ids.add(id)
        if len(self._order) > self._size:
            self._ids.discard(self._order.popleft())

    def clear(self) -> None:
        self._order.clear()
        self._ids.clear()


@dataclass
class _Replay:
    joining: bool  # the replay a join brings, rather than /history or /since
    resumed: bool  # ... of a join that sent /since
    received: int = 0  # HISTORY lines in it
    shown: int = 0  # ... of which were new


class CatchUp:
    def __init__(self, remember: int = REMEMBER) -> None:
        self.last_id: int | None = None
        self.shown = RecentIds(remember)
        self._resumed = False  # this connection sent /since
        self._joining = False  # welcomed; the join's replay has not ended
        self._replay: _Replay | None = None
        # The server said it was shutting down: its ids jump when it is back.
        self._server_restarted = False

    # -- the connection ------------------------------------------------------

    def join_lines(self) -> list[str]:
        """What to send before the nickname on a new connection."""
        self._resumed = self.last_id is not None
        self._joining = False
        self._replay = None
        if self.last_id is None:
            return ["/ids on"]
        return ["/ids on", f"/since {self.last_id}"]

    def welcomed(self) -> None:
        """The server took the nickname; a replay (or none) comes next."""
        self._joining = True

    def server_stopping(self) -> None:
        self._server_restarted = True

    # -- lines -----------------------------------------------------------------

    def history(self, id: int) -> tuple[bool, str | None]:
        """A ``HISTORY`` line: whether to show it, and a notice to show first."""
        gap = None
        if self._replay is None:
            self._replay = self._new_replay()
            if self._replay.resumed and self._lost_before(id):
                gap = GAP
        self._replay.received += 1
        if id in self.shown:
            return False, gap
        self._replay.shown += 1
        self._saw(id)
        return True, gap

    def live(self, id: int) -> bool:
        """An ``ID`` line: whether it is new (and so to be shown)."""
        self._joining = False  # with --history-replay 0 no replay comes
        if id in self.shown:
            return False
        self._saw(id)
        return True

    def history_end(self, id: int) -> list[str]:
        """``HISTORY-END``: the notices to show (a gap, a divider), if any."""
        replay = self._replay or self._new_replay()
        self._replay = None
        self._joining = False
        notices = []
        if replay.resumed and not replay.received and self._lost_before(id + 1):
            notices.append(GAP)
        if replay.joining:
            if self.last_id is not None and id < self.last_id:
                # The server does not know our ids (its clock went back, say):
                # they may name other lines now.
                self.shown.clear()
            self.last_id = id
            self._server_restarted = False
        else:
            self.last_id = max(id, self.last_id or 0)
        notices.extend(self._divider(replay))
        return notices

    # -- inside ----------------------------------------------------------------

    def _new_replay(self) -> _Replay:
        return _Replay(self._joining, self._joining and self._resumed)

    def _saw(self, id: int) -> None:
        self.shown.add(id)
        self.last_id = id if self.last_id is None else max(self.last_id, id)

    def _lost_before(self, first: int) -> bool:
        """Whether lines between our last id and ``first`` are gone.

        Over one run of the server ids grow by one, so a jump means the
        server no longer holds what was in between; a restart the client
        saw announced explains a jump, with nothing lost.
        """
        assert self.last_id is not None
        return first > self.last_id + 1 and not self._server_restarted

    @staticmethod
    def _divider(replay: _Replay) -> list[str]:
        if replay.joining:
            if not replay.shown:
                return []
            if replay.resumed:
                lines = "1 line" if replay.shown == 1 else f"{replay.shown} lines"
                return [f"end of history ({lines} while you were away) --"]
            return ["end of history --"]
        if replay.shown:
            return ["end of history --"]
        if replay.received:
            return ["nothing you have not seen already --"]
        return ["no more history --"]
