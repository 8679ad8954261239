"""Endpoints and (re)connection: TCP or TLS, once or with ClientService."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twisted.application.internet import ClientService, backoffPolicy
from twisted.internet.defer import Deferred, succeed
from twisted.internet.endpoints import HostnameEndpoint, wrapClientTLS
from twisted.internet.interfaces import IStreamClientEndpoint
from twisted.internet.ssl import (
    Certificate,
    optionsForClientTLS,
    trustRootFromCertificates,
)
from twisted.python.failure import Failure

from .options import Config
from .protocol import ChatClientFactory

CONNECT_TIMEOUT = 10


def make_endpoint(reactor: Any, config: Config) -> IStreamClientEndpoint:
    """HostnameEndpoint to host:port, wrapped in TLS if asked for."""
    endpoint: IStreamClientEndpoint = HostnameEndpoint(
        reactor, config.host, config.port, timeout=CONNECT_TIMEOUT
    )
    if config.tls:
        trust = None
        if config.ca is not None:
            with open(config.ca, "rb") as f:
                trust = trustRootFromCertificates([Certificate.loadPEM(f.read())])
        options = optionsForClientTLS(config.host, trustRoot=trust)
        endpoint = wrapClientTLS(options, endpoint)
    return endpoint


def retry_policy(
    report: Callable[[int, float], None],
    initial: float = 0.5,
    maximum: float = 15.0,
) -> Callable[[int], float]:
    """Exponential backoff with jitter that also tells ``report`` the delay."""
    backoff = backoffPolicy(initialDelay=initial, maxDelay=maximum, factor=2.0)

    def policy(attempt: int) -> float:
        delay = backoff(attempt)
        report(attempt, delay)
        return delay

    return policy


class Reconnecting:
    """Keep a connection with ClientService; only the very first failure is fatal."""

    def __init__(
        self,
        reactor: Any,
        endpoint: IStreamClientEndpoint,
        factory: ChatClientFactory,
        report_retry: Callable[[int, float], None],
    ) -> None:
        self.service = ClientService(
            endpoint, factory, retryPolicy=retry_policy(report_retry), clock=reactor
        )

    def start(self) -> Deferred[Any]:
        self.service.startService()
        return self.service.whenConnected(failAfterFailures=1)

    def stop(self) -> Deferred[Any]:
        return self.service.stopService()


class Once:
    """One connection, no reconnecting (--no-reconnect)."""

    def __init__(self, endpoint: IStreamClientEndpoint, factory: ChatClientFactory):
        self.endpoint = endpoint
        self.factory = factory
        self._attempt: Deferred[Any] | None = None
        self._protocol: Any = None

    def start(self) -> Deferred[Any]:
        self._attempt = self.endpoint.connect(self.factory)

        def connected(protocol: Any) -> Any:
            self._protocol = protocol
            return protocol

        def failed(reason: Failure) -> Failure:
            self._attempt = None
            return reason

        return self._attempt.addCallbacks(connected, failed)

    def stop(self) -> Deferred[Any]:
        if self._protocol is not None and self._protocol.transport is not None:
            self._protocol.transport.loseConnection()
        elif self._attempt is not None and not self._attempt.called:
            self._attempt.cancel()
        return succeed(None)
