"""
The rooms of a server: which exist, how they are named, when new ones may be
made, and when an empty one is let go.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Protocol

from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.logger import Logger

from chatproto.errors import ChatError, Code
from chatproto.events import Event
from chatproto.fanout import Scheduler
from chatproto.history import History, MemoryHistory, first_id
from chatproto.metrics import NO_METRICS, Metrics
from chatproto.moderation import Moderation, RoomSettings
from chatproto.names import NameRule, Registry, name_key
from chatproto.room import Room

MAX_ROOM_NAME_LENGTH = 32
ROOM_NAMES = NameRule("a room name", MAX_ROOM_NAME_LENGTH, Code.ROOM_INVALID)
DEFAULT_MAX_ROOMS = 100
# A room made on the fly is let go (its memory freed; a stored history stays
# on disk) once it has been empty this long.
EMPTY_ROOM_LINGER = 600.0


class RoomStore(Protocol):
    """
    Where rooms keep their histories and settings.
    """

    def open(
        self, key: str, name: str
    ) -> Deferred[tuple[History, RoomSettings | None]]:
        """
        The history and settings of the room with key C{key}: read from disk
        if they are stored there (the Deferred fires later), else a new
        history and None.
        """

    def save(self, key: str, name: str, settings: RoomSettings) -> None:
        """
        Keep the room's C{settings} (if this store keeps anything).
        """

    def release(self, key: str, history: History) -> bool:
        """
        The room is to be let go: whether it may be now (what C{history}
        holds may then be dropped from memory).
        """


class MemoryRoomStore:
    """
    Histories and settings kept in memory only: a room let go forgets them.
    """

    def __init__(self, now: Callable[[], float] = time.time) -> None:
        self._now = now

    def open(
        self, key: str, name: str
    ) -> Deferred[tuple[History, RoomSettings | None]]:
        return succeed((MemoryHistory(last_id=first_id(0, self._now())), None))

    def save(self, key: str, name: str, settings: RoomSettings) -> None:
        pass

    def release(self, key: str, history: History) -> bool:
        return True


def room_name(text: str) -> str:
    """
    A room name as typed, without the C{#} an IRC user puts in front.
    """
    return text[1:] if text.startswith("#") else text


class Rooms:
    """
    A server's rooms.  The first of C{names} is the default room, where
    newcomers land; every room in C{names} exists for as long as the server
    runs.  Others are made when someone joins them, if C{new_rooms}, up to
    C{max_rooms} at once, and let go once empty for L{EMPTY_ROOM_LINGER}
    seconds.  The member who makes a room owns it; with C{owners_moderate},
    an owner may moderate its room.
    """

    log = Logger()

    def __init__(
        self,
        names: Sequence[str],
        store: RoomStore,
        clock: IReactorTime,
        *,
        new_rooms: bool = True,
        owners_moderate: bool = True,
        max_rooms: int = DEFAULT_MAX_ROOMS,
        replay_count: int = 0,
        metrics: Metrics = NO_METRICS,
        schedule: Scheduler | None = None,
        now: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._clock = clock
        self.new_rooms = new_rooms
        self.owners_moderate = owners_moderate
        self.max_rooms = max_rooms
        self._replay_count = replay_count
        self._metrics = metrics
        self._schedule = schedule
        self._now = now
        self._registry: Registry[Room] = Registry(
            ROOM_NAMES,
            Code.ROOM_INVALID,
            alike="{name} looks too much like the room {held}",
        )
        self._permanent: set[Room] = set()
        self._opening: dict[str, list[Deferred[Room]]] = {}
        self._linger: dict[Room, IDelayedCall] = {}
        self._closed = False
        for name in names:
            self._registry.check(room_name(name))
            opened = self._open_new(room_name(name))
            assert opened.called, "named rooms are read from disk first"
            opened.addCallback(self._permanent.add)
        self.default = self._registry.holders()[0]

    def __len__(self) -> int:
        return len(self._registry)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._registry.holders())

    def get(self, name: str) -> Room | None:
        return self._registry.get(room_name(name))

    def check_name(self, name: str) -> str:
        """
        Check that C{name} may name a room; return its key.

        @raise ChatError: C{room-invalid} if not.
        """
        return ROOM_NAMES.check(room_name(name))

    def same(self, room: Room, name: str) -> bool:
        return room.key == name_key(room_name(name))

    def open(self, name: str, maker: str = "") -> Deferred[Room]:
        """
        The room called C{name}: an existing one, or a new one if rooms may
        be made; the member whose nickname key is C{maker} then owns it.

        @return: a Deferred that fires with the room, at once unless its
            history has to be read from disk, or fails with a L{ChatError}.
        """
        name = room_name(name)
        room = self._registry.get(name)
        if room is not None:
            return succeed(room)
        try:
            self._registry.check(name)
            if not self.new_rooms:
                raise ChatError(
                    Code.NO_SUCH_ROOM,
                    f"there is no room {name}, and new rooms may not be made; "
                    "/rooms lists the rooms",
                )
            if len(self._registry) + len(self._opening) >= self.max_rooms:
                raise ChatError(
                    Code.TOO_MANY_ROOMS,
                    f"the server has its maximum of {self.max_rooms} rooms; "
                    "/rooms lists them",
                )
        except ChatError as error:
            return fail(error)
        return self._open_new(name, maker)

    def _open_new(self, name: str, maker: str = "") -> Deferred[Room]:
        key = name_key(name)
        waiting = self._opening.get(key)
        if waiting is not None:
            # Someone is already opening it: wait for the same room.
            waiter: Deferred[Room] = Deferred()
            waiting.append(waiter)
            return waiter
        self._opening[key] = waiting = []

        def made(stored: tuple[History, RoomSettings | None]) -> Room:
            del self._opening[key]
            history, settings = stored
            new = settings is None  # nothing was stored of it
            if settings is None:
                settings = RoomSettings(owner=maker)
            room = Room(
                name,
                key,
                metrics=self._metrics,
                history=history,
                replay_count=self._replay_count,
                now=self._now,
                schedule=self._schedule,
                moderation=Moderation(
                    name,
                    settings,
                    self._now,
                    lambda settings: self._store.save(key, name, settings),
                ),
            )
            room.on_change = self._membership_changed
            if new and maker:
                self._store.save(key, name, settings)  # its owner
            self._registry.claim(name, room)
            self.log.info("room {room} opened", room=name)
            self._metrics.rooms_changed(len(self._registry))
            for waiter in waiting:
                waiter.callback(room)
            return room

        def failed(failure: object) -> object:
            del self._opening[key]
            for waiter in waiting:
                waiter.errback(failure)
            return failure

        return self._store.open(key, name).addCallbacks(made, failed)

    def listing(self) -> list[Event]:
        """
        C{ROOMS <name> <count> ...}: every room and how many are in it,
        sorted by name without regard to case; then C{TOPIC <name> <topic>}
        for each room that has a topic.
        """
        rooms = sorted(self._registry.holders(), key=lambda room: room.key)
        words: list[str] = []
        for room in rooms:
            words += (room.name, str(len(room)))
        topics = [
            room.topic_event() for room in rooms if room.moderation.settings.topic
        ]
        return [Event("ROOMS", *words), *topics]

    def _membership_changed(self, room: Room) -> None:
        if room in self._permanent or self._closed:
            return
        lingering = self._linger.pop(room, None)
        if lingering is not None and lingering.active():
            lingering.cancel()
        if not len(room):
            self._linger[room] = self._clock.callLater(
                EMPTY_ROOM_LINGER, self._let_go, room
            )

    def _let_go(self, room: Room) -> None:
        del self._linger[room]
        if not self._store.release(room.key, room.history):
            # Its latest entries are not on disk yet: wait a little longer.
            self._membership_changed(room)
            return
        self._registry.release(room.name, room)
        self.log.info("room {room} let go, empty", room=room.name)
        self._metrics.rooms_changed(len(self._registry))

    def close(self) -> None:
        """
        The server stops: every room lets everyone go at once.
        """
        self._closed = True
        for timer in self._linger.values():
            if timer.active():
                timer.cancel()
        self._linger.clear()
        for room in self._registry.holders():
            room.close()
