"""
Test helpers for the web front end: a WebSocket client driven through a
StringTransport into the real site (Twisted's HTTP channel, its WebSocket
upgrade and wsproto), with wsproto's client side for framing.
"""

from __future__ import annotations

from twisted.internet.address import IPv4Address
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransportWithDisconnection
from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    RejectConnection,
    RejectData,
    Request,
    TextMessage,
)

from chatproto.server import ChatServer
from chatproto.web.site import WebSite, web_site

_next_port = iter(range(20000, 40000))
HOST = "127.0.0.1:8080"


class WebClient:
    """
    One browser-like WebSocket connection to a L{WebSite}.

    @ivar status: the HTTP status of the upgrade's answer (101 if taken).
    @ivar closed_by_server: the close code the server sent, if it did.
    """

    def __init__(
        self,
        site: WebSite,
        clock: Clock,
        host: str = "192.0.2.7",
        origin: str | None = "http://" + HOST,
        path: str = "/ws",
    ) -> None:
        self.clock = clock
        address = IPv4Address("TCP", host, next(_next_port))
        self.transport = StringTransportWithDisconnection(
            hostAddress=IPv4Address("TCP", "127.0.0.1", 8080), peerAddress=address
        )
        self.channel = site.buildProtocol(address)
        self.transport.protocol = self.channel
        self.channel.makeConnection(self.transport)
        self.ws = WSConnection(ConnectionType.CLIENT)
        self.status = 0
        self.body = b""
        self.closed_by_server: int | None = None
        self._messages: list[str | bytes] = []
        self._partial: list[str | bytes] = []
        self._seen = 0
        headers = [(b"origin", origin.encode())] if origin is not None else []
        self.channel.dataReceived(
            self.ws.send(Request(host=HOST, target=path, extra_headers=headers))
        )
        self._read()

    def _read(self) -> None:
        data = self.transport.value()
        new, self._seen = data[self._seen :], len(data)
        if not new:
            return
        self.ws.receive_data(new)
        for event in self.ws.events():
            if isinstance(event, AcceptConnection):
                self.status = 101
            elif isinstance(event, RejectConnection):
                self.status = event.status_code
            elif isinstance(event, RejectData):
                self.body += event.data
            elif isinstance(event, TextMessage | BytesMessage):
                self._partial.append(event.data)
                if event.message_finished:
                    first = self._partial[0]
                    self._messages.append(first[:0].join(self._partial))
                    self._partial = []
            elif isinstance(event, CloseConnection):
                self.closed_by_server = event.code

    # Sending

    def send(self, text: str) -> None:
        """
        One text message, and the end of that reactor turn.
        """
        self.send_raw(self.ws.send(TextMessage(text)))

    def send_bytes(self, data: bytes) -> None:
        self.send_raw(self.ws.send(BytesMessage(data)))

    def send_raw(self, data: bytes) -> None:
        self.channel.dataReceived(data)
        self.clock.advance(0)

    def close(self) -> None:
        """
        The client closes the WebSocket (and then its end of the TCP
        connection, once the server has answered).
        """
        self.send_raw(self.ws.send(CloseConnection(1000)))
        self._read()
        self.transport.loseConnection()
        self.clock.advance(0)

    # Receiving

    def messages(self) -> list[str | bytes]:
        """
        Every message received since the last call, once the room has handed
        out the current turn's events.
        """
        self.clock.advance(0)
        self._read()
        new, self._messages = self._messages, []
        return new

    def received(self) -> list[str]:
        """
        The lines of every message received since the last call; each
        message must hold whole lines.
        """
        lines: list[str] = []
        for message in self.messages():
            assert isinstance(message, str), message
            assert message.endswith("\r\n"), message
            lines.extend(message.split("\r\n")[:-1])
        return lines

    @property
    def connected(self) -> bool:
        return bool(self.transport.connected)

    @property
    def input_paused(self) -> bool:
        return self.transport.producerState == "paused"


def site_for(server: ChatServer, origins: tuple[str, ...] = ()) -> WebSite:
    return web_site(server, origins)


def web_member(site: WebSite, clock: Clock, nick: str, **kwargs: object) -> WebClient:
    """
    A web client that has joined as C{nick}, its inbox emptied.
    """
    client = WebClient(site, clock, **kwargs)  # type: ignore[arg-type]
    assert client.status == 101, (client.status, client.body)
    client.send(nick)
    lines = client.received()
    assert lines[1].startswith("WELCOME "), lines
    return client
