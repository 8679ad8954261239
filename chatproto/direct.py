"""
Writing straight to a TCP socket when nothing waits to be sent on it.

Twisted's C{transport.write} only buffers: the bytes go out on the reactor's
next iteration, after registering the socket for writing with epoll and
before unregistering it again.  A member that reads what it is sent has
nothing waiting, so L{DirectWrites} hands its bytes to the kernel at once,
one C{send()} and no epoll changes, and falls back to the transport's
buffering only for what the kernel does not take (a partial write, or
C{EAGAIN}).  Once anything waits in the transport, every later write waits
behind it, so the order of the bytes is kept.
"""

from __future__ import annotations

import socket
from typing import Protocol

from twisted.internet import tcp
from twisted.internet.interfaces import IConsumer, IProducer, ITransport
from zope.interface import implementer

# What DirectWrites reads of a tcp.Connection to know nothing waits on it.
_TRANSPORT_STATE = (
    "dataBuffer",
    "_tempDataLen",
    "connected",
    "disconnecting",
    "_writeDisconnected",
)


class _Socket(Protocol):
    def send(self, data: bytes, /) -> int: ...


@implementer(IConsumer)
class DirectWrites:
    """
    A consumer over a plain TCP (or UNIX) transport that sends what it is
    given at once when the transport holds nothing unsent, and buffers in
    the transport otherwise.

    Producers register with the transport itself, which pauses them when
    its buffer fills, as before: only what the kernel refused reaches it.
    """

    __slots__ = ("transport", "_socket")  # one per connection

    def __init__(self, transport: tcp.Connection, sock: _Socket) -> None:
        self.transport = transport
        self._socket = sock

    def write(self, data: bytes) -> None:
        transport = self.transport
        if (
            transport.dataBuffer
            or transport._tempDataLen
            or not transport.connected
            or transport.disconnecting
            or transport._writeDisconnected
            or transport.TLS
        ):
            transport.write(data)
            return
        try:
            sent = self._socket.send(data)
        except OSError:
            # EAGAIN, EINTR, or the connection's error: Twisted's own write
            # path retries, or finds the error and closes as it would have.
            sent = 0
        if sent < len(data):
            transport.write(data[sent:])

    def registerProducer(self, producer: IProducer, streaming: bool) -> None:
        self.transport.registerProducer(producer, streaming)

    def unregisterProducer(self) -> None:
        self.transport.unregisterProducer()


def direct_writes(transport: ITransport) -> IConsumer:
    """
    L{DirectWrites} over C{transport} if it is a plain socket transport;
    C{transport} itself otherwise (TLS, where the bytes must go through the
    TLS layer, or a test's fake transport).
    """
    if (
        isinstance(transport, tcp.Connection)
        and not transport.TLS
        # DirectWrites reads these of Twisted's own: a Twisted without them
        # gets its plain buffered writes, never an AttributeError per write.
        and all(hasattr(transport, name) for name in _TRANSPORT_STATE)
    ):
        handle = transport.getHandle()
        if isinstance(handle, socket.socket):
            return DirectWrites(transport, handle)
    return transport  # type: ignore[return-value]
