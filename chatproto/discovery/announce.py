"""
Announcing a server on the local network, as a twisted C{Service}.

Threads: zeroconf runs an asyncio loop in a thread of its own, and its
blocking calls (start-up, registering, which probes the network for about
1.5 s, updating, unregistering, closing) wait for that loop.  Each of them
runs through C{deferToThreadPool} in one of the reactor's worker threads, one
at a time (a L{DeferredLock}), and its result comes back to the reactor
thread as a Deferred.  zeroconf itself never calls into Twisted: we give it no
listener on this side.  So the reactor never waits for the network and never
runs zeroconf code, and Twisted is only ever called from its own thread.

(The alternative, zeroconf's asyncio interface on Twisted's asyncio reactor,
would make C{twistd chatroom} and the client run on a different reactor, for
every user, with or without C{--announce}.  A worker thread costs nothing to
those who do not announce.)

The blocking side is L{chatproto.discovery.publisher}.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from twisted.application.service import Service
from twisted.internet.defer import Deferred, DeferredLock, fail
from twisted.internet.interfaces import IAddress
from twisted.internet.task import LoopingCall
from twisted.internet.threads import deferToThreadPool
from twisted.logger import Logger
from twisted.python.failure import Failure

from . import net, record
from .publisher import Publisher, Registration, ZeroconfPublisher, instance_name

# How often the announcer compares the rooms with what it announced: at most
# one update of the record per interval.
CHECK_INTERVAL = 3.0
Rooms = Callable[[], list[tuple[str, int]]]


def listening_address(service: Any) -> Callable[[], Deferred[IAddress | None]]:
    """
    For an announcer, the address a C{strports.service} listens on, once it
    does (C{None} if it could not listen).
    """

    def listening() -> Deferred[IAddress | None]:
        # StreamServerEndpointService keeps its listen() Deferred here
        # (private, unchanged since Twisted 10.2); a callback that passes
        # the port on leaves its stopService working.
        waiting: Deferred[Any] | None = getattr(service, "_waitingForPort", None)
        if waiting is None:
            return fail(net.DiscoveryConfigError("the server is not listening"))
        address: Deferred[IAddress | None] = Deferred()

        def got(port: Any) -> Any:
            address.callback(port.getHost() if port is not None else None)
            return port

        waiting.addCallback(got)
        return address

    return listening


class Announcer(Service):
    """
    Announces a chat server as C{_chatproto._tcp} while it runs, keeps its
    rooms up to date in the TXT record, and unregisters it on stop.

    Failing to announce (no multicast, no network) is one warning in the log;
    the chat server goes on.

    @ivar announced: fires with the instance name the network knows the
        server by, or C{None} if announcing failed.
    @ivar problem: why announcing failed, or a problem multicast DNS
        reported while announcing; one line.
    """

    log = Logger()

    def __init__(
        self,
        server_name: str,
        listening: Callable[[], Deferred[IAddress | None]],
        rooms: Rooms,
        tls: bool,
        *,
        reactor: Any = None,
        publisher: Publisher | None = None,
        in_thread: Callable[..., Deferred[Any]] | None = None,
        interval: float = CHECK_INTERVAL,
        environ: dict[str, str] | os._Environ[str] = os.environ,
    ) -> None:
        if reactor is None:
            from twisted.internet import reactor
        self.name = "announcer"  # for MultiService.getServiceNamed
        self.server_name = server_name
        self._listening = listening
        self._rooms = rooms
        self._tls = tls
        self._reactor = reactor
        self._publisher = publisher or ZeroconfPublisher()
        self._in_thread = in_thread or self._thread_pool
        self._interval = interval
        self._environ = environ
        self._lock = DeferredLock()
        self._attempted = False
        # The TXT record on the network, while announced.
        self._published: dict[str, str] | None = None
        self._checks = LoopingCall(self._check)
        self._checks.clock = reactor
        self.announced: Deferred[str | None] = Deferred()
        self.problem: str | None = None

    def _thread_pool(self, f: Callable[..., Any], *args: Any) -> Deferred[Any]:
        return deferToThreadPool(self._reactor, self._reactor.getThreadPool(), f, *args)

    def _txt(self) -> dict[str, str]:
        rooms = self._rooms()
        return record.to_txt(record.describe(self.server_name, rooms, self._tls))

    # -- starting -----------------------------------------------------------

    def startService(self) -> None:
        super().startService()
        self._lock.run(self._start)

    def _start(self) -> Deferred[None]:
        self._attempted = True
        started = self._listening()
        started.addCallback(self._registration)
        started.addCallback(lambda plan: self._in_thread(self._publisher.start, plan))
        return started.addCallbacks(self._started, self._not_started)

    def _registration(self, address: IAddress | None) -> Registration:
        host, port = getattr(address, "host", None), getattr(address, "port", None)
        if host is None or not port:
            raise net.DiscoveryConfigError(f"cannot announce a port like {address}")
        interfaces, addresses = net.listening_plan(
            host, net.configured_interfaces(self._environ)
        )
        txt = self._txt()
        self._published = txt
        return Registration(
            instance_name(self.server_name, net.host_label(), port),
            port,
            addresses,
            interfaces,
            txt,
        )

    def _started(self, result: tuple[str, str | None]) -> None:
        name, problem = result
        self.log.info(
            "announced on the local network as {name!r} ({type})",
            name=name,
            type=record.SERVICE_TYPE,
        )
        if problem:
            self.problem = problem
            self.log.warn("multicast DNS reported a problem: {why}", why=problem)
        if self.running:
            self._checks.start(self._interval, now=False)
        self.announced.callback(name)

    def _not_started(self, reason: Failure) -> None:
        self._published = None
        self.problem = describe(reason)
        self.log.warn("not announced on the local network: {why}", why=self.problem)
        self.announced.callback(None)

    # -- keeping the record up to date --------------------------------------

    def _check(self) -> None:
        if self._lock.locked or self._published is None:
            return  # busy; the next check catches up
        try:
            txt = self._txt()
        except Exception:
            self.log.failure("counting the rooms to announce")
            return
        if txt != self._published:
            self._lock.run(self._update, txt)

    def _update(self, txt: dict[str, str]) -> Deferred[None]:
        def updated(_: object) -> None:
            self._published = txt

        def failed(reason: Failure) -> None:
            self.log.warn(
                "could not update the local network announcement: {why}",
                why=describe(reason),
            )

        return self._in_thread(self._publisher.update, txt).addCallbacks(
            updated, failed
        )

    # -- stopping -----------------------------------------------------------

    def stopService(self) -> Deferred[None]:
        super().stopService()
        if self._checks.running:
            self._checks.stop()
        # After a start still under way, if any: unregistering waits for it.
        return self._lock.run(self._stop)

    def _stop(self) -> Deferred[None] | None:
        if not self._attempted:
            return None
        announced = self._published is not None

        def stopped(_: object) -> None:
            self._published = None
            if announced:
                self.log.info("no longer announced on the local network")

        def failed(reason: Failure) -> None:
            self.log.warn(
                "stopping the local network announcement: {why}",
                why=describe(reason),
            )

        return self._in_thread(self._publisher.stop).addCallbacks(stopped, failed)


def describe(reason: Failure) -> str:
    """One line for a failure of zeroconf or of the network."""
    value = reason.value
    if isinstance(value, OSError) and value.strerror:
        return value.strerror
    text = str(value).strip().splitlines()[0] if str(value).strip() else ""
    if isinstance(value, net.DiscoveryConfigError | OSError):
        return text or type(value).__name__
    return f"{type(value).__name__}: {text}" if text else type(value).__name__
