"""
Keeping a room usable: what a room keeps for its moderators (its owner,
topic, slow mode and bans, which survive a restart with C{--history-db}),
its mutes, and the rules a line must pass to be said.

Who may moderate is the session's business (an operator, or the room's
owner); this module knows rooms and nickname keys only.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from chatproto.errors import ChatError, Code


@dataclass
class Ban:
    """
    A nickname, and the address it came from, refused in a room.

    @ivar until: when it ends, in seconds since the epoch; None: when lifted.
    @ivar by: the nickname of the moderator who banned.
    """

    nick: str
    key: str
    host: str | None
    until: float | None
    by: str

    def over(self, now: float) -> bool:
        return self.until is not None and now >= self.until


@dataclass
class RoomSettings:
    """
    What a room keeps across restarts besides its history.

    @ivar owner: the nickname key of the member who made the room ("" for
        none: a room the operator named).
    @ivar slow: seconds each member must wait between two lines (0: off).
    @ivar bans: by nickname key.
    """

    owner: str = ""
    topic: str = ""
    slow: float = 0.0
    bans: dict[str, Ban] = field(default_factory=dict)


def until(when: float | None, now: float) -> str:
    """
    C{when} for people: C{until 14:05 UTC (5 minutes from now)}, or
    C{until lifted}.
    """
    if when is None:
        return "until lifted"
    minutes = max(1, math.ceil((when - now) / 60))
    clock = time.strftime("%H:%M UTC", time.gmtime(when))
    return f"until {clock} ({minutes} minute{'s' if minutes != 1 else ''} from now)"


class Moderation:
    """
    A room's moderation: its settings, who is muted, and when each member
    last spoke (for slow mode).

    @param save: called with the settings after each change that must
        survive a restart.
    """

    def __init__(
        self,
        room: str,
        settings: RoomSettings | None = None,
        now: Callable[[], float] = time.time,
        save: Callable[[RoomSettings], None] = lambda settings: None,
    ) -> None:
        self.room = room
        self.settings = settings if settings is not None else RoomSettings()
        self._now = now
        self._save = save
        self._mutes: dict[str, float | None] = {}
        self._spoke: dict[str, float] = {}

    # Speaking

    @property
    def restricted(self) -> bool:
        """
        Whether anyone's speech is limited (a mute, slow mode): if not,
        L{check_speech} lets everyone speak.
        """
        return bool(self._mutes or self.settings.slow)

    def check_speech(self, key: str, exempt: bool) -> None:
        """
        May the member with nickname key C{key} say a line in the room now?
        Moderators (C{exempt}) always may.  A line that may be said is
        counted for slow mode.

        @raise ChatError: C{muted} or C{slow-mode}, saying until when.
        """
        if exempt or not self.restricted:
            return  # most lines, most of the time
        now = self._now()
        if key in self._mutes:
            ends = self._mutes[key]
            if ends is not None and now >= ends:
                del self._mutes[key]
            else:
                raise ChatError(
                    Code.MUTED,
                    f"you are muted in {self.room} {until(ends, now)}; "
                    "you can still read",
                )
        slow = self.settings.slow
        if slow:
            wait = self._spoke.get(key, -math.inf) + slow - now
            if wait > 0:
                raise ChatError(
                    Code.SLOW_MODE,
                    f"{self.room} is in slow mode: one line every {slow:g} "
                    f"seconds; wait {math.ceil(wait)} more seconds (your line "
                    "was not sent)",
                )
            self._spoke[key] = now

    def left(self, key: str) -> None:
        """
        The member left the room: slow mode forgets it (a mute stays).
        """
        self._spoke.pop(key, None)

    # Mutes

    def mute(self, key: str, minutes: float | None) -> float | None:
        """
        Mute C{key} for C{minutes} (None: until unmuted); return when it ends.
        """
        ends = None if minutes is None else self._now() + minutes * 60
        self._mutes[key] = ends
        return ends

    def unmute(self, key: str) -> bool:
        return self._mutes.pop(key, 0) != 0

    # Bans

    def ban(self, ban: Ban) -> None:
        self.settings.bans[ban.key] = ban
        self._save(self.settings)

    def unban(self, key: str) -> Ban | None:
        ban = self.settings.bans.pop(key, None)
        if ban is not None:
            self._save(self.settings)
        return ban

    def banned(self, key: str | None, host: str | None) -> Ban | None:
        """
        The ban that keeps a member with nickname key C{key} (if known) from
        address C{host} (if known) out of the room, if one does.
        """
        now = self._now()
        over = [k for k, ban in self.settings.bans.items() if ban.over(now)]
        for k in over:
            del self.settings.bans[k]
        if over:
            self._save(self.settings)
        for ban in self.settings.bans.values():
            if (key is not None and ban.key == key) or (
                host is not None and ban.host == host
            ):
                return ban
        return None

    def bans(self) -> list[Ban]:
        self.banned(None, None)  # forget those that are over
        return sorted(self.settings.bans.values(), key=lambda ban: ban.key)

    # Topic and slow mode

    def set_topic(self, topic: str) -> None:
        self.settings.topic = topic
        self._save(self.settings)

    def set_slow(self, seconds: float) -> None:
        self.settings.slow = seconds
        if not seconds:
            self._spoke.clear()
        self._save(self.settings)

    def set_owner(self, key: str) -> None:
        self.settings.owner = key
        self._save(self.settings)
