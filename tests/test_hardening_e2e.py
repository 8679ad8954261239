"""
Hardening, end to end: TLS, graceful shutdown and a soak of garbage, with
twistd in a subprocess and real sockets on 127.0.0.1.
"""

from __future__ import annotations

import random
import socket
import ssl
import time
from pathlib import Path

from servers import SocketClient, make_certificate, twistd


def test_tls_port(tmp_path: Path) -> None:
    cert, key = make_certificate(tmp_path)
    port = f"ssl:0:privateKey={key}:certKey={cert}:interface=127.0.0.1"
    with twistd(tmp_path, port=port) as server:
        trust = ssl.create_default_context(cafile=str(cert))
        alice = SocketClient(server.port, tls=trust)
        alice.expect("NICK")
        alice.send(b"alice\n")
        alice.expect("JOIN alice")
        alice.send(b"over tls\n")
        alice.expect("MSG alice over tls")
        # A client that does not trust the certificate is refused.
        untrusting = ssl.create_default_context()
        raw = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        try:
            untrusting.wrap_socket(raw, server_hostname="localhost")
        except ssl.SSLCertVerificationError:
            pass
        else:
            raise AssertionError("an untrusted certificate was accepted")
        finally:
            raw.close()
        alice.close()
        server.stop()


def test_sigterm_tells_members_and_closes(tmp_path: Path) -> None:
    with twistd(tmp_path) as server:
        alice, bob = SocketClient(server.port), SocketClient(server.port)
        for client, nick in ((alice, b"alice"), (bob, b"bob")):
            client.expect("NICK")
            client.send(nick + b"\n")
            client.expect("JOIN " + nick.decode())
        started = time.monotonic()
        server.stop()
        assert time.monotonic() - started < 5
        for client in (alice, bob):
            lines = client.expect("INFO server shutting down")
            client.expect_closed()
            assert not any(line.startswith("LEAVE") for line in lines)


def test_soak_of_garbage_leaves_the_server_chatting(tmp_path: Path) -> None:
    generator = random.Random(4)
    with twistd(tmp_path, "--max-line", "512") as server:

        def vandal_socket() -> socket.socket:
            # A short timeout: the server stops reading from a flooder, and
            # its socket buffers then fill up.
            return socket.create_connection(("127.0.0.1", server.port), timeout=0.2)

        vandals = [vandal_socket() for _ in range(20)]
        deadline = time.monotonic() + 3
        sent = 0
        while time.monotonic() < deadline and sent < 200_000:
            vandal = generator.choice(vandals)
            size = generator.choice([1, 7, 100, 600, 3000])
            junk = generator.randbytes(size)
            if generator.random() < 0.3:
                junk = (
                    generator.choice(
                        [b"v%d\n" % sent, b"/nick x%d\n" % sent, b"/me \x1b\n"]
                    )
                    + junk
                )
            try:
                vandal.sendall(junk)
            except TimeoutError:
                pass  # throttled: the server reads it later
            except OSError:
                # The server may close a vandal (for example after too many
                # bad nicknames); replace it.
                vandal.close()
                vandals[vandals.index(vandal)] = vandal_socket()
            sent += 1
        alice, bob = SocketClient(server.port), SocketClient(server.port)
        for client, nick in ((alice, b"alice"), (bob, b"bob")):
            client.expect("NICK")
            client.send(nick + b"\n")
            client.expect("JOIN " + nick.decode())
        assert sent > 1000
        alice.send(b"still standing?\n")
        bob.expect("MSG alice still standing?")
        for vandal in vandals:
            vandal.close()
        server.stop()
    log = server.log_text()
    assert "Traceback" not in log
    assert "Unhandled" not in log


def test_connections_stalled_before_the_nickname_are_closed_whatever_the_stage(
    tmp_path: Path,
) -> None:
    # On a TLS port, silent TCP connections and a half-sent ClientHello
    # used to stay open for ever, counting against --max-clients.
    cert, key = make_certificate(tmp_path)
    port = f"ssl:0:privateKey={key}:certKey={cert}:interface=127.0.0.1"
    with twistd(
        tmp_path, "--handshake-timeout", "1", "--max-clients", "3", port=port
    ) as server:
        stalled = [
            socket.create_connection(("127.0.0.1", server.port)) for _ in range(2)
        ]
        stalled.append(socket.create_connection(("127.0.0.1", server.port)))
        stalled[-1].sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")
        started = time.monotonic()
        for connection in stalled:
            connection.settimeout(10)
            try:
                while connection.recv(4096):
                    pass
            except ConnectionResetError:
                pass  # cut: as good as closed
            connection.close()
        # The timeout, then at most the grace a closing connection gets.
        assert time.monotonic() - started < 1 + 3 + 2
        trust = ssl.create_default_context(cafile=str(cert))
        alice = SocketClient(server.port, tls=trust)
        alice.expect("NICK")
        alice.close()
        server.wait_for_log(r"chose no nickname in time")
        server.stop()


def test_the_log_says_why_a_tls_handshake_failed_and_who_left_at_shutdown(
    tmp_path: Path,
) -> None:
    cert, key = make_certificate(tmp_path)
    port = f"ssl:0:privateKey={key}:certKey={cert}:interface=127.0.0.1"
    with twistd(tmp_path, port=port) as server:
        # Plain text on a TLS port: the handshake fails.
        confused = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        confused.sendall(b"alice\r\n" * 100)
        try:
            while confused.recv(4096):
                pass
        except ConnectionResetError:
            pass
        confused.close()
        server.wait_for_log(
            r"disconnected before choosing a nickname: TLS handshake failed: \S"
        )
        trust = ssl.create_default_context(cafile=str(cert))
        alice = SocketClient(server.port, tls=trust)
        alice.expect("NICK")
        alice.send(b"alice\n")
        alice.expect("JOIN alice")
        server.stop()
        alice.close()
    log = server.log_text()
    assert "alice left: server shutting down" in log
    assert "alice quit" not in log
