"""Catching up by id: each room line shown once, across reconnections and
moves between rooms.

The server numbers room lines per room (docs/protocol.rst, "History"). A
CatchUp keeps, for each room the client has been in, the ids it has shown
and the last id it has been offered; it says what to send before the
nickname (``/ids on``, ``/join <room>``, ``/since <last id>``), decides, line
by line, whether a replayed or live line is new, and says when to ask for
more (after ``HISTORY-MORE``, or back in a room whose replay does not reach
the last line shown there). It lives as long as the session, so it spans
reconnections; it knows nothing of sockets or screens.
"""

from __future__ import annotations

import unicodedata
from collections import deque
from dataclasses import dataclass, field

from .events import Historic, HistoryEnd, HistoryMore, Numbered, RoomEvent

# How many ids to remember per room: twice what the server can replay.
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


def room_key(name: str) -> str:
    """The form under which the server tells rooms apart (and ``#`` ignored)."""
    return unicodedata.normalize("NFKC", name.removeprefix("#")).casefold()


@dataclass
class RoomLog:
    """What the client has of one room."""

    remember: int = REMEMBER
    last_id: int | None = None
    shown: RecentIds = field(init=False)
    # Lines after this id are still to fetch (a HISTORY-MORE, or a return to
    # the room whose replay did not reach back): where to resume from.
    pending: int | None = None
    # The server said it was stopping: its ids jump when it is back.
    restarted: bool = False

    def __post_init__(self) -> None:
        self.shown = RecentIds(self.remember)

    def resume_point(self) -> int | None:
        return self.pending if self.pending is not None else self.last_id

    def saw(self, id: int) -> None:
        self.shown.add(id)
        self.last_id = id if self.last_id is None else max(self.last_id, id)


@dataclass
class _Replay:
    joining: bool  # the replay entering a room brings, or its follow-ups
    since: int | None  # we asked for the lines after this id
    received: int = 0  # HISTORY lines in it
    shown: int = 0  # ... of which were new
    first: int | None = None  # the first id in it
    more: int | None = None  # its HISTORY-MORE
    follow_up: bool = False  # the answer to a /since we sent to go on
    before: int | None = None  # the room's last id when it began


@dataclass
class Taken:
    """What to do with an ``ID`` or history line."""

    live: RoomEvent | None = None  # a new live line, to show and follow
    past: Historic | None = None  # a new replayed line, to show as history
    notices: list[str] = field(default_factory=list)  # quiet lines, first
    requests: list[str] = field(default_factory=list)  # lines to send


