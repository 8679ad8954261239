"""
twistd wiring: C{twistd chatroom --port ...} builds the service here.
"""

from __future__ import annotations

from twisted.application import strports
from twisted.application.service import IService, MultiService, Service
from twisted.logger import Logger
from twisted.python import usage

from chatproto import __version__
from chatproto.protocol import DEFAULT_MAX_LINE, ChatFactory
from chatproto.room import Room


class Options(usage.Options):
    synopsis = "[options]"
    longdesc = (
        "Run a chat room that people join over TCP with the chatproto client, "
        "nc, telnet or a socket program of their own. Examples: "
        "'twistd -n chatroom --port 4000' (foreground), "
        "'twistd chatroom --port tcp:4000:interface=127.0.0.1' (daemon)."
    )
    optParameters = [
        [
            "port",
            "p",
            "tcp:4000",
            "Where to listen: a port number or a Twisted endpoint description "
            "(tcp:4000, tcp:4000:interface=127.0.0.1, ssl:..., "
            "systemd:domain=INET:index=0).",
        ],
        ["room", None, "lobby", "Name of the room."],
    ]

    def __init__(self) -> None:
        super().__init__()
        self["max-line"] = DEFAULT_MAX_LINE

    def opt_port(self, description: str) -> None:
        # A bare number means TCP on all interfaces, as most servers take it.
        self["port"] = f"tcp:{description}" if description.isdigit() else description

    opt_p = opt_port

    def opt_max_line(self, value: str) -> None:
        """
        Longest line a client may send, in bytes (default: 2048).
        """
        self["max-line"] = _positive_int("--max-line", value)

    def postOptions(self) -> None:
        if not self["room"].strip():
            raise usage.UsageError("--room must not be empty")


def _positive_int(option: str, value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise usage.UsageError(
            f"{option} takes a whole number, not {value!r}"
        ) from None
    if number < 1:
        raise usage.UsageError(f"{option} must be at least 1")
    return number


class _Banner(Service):
    """
    Says what the server is and where it listens, once logging has started.
    """

    log = Logger()

    def __init__(self, options: Options) -> None:
        self.options = options

    def startService(self) -> None:
        super().startService()
        self.log.info(
            "chatproto {version}: room {room!r} on {port}, max line {max_line} bytes",
            version=__version__,
            room=self.options["room"],
            port=self.options["port"],
            max_line=self.options["max-line"],
        )


def makeService(options: Options) -> IService:
    room = Room(options["room"])
    factory = ChatFactory(room, max_line=options["max-line"])
    service = MultiService()
    _Banner(options).setServiceParent(service)
    # strports.service fails start-up when the port cannot be had (for
    # instance, already in use), so twistd exits instead of idling deaf.
    strports.service(options["port"], factory).setServiceParent(service)
    return service
