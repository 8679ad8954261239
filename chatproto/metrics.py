"""
What the server counts, behind a small interface.

The room and the line protocol call a L{Metrics} at the few places where
something worth counting happens.  Counting is off by default (L{NO_METRICS}
does nothing); C{--metrics} swaps in L{chatproto.prometheus.PrometheusMetrics}.

Nothing here imports a metrics library, so the chat domain can depend on this
module without depending on Prometheus.  Each call happens once per event,
never once per recipient: a fan-out to a hundred members is one call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from chatproto.events import Event


class Metrics(Protocol):
    """
    The events the server reports.  Implementations must be cheap and must
    not raise.
    """

    def connection_accepted(self) -> None:
        """
        A client connected.
        """

    def members_changed(self, count: int) -> None:
        """
        Someone joined or left; C{count} people are on the server now, in
        all rooms.
        """

    def rooms_changed(self, count: int) -> None:
        """
        A room was opened or let go; C{count} rooms exist now.
        """

    def nick_rejected(self) -> None:
        """
        A nickname was refused (invalid, taken, or an overlong line).
        """

    def fanned_out(self, event: Event, recipients: int, seconds: float) -> None:
        """
        The room handed C{event} to C{recipients} members' connections, which
        took C{seconds}.
        """

    def bytes_received(self, count: int) -> None:
        """
        One read from a client brought C{count} bytes.
        """

    def bytes_sent(self, count: int) -> None:
        """
        A connection sent C{count} bytes of its own (a prompt or an error),
        outside any fan-out.
        """

    def throttled(self) -> None:
        """
        A client was slowed down for sending too fast.
        """

    def slow_reader_dropped(self) -> None:
        """
        A client was disconnected because it read too slowly.
        """

    def handshake_timed_out(self) -> None:
        """
        A client was disconnected for not choosing a nickname in time.
        """


class NoMetrics:
    """
    Counts nothing: the default when C{--metrics} is not given.
    """

    def connection_accepted(self) -> None:
        pass

    def members_changed(self, count: int) -> None:
        pass

    def rooms_changed(self, count: int) -> None:
        pass

    def nick_rejected(self) -> None:
        pass

    def fanned_out(self, event: Event, recipients: int, seconds: float) -> None:
        pass

    def bytes_received(self, count: int) -> None:
        pass

    def bytes_sent(self, count: int) -> None:
        pass

    def throttled(self) -> None:
        pass

    def slow_reader_dropped(self) -> None:
        pass

    def handshake_timed_out(self) -> None:
        pass


NO_METRICS: Metrics = NoMetrics()
