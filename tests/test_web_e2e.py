"""
The web front end end to end, without a browser: twistd in a subprocess
with --web, the page and its headers over HTTP, the Origin check, and a
WebSocket client (wsproto on a blocking socket) chatting with an nc-style
socket user.
"""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from servers import TIMEOUT, SocketClient, twistd, twistd_command
from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    CloseConnection,
    RejectConnection,
    RejectData,
    Request,
    TextMessage,
)

WEB = "tcp:0:interface=127.0.0.1"
ASSETS = {
    "/": "text/html; charset=utf-8",
    "/app.js": "text/javascript; charset=utf-8",
    "/chat.js": "text/javascript; charset=utf-8",
    "/catchup.js": "text/javascript; charset=utf-8",
    "/format.js": "text/javascript; charset=utf-8",
    "/lines.js": "text/javascript; charset=utf-8",
    "/style.css": "text/css; charset=utf-8",
    "/icon.svg": "image/svg+xml",
}


class BlockingWebSocket:
    """
    A WebSocket client on a plain socket, with bounded waits.
    """

    def __init__(self, port: int, origin: str | None) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        self.ws = WSConnection(ConnectionType.CLIENT)
        self.status = 0
        self.body = b""
        self.lines: list[str] = []
        self.closed = False
        headers = [(b"origin", origin.encode())] if origin else []
        self.sock.sendall(
            self.ws.send(
                Request(host=f"127.0.0.1:{port}", target="/ws", extra_headers=headers)
            )
        )
        deadline = time.monotonic() + TIMEOUT
        while not self.status and time.monotonic() < deadline:
            self._read()

    def _read(self) -> None:
        data = self.sock.recv(65536)
        self.ws.receive_data(data or None)
        for event in self.ws.events():
            if isinstance(event, AcceptConnection):
                self.status = 101
            elif isinstance(event, RejectConnection):
                self.status = event.status_code
            elif isinstance(event, RejectData):
                self.body += event.data
            elif isinstance(event, TextMessage):
                assert event.message_finished
                assert event.data.endswith("\r\n"), event.data
                self.lines.extend(event.data.split("\r\n")[:-1])
            elif isinstance(event, CloseConnection):
                self.closed = True
        if not data:
            self.closed = True

    def send(self, text: str) -> None:
        self.sock.sendall(self.ws.send(TextMessage(text)))

    def expect(self, wanted: str) -> list[str]:
        deadline = time.monotonic() + TIMEOUT
        while wanted not in self.lines:
            if time.monotonic() > deadline or self.closed:
                raise AssertionError(f"no {wanted!r} in {self.lines!r}")
            self._read()
        return self.lines

    def close(self) -> None:
        self.sock.close()


def get(port: int, path: str) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(
            f"http://127.0.0.1:{port}{path}", timeout=TIMEOUT
        ) as answer:
            return answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_the_page_and_its_assets_come_with_security_headers(tmp_path: Path) -> None:
    with twistd(tmp_path, "--web", WEB) as server:
        for path, kind in ASSETS.items():
            status, headers, body = get(server.web_port, path)
            assert status == 200, path
            assert headers["Content-Type"] == kind
            assert body
            csp = headers["Content-Security-Policy"]
            assert "script-src 'self';" in csp and "unsafe-inline" not in csp
            assert f"connect-src ws://127.0.0.1:{server.web_port};" in csp
            assert "frame-ancestors 'none'" in csp
            assert headers["X-Content-Type-Options"] == "nosniff"
            assert headers["X-Frame-Options"] == "DENY"
            assert headers["Referrer-Policy"] == "no-referrer"
        page = get(server.web_port, "/")[2].decode()
        # Nothing inline, nothing fetched from elsewhere.
        assert "<script>" not in page and "https://" not in page
        for path in ("/nothing.js", "/package.json", "/../setup.cfg", "/static/"):
            assert get(server.web_port, path)[0] == 404, path
        server.stop()


def test_a_hostile_origin_is_refused_and_logged(tmp_path: Path) -> None:
    with twistd(tmp_path, "--web", WEB) as server:
        hostile = BlockingWebSocket(server.web_port, "http://evil.example")
        assert hostile.status == 403
        assert b"does not take connections from pages of http://evil.example" in (
            hostile.body
        )
        server.wait_for_log("refused: a page from http://evil.example opened")
        own = BlockingWebSocket(server.web_port, f"http://127.0.0.1:{server.web_port}")
        assert own.status == 101
        own.expect("NICK")
        own.close()
        server.stop()


def test_web_origin_lets_another_origin_in(tmp_path: Path) -> None:
    with twistd(
        tmp_path, "--web", WEB, "--web-origin", "https://chat.example.org"
    ) as server:
        allowed = BlockingWebSocket(server.web_port, "https://chat.example.org")
        assert allowed.status == 101
        allowed.close()
        server.stop()


def test_a_websocket_user_and_a_socket_user_chat(tmp_path: Path) -> None:
    with twistd(tmp_path, "--web", WEB, "--rate", "0") as server:
        web = BlockingWebSocket(server.web_port, f"http://127.0.0.1:{server.web_port}")
        web.expect("NICK")
        web.send("alice")
        web.expect("USERS alice")
        nc = SocketClient(server.port)
        nc.expect("NICK")
        nc.send(b"bob\n")
        web.expect("JOIN bob")
        nc.send(b"hello from nc\n")
        web.expect("MSG bob hello from nc")
        web.send("hello from the web")
        nc.expect("MSG alice hello from the web")
        log = server.log_text()
        assert "joined lobby as alice" in log and "joined lobby as bob" in log
        assert "hello from" not in log  # what people say is never logged
        nc.close()
        web.close()
        server.stop()


def test_the_banner_says_where_the_page_is(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with twistd(tmp_path, "--web", f"tcp:{port}:interface=127.0.0.1") as server:
        server.wait_for_log(f"web page: http://127.0.0.1:{port}/")
        server.stop()


@pytest.mark.parametrize("origin", ["nonsense", "null", "http://x.org/path"])
def test_a_bad_web_origin_stops_start_up(tmp_path: Path, origin: str) -> None:
    result = subprocess.run(
        [*twistd_command(), "-n", "--pidfile=", "chatroom"]
        + ["--port", "tcp:0", "--web", WEB, "--web-origin", origin],
        cwd=tmp_path,
        capture_output=True,
        timeout=30,
    )
    assert result.returncode != 0
    assert b"--web-origin takes an origin such as" in result.stdout + result.stderr
