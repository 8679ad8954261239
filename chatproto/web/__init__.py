"""
The web front end: C{--web ENDPOINT} serves a chat page and its assets from
this package, and a WebSocket (at L{WEBSOCKET_PATH}) over which browsers
speak the line protocol.

L{chatproto.web.member} is the WebSocket front end, a thin adapter over
L{chatproto.session.MemberSession}; L{chatproto.web.site} serves the page,
its security headers and the Origin check; L{chatproto.web.origins} and
L{chatproto.web.addresses} are what C{tap.py} needs without loading
C{twisted.web}.
"""

# Where the page's WebSocket is, relative to the page.
WEBSOCKET_PATH = "ws"
