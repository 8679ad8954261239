"""Wiring shared by both modes: connect, run the reactor, shut down cleanly."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twisted.internet.defer import Deferred, DeferredList
from twisted.logger import (
    ILogObserver,
    LogEvent,
    LogLevel,
    formatEvent,
    globalLogBeginner,
)
from zope.interface import provider

from .connect import Once, Reconnecting, make_endpoint
from .login import OperLogin
from .options import Config
from .protocol import ChatClientFactory
from .session import Session

SHUTDOWN_TIMEOUT = 3.0


def where(config: Config) -> str:
    return f"{config.host}:{config.port}"


def oper_login(config: Config) -> OperLogin | None:
    """The operator login to make on each connection, if asked for."""
    if config.oper is None or config.oper_password is None:
        return None
    return OperLogin(config.oper, config.oper_password)


def error_observer(report: Callable[[str], None]) -> ILogObserver:
    """A log observer that shows errors to the user as one line, and drops the rest.

    Without one, Twisted writes tracebacks to stderr, over the terminal.
    """

    @provider(ILogObserver)
    def observe(event: LogEvent) -> None:
        level = event.get("log_level")
        if level not in (LogLevel.error, LogLevel.critical) and not event.get(
            "isError"
        ):
            return
        failure = event.get("log_failure")
        text = failure.getErrorMessage() if failure is not None else formatEvent(event)
        try:
            report(f"unexpected error: {text}")
        except Exception:  # never let logging break the client
            pass

    return observe


def start_logging(report: Callable[[str], None]) -> None:
    globalLogBeginner.beginLoggingTo(
        [error_observer(report)], discardBuffer=True, redirectStandardIO=False
    )


def make_endpoint_check(reactor: Any, config: Config) -> None:
    """Build the endpoint once to report a bad --ca file before anything else."""
    make_endpoint(reactor, config)


def connect(reactor: Any, config: Config, session: Session) -> Once | Reconnecting:
    """Start connecting; a failed first attempt ends the session."""
    factory = ChatClientFactory(session)
    endpoint = make_endpoint(reactor, config)
    connector: Once | Reconnecting
    if config.reconnect:
        connector = Reconnecting(reactor, endpoint, factory, session.retry_scheduled)
    else:
        connector = Once(endpoint, factory)
    connector.start().addErrback(session.connect_failed, where(config))
    return connector


def run_until_done(
    reactor: Any,
    session: Session,
    connector: Once | Reconnecting,
    closers: list[Callable[[], Deferred[Any]]],
) -> int:
    """Run the reactor until the session is done; return its exit status.

    Shutting down stops the connector and calls each closer (flush output,
    release the terminal), waiting at most SHUTDOWN_TIMEOUT seconds for them.
    """
    status: list[int] = []
    stopped_by_us: list[bool] = []
    # Stopping already (SIGTERM, say): a session that ends meanwhile (its
    # server went with the reactor, in `chatproto host`) must not stop it again.
    stopping: list[bool] = []
    reactor.addSystemEventTrigger("before", "shutdown", stopping.append, True)

    def stop() -> None:
        if reactor.running and not stopping:
            stopped_by_us.append(True)
            reactor.stop()

    def close_all() -> Deferred[Any]:
        waits = [connector.stop()] + [close() for close in closers]
        all_done: Deferred[Any] = DeferredList(waits, consumeErrors=True)
        all_done.addTimeout(SHUTDOWN_TIMEOUT, reactor)
        return all_done

    def shutdown() -> None:
        close_all().addBoth(lambda _: stop())

    def stopped_from_outside() -> Deferred[Any] | None:
        # A signal (SIGTERM, SIGINT in pipe mode) stops the reactor: say so
        # before the connections drop, and let the output flush; the reactor
        # waits for the Deferred a "before" trigger returns.
        if stopped_by_us:
            return None
        session.stopped(getattr(reactor, "_exitSignal", None))
        return close_all()

    reactor.addSystemEventTrigger("before", "shutdown", stopped_from_outside)

    def done(code: int) -> None:
        status.append(code)
        # Not from inside whatever callback finished the session (maybe the
        # ClientService state machine): from a fresh reactor turn.
        reactor.callLater(0, shutdown)

    session.done.addCallback(done)
    reactor.run()
    if not stopped_by_us:
        # Stopped from outside, by SIGTERM say: exit as a signal would.
        signum = getattr(reactor, "_exitSignal", None)
        return 128 + signum if signum else 1
    return status[0] if status else 1