class CatchUp:
    def __init__(self, remember: int = REMEMBER) -> None:
        self.remember = remember
        self.rooms: dict[str, RoomLog] = {}
        self.room: str | None = None  # the room we are in, as the server names it
        self._resume: str | None = None  # the room this connection sent /since for
        self._entering = False  # ROOM came; its replay has not ended
        self._replay: _Replay | None = None
        # We sent /since to go on with a replay: the replay that answers it
        # continues this one (its counts, its divider).
        self._following: _Replay | None = None
        self._since: int | None = None  # what the replay coming answers

    @property
    def log(self) -> RoomLog:
        """The current room's log (a nameless one before the first ROOM)."""
        key = room_key(self.room or "")
        if key not in self.rooms:
            self.rooms[key] = RoomLog(self.remember)
        return self.rooms[key]

    # -- the connection ------------------------------------------------------

    def join_lines(self) -> list[str]:
        """What to send before the nickname on a new connection."""
        self._entering = False
        self._replay = self._following = None
        self._resume = None
        lines = ["/ids on"]
        if self.room is not None:
            lines.append(f"/join {self.room}")
        point = self.log.resume_point()
        if point is not None:
            self._resume = room_key(self.room or "")
            lines.append(f"/since {point}")
        return lines

    def welcomed(self) -> None:
        """The server took the nickname; ``ROOM`` and a replay come next (a
        server older than rooms sends the replay without ``ROOM``)."""
        self._entering = True
        resumed = self._resume == room_key(self.room or "")
        self._since = self.log.resume_point() if resumed else None

    def entered(self, room: str) -> None:
        """``ROOM``: we are in this room now; its replay (or none) comes next."""
        resumed = self._resume == room_key(room)
        self._resume = None  # only the first room of a connection resumes
        self.room = room
        self._entering = True
        self._replay = None
        self._following = None
        self._since = self.log.resume_point() if resumed else None

    def server_stopping(self) -> None:
        for log in self.rooms.values():
            log.restarted = True

    # -- lines -----------------------------------------------------------------

    def take(self, line: Numbered | Historic | HistoryMore | HistoryEnd) -> Taken:
        """Any of the numbered lines: what to show and send for it."""
        match line:
            case Numbered(id, event):
                return Taken(live=event if self.live(id) else None)
            case Historic(id):
                show, gap = self.history(id)
                notices = [] if gap is None else [gap]
                return Taken(past=line if show else None, notices=notices)
            case HistoryMore(id):
                self.more(id)
                return Taken()
        notices, requests = self.history_end(line.id)
        return Taken(notices=notices, requests=requests)

    def history(self, id: int) -> tuple[bool, str | None]:
        """A ``HISTORY`` line: whether to show it, and a notice to show first."""
        gap = None
        replay = self._current_replay()
        if replay.first is None:
            replay.first = id
            if replay.since is not None and self._lost(replay.since, id):
                gap = GAP
        replay.received += 1
        log = self.log
        if id in log.shown:
            return False, gap
        replay.shown += 1
        log.saw(id)
        return True, gap

    def more(self, id: int) -> None:
        """``HISTORY-MORE``: the replay stopped at its limit after ``id``."""
        self._current_replay().more = id

    def live(self, id: int) -> bool:
        """An ``ID`` line: whether it is new (and so to be shown)."""
        self._entering = False  # with --history-replay 0 no replay comes
        log = self.log
        if id in log.shown:
            return False
        log.saw(id)
        return True

    def history_end(self, id: int) -> tuple[list[str], list[str]]:
        """``HISTORY-END``: the notices to show (a gap, a divider), and the
        lines to send (``/since`` for what is still to fetch)."""
        replay = self._current_replay()
        self._replay = None
        self._entering = False
        log = self.log
        notices = []
        if replay.since is not None and not replay.received:
            if self._lost(replay.since, id + 1):
                notices.append(GAP)
        before = replay.before
        if replay.joining and not replay.follow_up:
            # Entering a room: live lines go on from id.
            if log.last_id is not None and id < log.last_id:
                # The server does not know our ids (its clock went back, say):
                # they may name other lines now.
                log.shown.clear()
                before = None
            log.last_id = id
        else:
            log.last_id = max(id, log.last_id or 0)
        if replay.since is not None:
            log.restarted = False
        follow = self._follow_up(replay, before, id)
        if follow is not None:
            log.pending = follow
            self._following = replay
            return notices, [f"/since {follow}"]
        log.pending = None
        self._following = None
        notices.extend(self._divider(replay))
        return notices, []

    # -- inside ----------------------------------------------------------------

    def _current_replay(self) -> _Replay:
        if self._replay is None:
            following = self._following
            if following is not None:
                # The answer to our /since: it goes on with that replay.
                self._replay = following
                if following.more is not None:
                    following.since, following.more = following.more, None
                following.first = None
                following.follow_up = True
            else:
                since = self._since if self._entering else None
                self._replay = _Replay(self._entering, since, before=self.log.last_id)
            self._since = None
        return self._replay

    def _follow_up(self, replay: _Replay, before: int | None, end: int) -> int | None:
        """Where to ask for more lines from, if anywhere."""
        if replay.more is not None:
            return replay.more
        if not replay.joining or replay.follow_up or replay.since is not None:
            return None
        if before is None:
            return None
        # Back in a room we had left: its replay is only the newest lines.
        first = replay.first if replay.first is not None else end + 1
        if first > before + 1:
            replay.since = before
            replay.first = None
            return before
        return None

    def _lost(self, since: int, first: int) -> bool:
        """Whether lines between ``since`` and ``first`` are gone.

        Over one run of the server ids grow by one, so a jump means the
        server no longer holds what was in between; a restart the client
        saw announced explains a jump, with nothing lost.
        """
        return first > since + 1 and not self.log.restarted

    @staticmethod
    def _divider(replay: _Replay) -> list[str]:
        if replay.joining:
            if not replay.shown:
                return []
            if replay.since is not None:
                lines = "1 line" if replay.shown == 1 else f"{replay.shown} lines"
                return [f"end of history ({lines} while you were away) --"]
            return ["end of history --"]
        if replay.shown:
            return ["end of history --"]
        if replay.received:
            return ["nothing you have not seen already --"]
        return ["no more history --"]
