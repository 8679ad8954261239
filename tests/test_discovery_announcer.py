"""
The Announcer service with a fake publisher, a fake clock and threads run
in line: what it registers, how often it updates, how it fails and stops.
The real zeroconf is exercised in tests/test_discovery_e2e.py.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
from servers import make_certificate
from twisted.internet.address import IPv4Address
from twisted.internet.defer import Deferred, maybeDeferred, succeed
from twisted.internet.task import Clock
from twisted.logger import LogEvent, LogLevel, capturedLogs, formatEvent

from chatproto import tap
from chatproto.discovery import net
from chatproto.discovery.announce import (
    CHECK_INTERVAL,
    Announcer,
    listening_address,
)
from chatproto.discovery.net import host_label
from chatproto.discovery.publisher import Registration

ENV = {net.INTERFACES_VARIABLE: "127.0.0.1"}


class FakePublisher:
    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.fail: dict[str, Exception] = {}

    def start(self, registration: Registration) -> tuple[str, str | None]:
        self.calls.append(("start", registration))
        if "start" in self.fail:
            raise self.fail["start"]
        return f"{registration.instance}-2", None

    def update(self, txt: dict[str, str]) -> None:
        self.calls.append(("update", txt))
        if "update" in self.fail:
            raise self.fail.pop("update")

    def stop(self) -> None:
        self.calls.append(("stop", None))

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]


class Threads:
    """Stands for the thread pool: runs in line, or holds calls until told."""

    def __init__(self) -> None:
        self.hold = False
        self.held: list[tuple[Deferred[Any], Callable[..., Any], tuple[Any, ...]]] = []

    def __call__(self, f: Callable[..., Any], *args: Any) -> Deferred[Any]:
        if not self.hold:
            return maybeDeferred(f, *args)
        waiting: Deferred[Any] = Deferred()
        self.held.append((waiting, f, args))
        return waiting

    def release(self) -> None:
        waiting, f, args = self.held.pop(0)
        maybeDeferred(f, *args).chainDeferred(waiting)


class Fixture:
    def __init__(self) -> None:
        self.clock = Clock()
        self.publisher = FakePublisher()
        self.threads = Threads()
        self.rooms: list[tuple[str, int]] | Exception = [("lobby", 0)]
        self.address: Deferred[Any] = succeed(IPv4Address("TCP", "127.0.0.1", 4000))

    def current_rooms(self) -> list[tuple[str, int]]:
        if isinstance(self.rooms, Exception):
            raise self.rooms
        return self.rooms

    def announcer(self, tls: bool = False) -> Announcer:
        return Announcer(
            "physics lab",
            lambda: self.address,
            self.current_rooms,
            tls,
            reactor=self.clock,
            publisher=self.publisher,
            in_thread=self.threads,
            environ=ENV,
        )


@pytest.fixture
def fx() -> Fixture:
    return Fixture()


@pytest.fixture
def logs() -> Iterator[list[LogEvent]]:
    with capturedLogs() as events:
        yield events  # type: ignore[misc]


def warnings(events: list[LogEvent]) -> list[str]:
    return [formatEvent(e) for e in events if e["log_level"] == LogLevel.warn]


def announced(announcer: Announcer) -> list[str | None]:
    result: list[str | None] = []
    announcer.announced.addCallback(result.append)
    return result


def test_announces_the_listening_port_with_its_rooms(fx: Fixture) -> None:
    announcer = fx.announcer(tls=True)
    names = announced(announcer)
    announcer.startService()
    ((call, registration),) = fx.publisher.calls
    assert call == "start"
    assert registration == Registration(
        instance=f"physics lab ({host_label()}:4000)",
        port=4000,
        addresses=["127.0.0.1"],
        interfaces=["127.0.0.1"],
        txt={
            "txtvers": "1",
            "proto": "1",
            "name": "physics lab",
            "tls": "1",
            "rooms": "1",
            "people": "0",
            "room1": "0 lobby",
        },
    )
    # The name the network accepted.
    assert names == [f"physics lab ({host_label()}:4000)-2"]
    announcer.stopService()


def test_updates_the_record_at_most_once_per_interval(fx: Fixture) -> None:
    announcer = fx.announcer()
    announcer.startService()
    fx.rooms = [("lobby", 1)]
    fx.clock.advance(CHECK_INTERVAL - 0.1)
    assert fx.publisher.names() == ["start"]
    fx.clock.advance(0.1)
    name, txt = fx.publisher.calls[-1]
    assert (name, txt["people"], txt["room1"]) == ("update", "1", "1 lobby")
    # 30 changes over 3 intervals: 3 updates, the last with the latest rooms.
    for people in range(2, 32):
        fx.rooms = [("lobby", people)]
        fx.clock.advance(CHECK_INTERVAL / 10)
    updates = [txt["people"] for name, txt in fx.publisher.calls if name == "update"]
    assert len(updates) == 1 + 3
    fx.clock.advance(CHECK_INTERVAL)
    assert fx.publisher.calls[-1][1]["people"] == "31"
    # Nothing changed: nothing sent.
    count = len(fx.publisher.calls)
    fx.clock.advance(CHECK_INTERVAL * 5)
    assert len(fx.publisher.calls) == count
    announcer.stopService()


def test_stopping_unregisters_and_stops_checking(fx: Fixture) -> None:
    announcer = fx.announcer()
    announcer.startService()
    stopped: list[None] = []
    announcer.stopService().addCallback(stopped.append)
    assert fx.publisher.names() == ["start", "stop"]
    assert stopped == [None]
    assert fx.clock.getDelayedCalls() == []
    fx.rooms = [("lobby", 5)]
    fx.clock.advance(CHECK_INTERVAL * 3)
    assert fx.publisher.names() == ["start", "stop"]


def test_stopping_while_registering_waits_then_unregisters(fx: Fixture) -> None:
    fx.threads.hold = True
    announcer = fx.announcer()
    announcer.startService()
    stopped: list[None] = []
    announcer.stopService().addCallback(stopped.append)
    assert fx.publisher.names() == []  # the start is still in its thread
    fx.threads.release()  # registered
    assert fx.publisher.names() == ["start"]
    assert not stopped
    fx.threads.release()  # unregistered
    assert fx.publisher.names() == ["start", "stop"]
    assert stopped == [None]
    assert fx.clock.getDelayedCalls() == []  # no checks after a late start


def test_no_update_while_one_is_under_way(fx: Fixture) -> None:
    announcer = fx.announcer()
    announcer.startService()
    fx.threads.hold = True
    fx.rooms = [("lobby", 1)]
    fx.clock.advance(CHECK_INTERVAL)
    fx.rooms = [("lobby", 2)]
    fx.clock.advance(CHECK_INTERVAL)  # the first update has not returned
    assert len(fx.threads.held) == 1
    fx.threads.release()
    fx.threads.hold = False
    fx.clock.advance(CHECK_INTERVAL)
    updates = [txt["people"] for name, txt in fx.publisher.calls if name == "update"]
    assert updates == ["1", "2"]
    announcer.stopService()


def test_failing_to_announce_is_one_warning_and_nothing_else(
    fx: Fixture, logs: list[LogEvent]
) -> None:
    fx.publisher.fail["start"] = OSError(19, "No such device")
    announcer = fx.announcer()
    names = announced(announcer)
    announcer.startService()
    assert names == [None]
    assert announcer.problem == "No such device"
    assert warnings(logs) == ["not announced on the local network: No such device"]
    assert fx.clock.getDelayedCalls() == []
    assert announcer.stopService().called


def test_a_port_that_could_not_listen_is_not_announced(
    fx: Fixture, logs: list[LogEvent]
) -> None:
    fx.address = succeed(None)
    announcer = fx.announcer()
    names = announced(announcer)
    announcer.startService()
    assert names == [None]
    assert fx.publisher.names() == []
    assert warnings(logs) == [
        "not announced on the local network: cannot announce a port like None"
    ]
    announcer.stopService()


def test_a_bad_interfaces_setting_is_one_warning(
    fx: Fixture, logs: list[LogEvent]
) -> None:
    announcer = fx.announcer()
    announcer._environ = {net.INTERFACES_VARIABLE: "wlan0"}
    announcer.startService()
    assert fx.publisher.names() == []
    (warning,) = warnings(logs)
    assert "'wlan0' is not an IPv4 address" in warning
    announcer.stopService()


def test_a_failed_update_is_one_warning_and_is_tried_again(
    fx: Fixture, logs: list[LogEvent]
) -> None:
    announcer = fx.announcer()
    announcer.startService()
    fx.publisher.fail["update"] = OSError("network is down")
    fx.rooms = [("lobby", 1)]
    fx.clock.advance(CHECK_INTERVAL)
    assert warnings(logs) == [
        "could not update the local network announcement: network is down"
    ]
    fx.clock.advance(CHECK_INTERVAL)
    updates = [name for name, _ in fx.publisher.calls if name == "update"]
    assert updates == ["update", "update"]
    announcer.stopService()


def test_a_failing_room_count_is_logged_and_checking_goes_on(
    fx: Fixture, logs: list[LogEvent]
) -> None:
    announcer = fx.announcer()
    announcer.startService()
    fx.rooms = RuntimeError("core in pieces")
    fx.clock.advance(CHECK_INTERVAL)
    assert any(e.get("log_failure") for e in logs)
    fx.rooms = [("lobby", 4)]
    fx.clock.advance(CHECK_INTERVAL)
    assert fx.publisher.calls[-1][1]["people"] == "4"
    announcer.stopService()


def test_listening_address_passes_the_port_on() -> None:
    class Port:
        def getHost(self) -> IPv4Address:
            return IPv4Address("TCP", "0.0.0.0", 4001)

    class Service:
        _waitingForPort: Deferred[Any] | None = None

    service = Service()
    listening = listening_address(service)
    failure: list[Any] = []
    listening().addErrback(failure.append)
    assert "not listening" in str(failure[0].value)

    service._waitingForPort = Deferred()
    port = Port()
    addresses: list[Any] = []
    listening().addCallback(addresses.append)
    after: list[Any] = []
    service._waitingForPort.addCallback(after.append)  # as stopService does
    service._waitingForPort.callback(port)
    assert addresses == [IPv4Address("TCP", "0.0.0.0", 4001)]
    assert after == [port]


# With the real reactor and its thread pool


class ThreadRecorder(FakePublisher):
    """Notes which thread each call runs in."""

    def __init__(self) -> None:
        super().__init__()
        self.threads: list[threading.Thread] = []

    def start(self, registration: Registration) -> tuple[str, str | None]:
        self.threads.append(threading.current_thread())
        return super().start(registration)

    def stop(self) -> None:
        self.threads.append(threading.current_thread())
        super().stop()


@pytest_twisted.ensureDeferred
async def test_publisher_calls_run_in_worker_threads_never_the_reactors() -> None:
    from twisted.internet import reactor

    publisher = ThreadRecorder()
    announcer = Announcer(
        "lab",
        lambda: succeed(IPv4Address("TCP", "127.0.0.1", 4000)),
        lambda: [("lobby", 0)],
        False,
        reactor=reactor,
        publisher=publisher,
        environ=ENV,
    )
    announcer.startService()
    assert await announcer.announced == f"lab ({host_label()}:4000)-2"
    await announcer.stopService()
    assert publisher.names() == ["start", "stop"]
    assert len(publisher.threads) == 2
    assert threading.main_thread() not in publisher.threads


# Wiring in twistd chatroom (chatproto.tap)


def announcer_of(*argv: str) -> Announcer:
    options = tap.Options()
    options.parseOptions(list(argv))
    announcer = tap.makeService(options).getServiceNamed("announcer")
    assert isinstance(announcer, Announcer)
    return announcer


def test_twistd_announces_only_when_asked() -> None:
    options = tap.Options()
    options.parseOptions(["--port", "tcp:0:interface=127.0.0.1"])
    with pytest.raises(KeyError):
        tap.makeService(options).getServiceNamed("announcer")


def test_twistd_announces_its_name_room_and_tls(tmp_path: Path) -> None:
    plain = announcer_of("--announce", "--room", "physics", "--port", "0")
    assert plain.server_name == host_label()
    assert plain._rooms() == [("physics", 0)]
    assert not plain._tls
    cert, key = make_certificate(tmp_path)
    tls = announcer_of(
        "--announce",
        "--server-name",
        "lab",
        "--port",
        f"ssl:0:interface=127.0.0.1:privateKey={key}:certKey={cert}",
    )
    assert (tls.server_name, tls._tls) == ("lab", True)
