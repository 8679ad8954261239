"""
What members are told: L{Event}s, and the L{Batch}es a fan-out hands out.

This module imports nothing of the project, so every other module (the
room, the fan-out, the history, the front ends, the metrics) can depend on
it without depending on each other.
"""

from __future__ import annotations

from collections.abc import Sequence


class Event:
    """
    Something a member is told: a kind (C{MSG}, C{JOIN}, ...) and its words,
    the last of which may contain spaces.

    @ivar rendered: front ends cache their renderings of the event here, so
        a fan-out formats each event once, not once per member.
    @ivar id: for an event posted to a whole room, its place in the room's
        history (strictly increasing within the room); 0 for an event to
        some members only.
    @ivar time: when a room-wide event was posted, in seconds since the
        epoch (UTC); 0.0 for an event to some members only.
    """

    __slots__ = ("kind", "args", "rendered", "id", "time")

    def __init__(self, kind: str, *args: str) -> None:
        self.kind = kind
        self.args = args
        self.rendered: dict[str, bytes] = {}
        self.id = 0
        self.time = 0.0

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Event):
            return NotImplemented
        return (self.kind, self.args) == (other.kind, other.args)

    def __hash__(self) -> int:
        return hash((self.kind, self.args))

    def __repr__(self) -> str:
        return f"Event{(self.kind, *self.args)!r}"


class Batch:
    """
    Room events handed to a member together, oldest first.

    @ivar room: the name of the room they happened in.
    @ivar rendered: front ends cache their rendering of the whole batch here,
        so members given the same batch share one rendering.
    """

    __slots__ = ("events", "room", "rendered")

    def __init__(self, events: Sequence[Event], room: str = "") -> None:
        self.events = events
        self.room = room
        self.rendered: dict[str, bytes] = {}
