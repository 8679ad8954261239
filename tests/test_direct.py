"""
DirectWrites: straight to the socket when nothing waits, Twisted's buffering
otherwise; the bytes arrive whole and in order whatever the kernel takes.
"""

from __future__ import annotations

import errno
import socket

from twisted.internet import tcp
from twisted.internet.protocol import Protocol
from twisted.internet.testing import MemoryReactor, StringTransport

from chatproto.direct import DirectWrites, direct_writes
from chatproto.limits import SendQueue


class FakeSocket:
    """
    A non-blocking socket whose kernel buffer takes what C{room} allows:
    C{None} all of it, else at most that many bytes (0: EAGAIN).
    """

    def __init__(self) -> None:
        self.sent = bytearray()
        self.calls = 0
        self.room: int | None = None
        self.error: int | None = None

    def send(self, data: bytes) -> int:
        self.calls += 1
        if self.error is not None:
            raise OSError(self.error, "fake")
        data = bytes(data)
        if self.room is not None:
            if self.room == 0:
                raise BlockingIOError(errno.EAGAIN, "would block")
            data = data[: self.room]
            self.room -= len(data)
        self.sent += data
        return len(data)

    def setblocking(self, flag: bool) -> None:
        pass

    def fileno(self) -> int:
        return 99

    def close(self) -> None:
        pass


def connection() -> tuple[DirectWrites, tcp.Connection, FakeSocket, MemoryReactor]:
    """A real Twisted TCP transport over a fake socket, and DirectWrites."""
    reactor = MemoryReactor()
    sock = FakeSocket()
    transport = tcp.Connection(sock, Protocol(), reactor)
    transport.connected = True
    return DirectWrites(transport, sock), transport, sock, reactor


def drain(transport: tcp.Connection, sock: FakeSocket) -> None:
    """The socket becomes writable for everything: what Twisted holds goes."""
    sock.room = None
    transport.doWrite()


def test_nothing_waiting_goes_straight_to_the_socket() -> None:
    direct, transport, sock, reactor = connection()
    direct.write(b"MSG a hi\n")
    direct.write(b"MSG b ho\n")
    assert bytes(sock.sent) == b"MSG a hi\nMSG b ho\n"
    assert sock.calls == 2
    # Nothing for the reactor to do: the socket was never registered.
    assert transport not in reactor.getWriters()
    assert not transport._tempDataBuffer and not transport.dataBuffer


def test_a_partial_write_leaves_the_rest_to_twisted_in_order() -> None:
    direct, transport, sock, reactor = connection()
    sock.room = 4
    direct.write(b"MSG a hi\n")
    assert bytes(sock.sent) == b"MSG "
    assert transport in reactor.getWriters()
    # Later writes wait behind the rest, not ahead of it.
    direct.write(b"MSG b ho\n")
    assert sock.calls == 1
    drain(transport, sock)
    assert bytes(sock.sent) == b"MSG a hi\nMSG b ho\n"
    assert transport not in reactor.getWriters()
    # Drained: straight to the socket again.
    direct.write(b"MSG c hu\n")
    assert bytes(sock.sent).endswith(b"MSG c hu\n")
    assert transport not in reactor.getWriters()


def test_eagain_buffers_everything() -> None:
    direct, transport, sock, reactor = connection()
    sock.room = 0
    direct.write(b"one\n")
    direct.write(b"two\n")
    assert sock.sent == b""
    assert transport in reactor.getWriters()
    drain(transport, sock)
    assert bytes(sock.sent) == b"one\ntwo\n"


def test_a_socket_error_is_left_to_twisted() -> None:
    direct, transport, sock, reactor = connection()
    sock.error = errno.EPIPE
    direct.write(b"lost\n")
    assert transport._tempDataBuffer == [b"lost\n"]
    # Twisted's own write finds the error and reports the connection lost.
    assert transport.doWrite() is not None


def test_nothing_direct_after_lose_connection() -> None:
    direct, transport, sock, reactor = connection()
    transport.disconnecting = True
    direct.write(b"bye\n")
    assert sock.calls == 0
    assert transport._tempDataBuffer == [b"bye\n"]


def test_nothing_lost_or_reordered_under_a_stingy_kernel() -> None:
    direct, transport, sock, reactor = connection()
    expected = bytearray()
    for i in range(200):
        line = b"MSG m%d %s\n" % (i, b"x" * (i % 37))
        expected += line
        # The kernel takes a varying amount, sometimes nothing, and is
        # sometimes drained in between.
        sock.room = (i * 7) % 23
        direct.write(line)
        if i % 5 == 0:
            sock.room = (i * 3) % 50
            if transport in reactor.getWriters():
                transport.doWrite()
    drain(transport, sock)
    assert bytes(sock.sent) == bytes(expected)


def test_the_send_queue_is_paused_by_twisted_buffer_only() -> None:
    # The session's send queue is the transport's producer: it is paused
    # when what the kernel refused fills Twisted's buffer, as before.
    direct, transport, sock, reactor = connection()
    overflowed: list[bool] = []
    queue = SendQueue(direct, 1 << 20, lambda: overflowed.append(True))  # type: ignore[arg-type]
    assert transport.producer is queue
    sock.room = 0
    queue.write(b"x" * (transport.bufferSize + 1))
    assert queue.paused
    queue.write(b"after\n")  # waits in the send queue
    assert transport._tempDataLen == transport.bufferSize + 1
    drain(transport, sock)
    assert not queue.paused
    drain(transport, sock)
    assert bytes(sock.sent) == b"x" * (transport.bufferSize + 1) + b"after\n"
    assert not overflowed


def test_only_plain_socket_transports_write_directly() -> None:
    fake = StringTransport()
    assert direct_writes(fake) is fake
    reactor = MemoryReactor()
    with socket.socket() as real:
        plain = tcp.Connection(real, Protocol(), reactor)
        assert isinstance(direct_writes(plain), DirectWrites)
        plain.TLS = True  # startTLS: bytes must go through the TLS layer
        assert direct_writes(plain) is plain


def test_a_twisted_without_the_state_it_reads_gets_buffered_writes() -> None:
    reactor = MemoryReactor()
    with socket.socket() as real:
        plain = tcp.Connection(real, Protocol(), reactor)
        del plain._tempDataLen  # as if a Twisted release renamed it
        assert direct_writes(plain) is plain
