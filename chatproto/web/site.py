"""
The web site C{--web} serves: the chat page and its assets, from this
package, with security headers, and the WebSocket, behind an Origin check.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from twisted.logger import Logger
from twisted.web.pages import notFound
from twisted.web.resource import Resource
from twisted.web.server import Request, Site
from twisted.web.static import File
from twisted.web.websocket import WebSocketResource

from chatproto.protocol import describe
from chatproto.server import ChatServer
from chatproto.web import WEBSOCKET_PATH
from chatproto.web.member import MemberFactory
from chatproto.web.origins import normal_origin, page_origin

STATIC = Path(__file__).with_name("static")
# The assets served, by suffix; nothing else in the folder is.  Explicit,
# not guessed from the platform's MIME tables: with nosniff, a wrong type
# is a page that does not work.
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
# An HTTP connection idle this long is closed.  (A WebSocket is never idle
# in this sense: Twisted stops the timer while a request is handled, and
# the upgrade's request is handled for as long as the socket lasts.)
HTTP_IDLE_TIMEOUT = 60
# A Host header that can go into a header of ours as it is.
_HOST = re.compile(r"[A-Za-z0-9.\-]+(?::\d{1,5})?|\[[0-9A-Fa-f:.]+\](?::\d{1,5})?")


def security_headers(request: Request) -> None:
    """
    Headers for every answer: scripts only from this server (no inline
    script), the WebSocket only to this server, never in a frame, never
    sniffed, no referrer sent out with the links people post.
    """
    host = request.getHeader("host") or ""
    if _HOST.fullmatch(host):
        scheme = "wss" if request.isSecure() else "ws"
        connect = f"{scheme}://{host}"
    else:
        connect = "'self'"
    request.setHeader(
        "content-security-policy",
        "default-src 'none'; script-src 'self'; style-src 'self'; "
        f"img-src 'self'; connect-src {connect}; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'",
    )
    request.setHeader("x-content-type-options", "nosniff")
    request.setHeader("x-frame-options", "DENY")
    request.setHeader("referrer-policy", "no-referrer")
    request.setHeader("cache-control", "no-cache")


class Asset(File):
    """
    One file of the page: a leaf, never a directory listing.
    """

    contentTypes = CONTENT_TYPES


class OriginCheck(Resource):
    """
    The WebSocket, for pages of this server (and of the origins the
    operator allows) only: another site's page cannot open it from a
    visitor's browser.  A client that sends no C{Origin} is no browser
    (nc-like programs, the benchmark): nobody's page speaks through it.
    """

    isLeaf = True
    log = Logger()

    def __init__(self, socket: Resource, allowed: Iterable[str]) -> None:
        super().__init__()
        self.socket = socket
        self.allowed = frozenset(allowed)

    def render_GET(self, request: Request) -> bytes | int:
        if request.postpath not in ([], [b""]):
            return notFound().render(request)  # type: ignore[no-any-return]
        origin = request.getHeader("origin")
        if origin is not None:
            normal = normal_origin(origin)
            own = page_origin(request.isSecure(), request.getHeader("host"))
            if normal is None or (normal != own and normal not in self.allowed):
                return self._refuse(request, origin)
        return self.socket.render(request)  # type: ignore[no-any-return]

    def _refuse(self, request: Request, origin: str) -> bytes:
        self.log.info(
            "{peer} refused: a page from {origin} opened the WebSocket",
            peer=describe(request.getClientAddress()),
            origin=origin,
        )
        request.setResponseCode(403)
        request.setHeader("content-type", "text/plain; charset=utf-8")
        shown = origin.encode("ascii", "replace")[:200]
        return (
            b"403 Forbidden: this chat server's WebSocket does not take "
            b"connections from pages of " + shown + b". Open the chat page "
            b"this server serves; its operator can allow other origins with "
            b"--web-origin.\n"
        )


class Root(Resource):
    """
    The page at C{/}, its assets next to it, the WebSocket at
    L{WEBSOCKET_PATH}; every answer with L{security_headers}.
    """

    def __init__(self, socket: Resource) -> None:
        super().__init__()
        for path in sorted(STATIC.iterdir()):
            if path.suffix in CONTENT_TYPES and path.is_file():
                self.putChild(path.name.encode(), Asset(str(path)))
        self.putChild(b"", Asset(str(STATIC / "index.html")))
        self.putChild(WEBSOCKET_PATH.encode(), socket)

    def getChildWithDefault(self, path: bytes, request: Request) -> Resource:
        security_headers(request)
        return super().getChildWithDefault(path, request)  # type: ignore[no-any-return]


class WebSite(Site):
    """
    The site (its name is in the log line that says where it listens).
    Requests for the page are logged as a web server's are; the members
    the WebSocket brings are logged by their sessions, like everyone's.
    """

    noisy = False

    def __init__(self, resource: Resource, reactor: Any) -> None:
        super().__init__(resource, timeout=HTTP_IDLE_TIMEOUT, reactor=reactor)


def web_site(server: ChatServer, origins: Iterable[str] = ()) -> WebSite:
    """
    The site for C{server}: its page, and its WebSocket for pages of its
    own origin and of C{origins} (normal forms, see L{normal_origin}).
    """
    socket = OriginCheck(WebSocketResource(MemberFactory(server)), origins)
    return WebSite(Root(socket), server.clock)
