"""The room the user is in, as far as the client knows: its name, topic and
members, kept from the server's lines (``ROOM``, ``TOPIC``, ``USERS``,
``JOIN``, ``LEAVE``, ``RENAME``). Tab completion and the prompt read it."""

from __future__ import annotations

from .catchup import room_key
from .events import Event, Joined, Left, Renamed, Room, Topic, Users


class RoomView:
    def __init__(self) -> None:
        self.name: str | None = None
        self.topic = ""
        self.members: set[str] = set()

    def track(self, event: Event) -> bool:
        """Follow an event; True if the room's name or topic changed."""
        match event:
            case Room(name):
                self.name, self.topic = name, ""
                self.members.clear()  # USERS follows
                return True
            case Topic(room, text) if self.name and room_key(room) == room_key(
                self.name
            ):
                changed = text != self.topic
                self.topic = text
                return changed
            case Users(nicks):
                self.members = set(nicks)
            case Joined(nick):
                self.members.add(nick)
            case Left(nick, _):
                self.members.discard(nick)
            case Renamed(old, new):
                self.members.discard(old)
                self.members.add(new)
        return False

    def disconnected(self) -> None:
        """Nobody is known to be here until the server says again; the name
        stays: it is where the client goes back to."""
        self.members.clear()
