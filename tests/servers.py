"""
Helpers for end-to-end tests: a chatroom server run by twistd in a
subprocess, and a plain blocking socket client like the ones people write.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

TIMEOUT = 10.0
# What Twisted logs when a port starts listening.
CHAT_PORT = r"ChatFactory(?: \(TLS\))? starting on (\d+)"
METRICS_PORT = r"MetricsSite starting on (\d+)"
WEB_PORT = r"WebSite(?: \(TLS\))? starting on (\d+)"


def twistd_command() -> list[str]:
    """
    twistd from the Python running the tests (its venv's script if there).
    """
    script = Path(sys.executable).with_name("twistd")
    if script.exists():
        return [str(script)]
    found = shutil.which("twistd")
    assert found, "twistd is not installed"
    return [found]


class Twistd:
    def __init__(self, process: subprocess.Popen[bytes], log: Path) -> None:
        self.process = process
        self.log = log
        self.port = 0
        self.metrics_port = 0
        self.web_port = 0

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def wait_for_log(self, pattern: str, timeout: float = TIMEOUT) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = re.search(pattern, self.log_text())
            if found:
                return found
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"no {pattern!r} in the log:\n{self.log_text()}")

    def stop(self, signum: int = signal.SIGTERM) -> None:
        """
        Stop twistd as an init system does, with SIGTERM (or as Ctrl-C does,
        with SIGINT), and check that it shut down cleanly.
        """
        self.process.send_signal(signum)
        try:
            status = self.process.wait(TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(TIMEOUT)
            raise AssertionError(f"twistd did not stop on {signum!r}") from None
        # After a clean shutdown twistd re-raises the signal that stopped it,
        # so that its parent sees why it ended.
        assert status in (0, -signum), status
        assert "Server Shut Down." in self.log_text()


@contextmanager
def twistd(
    workdir: Path,
    *options: str,
    port: str = "tcp:0:interface=127.0.0.1",
    logger: str | None = None,
    prefix: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    pass_fds: Sequence[int] = (),
) -> Iterator[Twistd]:
    """
    Run C{twistd -n chatroom --port PORT OPTIONS} until the block ends; the
    listening port numbers are read from its log.

    @param logger: a C{--logger} observer factory; the log is then what
        twistd writes to its standard output.
    @param prefix: a command that runs twistd (e.g. C{systemd-socket-activate
        ...}), with C{env} added to the environment and C{pass_fds} open.
    """
    log = workdir / "twistd.log"
    logging = ["--logger", logger] if logger else [f"--logfile={log}"]
    command = [
        *prefix,
        *twistd_command(),
        "-n",
        "--pidfile=",
        *logging,
        "chatroom",
        "--port",
        port,
        *options,
    ]
    # Without --logger, standard output only has what twistd says before
    # logging starts; kept for when a test fails.
    with open(log if logger else workdir / "twistd.out", "ab") as output:
        process = subprocess.Popen(
            command,
            cwd=workdir,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
            pass_fds=pass_fds,
        )
    server = Twistd(process, log)
    try:
        if port.startswith("systemd:"):
            yield server  # listening before twistd starts: nothing to wait for
        else:
            server.port = int(server.wait_for_log(CHAT_PORT).group(1))
            if "--metrics" in options:
                found = server.wait_for_log(METRICS_PORT)
                server.metrics_port = int(found.group(1))
            if "--web" in options:
                server.web_port = int(server.wait_for_log(WEB_PORT).group(1))
            yield server
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(TIMEOUT)


class SocketClient:
    """
    A blocking socket client with bounded waits, as written in class.
    """

    def __init__(
        self, port: int, tls: ssl.SSLContext | None = None, source: str = ""
    ) -> None:
        # source: another loopback address (127.0.0.2, ...) to come from.
        self.sock = socket.create_connection(
            ("127.0.0.1", port), timeout=TIMEOUT, source_address=(source, 0)
        )
        if tls is not None:
            self.sock = tls.wrap_socket(self.sock, server_hostname="localhost")
        self.buffer = b""
        self.lines: list[str] = []

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def expect(
        self, wanted: str, timeout: float = TIMEOUT, prefix: bool = False
    ) -> list[str]:
        """
        Read until a line equal to (or, with C{prefix}, starting with)
        C{wanted} arrives; return all lines so far.
        """

        def found() -> bool:
            return any(
                line.startswith(wanted) if prefix else line == wanted
                for line in self.lines
            )

        deadline = time.monotonic() + timeout
        while not found():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no {wanted!r} in {self.lines!r}")
            self.sock.settimeout(remaining)
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                continue
            if not data:
                raise AssertionError(f"closed before {wanted!r}; got {self.lines!r}")
            self.buffer += data
            *complete, self.buffer = self.buffer.split(b"\r\n")
            self.lines.extend(line.decode("utf-8") for line in complete)
        return self.lines

    def expect_closed(self, timeout: float = TIMEOUT) -> None:
        self.sock.settimeout(timeout)
        while self.sock.recv(65536):
            pass

    def close(self) -> None:
        self.sock.close()


def make_certificate(
    directory: Path, name: str = "localhost", loopback: bool = True
) -> tuple[Path, Path]:
    """
    A self-signed certificate for ``name`` and (with ``loopback``)
    127.0.0.1: (cert, key) PEM files.
    """
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName(name)]
                + (
                    [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
                    if loopback
                    else []
                )
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path
