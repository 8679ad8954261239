"""
Real TCP on 127.0.0.1, in the test's own reactor.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest_twisted
from helpers import line_factory
from twisted.internet.defer import Deferred
from twisted.internet.protocol import ClientFactory, Protocol
from twisted.internet.task import deferLater
from twisted.protocols.basic import LineReceiver

from chatproto.factory import ChatFactory

TIMEOUT = 5.0


class LineClient(LineReceiver):
    """
    A test client that records the lines it gets and can wait for one.
    """

    delimiter = b"\r\n"

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.connected_d: Deferred[None] = Deferred()
        self.closed: Deferred[None] = Deferred()

    def connectionMade(self) -> None:
        self.connected_d.callback(None)

    def lineReceived(self, line: bytes) -> None:
        self.lines.append(line.decode("utf-8"))

    def connectionLost(self, reason: object = None) -> None:
        self.closed.callback(None)

    async def wait_for(self, wanted: str) -> list[str]:
        """
        Wait (bounded) until a line equal to C{wanted} arrives; return all
        lines so far.
        """
        await _until(lambda: wanted in self.lines, f"{wanted!r} in {self.lines!r}")
        return self.lines


async def _until(condition: Callable[[], bool], what: str) -> None:
    from twisted.internet import reactor

    for _ in range(int(TIMEOUT / 0.01)):
        if condition():
            return
        await deferLater(reactor, 0.01)
    raise AssertionError(f"timed out waiting for {what}")


class Harness:
    def __init__(self, factory: ChatFactory, port: int) -> None:
        self.factory = factory
        self.port = port
        self.clients: list[Protocol] = []

    async def connect(self, client: Protocol | None = None) -> LineClient:
        from twisted.internet import reactor

        client = client or LineClient()
        factory = ClientFactory.forProtocol(lambda: client)
        reactor.connectTCP("127.0.0.1", self.port, factory)
        await client.connected_d
        self.clients.append(client)
        return client

    async def member(self, nick: str) -> LineClient:
        client = await self.connect()
        await client.wait_for("NICK")
        client.sendLine(nick.encode())
        await client.wait_for(f"JOIN {nick}")
        return client


@pytest_twisted.async_yield_fixture
async def harness() -> AsyncIterator[Harness]:
    from twisted.internet import reactor

    factory = line_factory(reactor, rate=0)
    listening = reactor.listenTCP(0, factory, interface="127.0.0.1")
    harness = Harness(factory, listening.getHost().port)
    try:
        yield harness
    finally:
        for client in harness.clients:
            client.transport.loseConnection()
        # Wait for the server's side of every connection to close too, or
        # its sockets would outlive the test.
        await _until(
            lambda: not factory.server.sessions, "server-side connections to close"
        )
        await listening.stopListening()


@pytest_twisted.ensureDeferred
async def test_members_chat_over_tcp(harness: Harness) -> None:
    alice = await harness.member("alice")
    bob = await harness.member("bob")
    await alice.wait_for("JOIN bob")
    alice.sendLine("héllo bob".encode())
    await bob.wait_for("MSG alice héllo bob")
    await alice.wait_for("MSG alice héllo bob")
    bob.sendLine(b"/quit see you")
    await alice.wait_for("LEAVE bob see you")
    await bob.closed


@pytest_twisted.ensureDeferred
async def test_unframed_socket_client_over_tcp(harness: Harness) -> None:
    alice = await harness.member("alice")

    class Unframed(LineClient):
        def lineReceived(self, line: bytes) -> None:
            super().lineReceived(line)
            if line == b"NICK":
                self.transport.write(b"seed")

    seed = await harness.connect(Unframed())
    await alice.wait_for("JOIN seed")
    seed.transport.write(b"seed: hi all")
    await alice.wait_for("MSG seed seed: hi all")
    alice.sendLine(b"hi seed")
    await seed.wait_for("MSG alice hi seed")


@pytest_twisted.ensureDeferred
async def test_dropped_connection_leaves_once(harness: Harness) -> None:
    alice = await harness.member("alice")
    bob = await harness.member("bob")
    bob.transport.abortConnection()
    await alice.wait_for("LEAVE bob connection lost")
    carol = await harness.member("carol")
    alice.transport.loseConnection()
    await carol.wait_for("LEAVE alice connection closed")
    await _until(
        lambda: len(harness.factory.server.rooms.default) == 1, "the room to empty"
    )
    assert [line for line in carol.lines if line.startswith("LEAVE")] == [
        "LEAVE alice connection closed"
    ]


@pytest_twisted.ensureDeferred
async def test_accepted_sockets_have_keepalive_and_nodelay(harness: Harness) -> None:
    import socket

    await harness.member("alice")
    [session] = harness.factory.server.sessions
    handle = session.front.transport.getHandle()  # type: ignore[attr-defined]
    assert handle.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
    assert handle.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE) == 60
    assert handle.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
