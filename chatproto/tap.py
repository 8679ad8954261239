"""
twistd wiring: C{twistd chatroom --port ...} builds the service here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twisted.application import strports
from twisted.application.service import IService, MultiService, Service
from twisted.internet.defer import Deferred
from twisted.logger import Logger
from twisted.python import usage

from chatproto import __version__
from chatproto.errors import ChatError, Code
from chatproto.factory import ChatFactory
from chatproto.history import DEFAULT_TAIL
from chatproto.keeper import HistoryKeeper
from chatproto.limits import Limits
from chatproto.metrics import NO_METRICS, Metrics
from chatproto.motd import HangupService, Motd, MotdError
from chatproto.names import Registry
from chatproto.rooms import DEFAULT_MAX_ROOMS, ROOM_NAMES, Rooms, room_name
from chatproto.server import ChatServer
from chatproto.store import DURABILITY_BOUND, HistoryDatabaseError, Loaded, load
from chatproto.web.addresses import web_addresses
from chatproto.web.origins import normal_origin

DEFAULT_REPLAY = 50

_DEFAULTS = Limits()
# The kernel caps it at net.core.somaxconn (4096 on current Linux).
DEFAULT_BACKLOG = 1024
_log = Logger()

# (option, what it takes, smallest value, help); the option's Limits field is
# its name with "-" as "_".
_LIMIT_OPTIONS: list[tuple[str, Callable[[str], Any], float, str]] = [
    ("max-line", int, 1, "Longest line a client may send, in bytes."),
    ("rate", float, 0, "Lines a second each member may send; 0 for no limit."),
    ("burst", int, 1, "Lines a member may send at once before --rate applies."),
    (
        "sendq",
        int,
        1024,
        "Bytes held for a member that reads too slowly; past that it is disconnected.",
    ),
    ("max-clients", int, 1, "Connections at once."),
    ("max-per-ip", int, 0, "Connections at once from one address; 0 for no limit."),
    (
        "handshake-timeout",
        float,
        0,
        "Seconds a connection has to choose a nickname; 0 for no limit.",
    ),
]


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
            "(tcp:4000, tcp:4000:interface=127.0.0.1, "
            "ssl:4443:privateKey=key.pem:certKey=cert.pem, "
            "systemd:domain=INET:index=0).",
        ],
        [
            "backlog",
            None,
            DEFAULT_BACKLOG,
            "Connections the kernel may queue before the server accepts them, "
            "for tcp:, tcp6: and ssl: ports that do not set backlog= "
            "themselves (Twisted's default of 50 drops members in a join "
            "storm).",
        ],
        [
            "new-rooms",
            None,
            "yes",
            "Whether joining a room that does not exist makes it (yes or no).",
        ],
        [
            "max-rooms",
            None,
            DEFAULT_MAX_ROOMS,
            "Rooms that may exist at once.",
        ],
        [
            "metrics",
            None,
            None,
            "Serve Prometheus metrics at /metrics on this endpoint, e.g. "
            "tcp:9100:interface=127.0.0.1 (default: off).",
        ],
        [
            "history-db",
            None,
            None,
            "Keep the rooms' history in this SQLite file (created if need be), "
            f"so that a restart loses at most the last {DURABILITY_BOUND:g} s; "
            "without it, history is kept in memory only.",
        ],
    ] + [
        [name, None, getattr(_DEFAULTS, name.replace("-", "_")), help_text]
        for name, _, _, help_text in _LIMIT_OPTIONS
    ]

    def __init__(self) -> None:
        super().__init__()
        self["rooms"] = []
        self["motd"] = None
        self["history-replay"] = DEFAULT_REPLAY
        self["history-keep"] = None
        # What --history-db holds of the named rooms.
        self["history-loaded"] = Loaded()
        self["web"] = None
        self["web-origins"] = []

    def opt_room(self, name: str) -> None:
        """
        A room that always exists; the first is where newcomers land
        (default: lobby). Repeat it to make several.
        """
        self["rooms"].append(room_name(name))

    def opt_port(self, description: str) -> None:
        # A bare number means TCP on all interfaces, as most servers take it.
        self["port"] = f"tcp:{description}" if description.isdigit() else description

    opt_p = opt_port

    def opt_web(self, description: str) -> None:
        """
        Serve the chat page and its WebSocket on this endpoint: a port \
number, tcp:8080, or ssl:8443:privateKey=key.pem:certKey=cert.pem for HTTPS \
(default: off).
        """
        self["web"] = f"tcp:{description}" if description.isdigit() else description

    def opt_web_origin(self, origin: str) -> None:
        """
        Another origin whose pages may open the --web WebSocket, e.g. \
https://chat.example.org behind a proxy (repeatable; default: only the \
page's own).
        """
        normal = normal_origin(origin)
        if normal is None:
            raise usage.UsageError(
                f"--web-origin takes an origin such as https://chat.example.org "
                f"or http://192.168.1.20:8080, not {origin!r}"
            )
        self["web-origins"].append(normal)

    def opt_motd(self, path: str) -> None:
        """
        File of lines sent to newcomers as INFO after WELCOME; SIGHUP re-reads it.
        """
        try:
            self["motd"] = Motd(path)
        except MotdError as error:
            raise usage.UsageError(str(error)) from None

    def opt_history_replay(self, value: str) -> None:
        """
        Recent room lines shown to a newcomer on joining, 0 for none (default 50).
        """
        number = _number("history-replay", int, 0, value)
        if number > DEFAULT_TAIL:
            raise usage.UsageError(f"--history-replay must be at most {DEFAULT_TAIL}")
        self["history-replay"] = number

    def opt_history_keep(self, value: str) -> None:
        """
        Forget room lines older than this many days, e.g. 30 (default: keep).
        """
        try:
            days = float(value)
        except ValueError:
            raise usage.UsageError(
                f"--history-keep takes a number of days, not {value!r}"
            ) from None
        if not days > 0 or days == float("inf"):
            raise usage.UsageError("--history-keep must be a number of days above 0")
        self["history-keep"] = days

    def postOptions(self) -> None:
        self["rooms"] = self["rooms"] or ["lobby"]
        self["room"] = self["rooms"][0]
        _check_room_names(self["rooms"])
        if self["new-rooms"] not in ("yes", "no"):
            raise usage.UsageError(
                f"--new-rooms takes yes or no, not {self['new-rooms']!r}"
            )
        self["max-rooms"] = _number("max-rooms", int, 1, self["max-rooms"])
        if self["max-rooms"] < len(self["rooms"]):
            raise usage.UsageError(
                f"--max-rooms {self['max-rooms']} is fewer than the "
                f"{len(self['rooms'])} rooms given with --room"
            )
        self["limits"] = Limits(
            **{
                name.replace("-", "_"): _number(name, kind, minimum, self[name])
                for name, kind, minimum, _ in _LIMIT_OPTIONS
            }
        )
        self["port"] = with_backlog(
            self["port"], _number("backlog", int, 1, self["backlog"])
        )
        if self["history-db"] is not None:
            # Before the port opens and before any chat: a database that
            # cannot be used stops start-up with one line saying why.
            try:
                self["history-loaded"] = load(
                    self["history-db"],
                    [(ROOM_NAMES.check(name), name) for name in self["rooms"]],
                    DEFAULT_TAIL,
                )
            except HistoryDatabaseError as error:
                raise usage.UsageError(f"--history-db: {error}") from None


def _check_room_names(names: list[str]) -> None:
    rooms: Registry[object] = Registry(
        ROOM_NAMES, Code.ROOM_INVALID, alike="{name} looks too much like {held}"
    )
    for name in names:
        try:
            rooms.claim(name, object())
        except ChatError as error:
            raise usage.UsageError(f"--room {name}: {error.reason}") from None


def with_backlog(description: str, backlog: int) -> str:
    """
    The endpoint C{description} with a listen backlog, if it is a kind that
    takes one and does not name its own.
    """
    kind = description.split(":", 1)[0]
    if kind in ("tcp", "tcp6", "ssl") and "backlog=" not in description:
        return f"{description}:backlog={backlog}"
    return description


def _number(option: str, kind: Callable[[str], Any], minimum: float, value: Any) -> Any:
    what = "a whole number" if kind is int else "a number"
    try:
        number = kind(value)
    except ValueError:
        raise usage.UsageError(f"--{option} takes {what}, not {value!r}") from None
    if number < minimum:
        raise usage.UsageError(f"--{option} must be at least {minimum:g}")
    return number


def _plain(value: float) -> str:
    # 1048576, not :g's 1.04858e+06; 0.5 stays 0.5.
    return str(int(value)) if value == int(value) else f"{value:g}"


class _Banner(Service):
    """
    Says what the server is, where it listens and its limits, once logging
    has started.
    """

    log = Logger()

    def __init__(self, options: Options) -> None:
        self.options = options

    def startService(self) -> None:
        super().startService()
        motd: Motd | None = self.options["motd"]
        given = self.options["limits"]
        limits = ", ".join(
            f"--{name} {_plain(getattr(given, name.replace('-', '_')))}"
            for name, *_ in _LIMIT_OPTIONS
        )
        db = self.options["history-db"]
        keep = self.options["history-keep"]
        history = (
            (f"in {db!r}" if db else "in memory only")
            + f", replay {self.options['history-replay']} on join, "
            + (f"pruned after {keep:g} days" if keep else "not pruned")
        )
        rooms = ", ".join(self.options["rooms"]) + (
            f"; new rooms up to {self.options['max-rooms']}"
            if self.options["new-rooms"] == "yes"
            else "; no new rooms"
        )
        self.log.info(
            "chatproto {version}: rooms {rooms} on {port}; limits: {limits}; "
            "MOTD: {motd}; metrics: {metrics}; history: {history}; web page: {web}",
            version=__version__,
            rooms=rooms,
            port=self.options["port"],
            limits=limits,
            motd=f"{motd.path} ({len(motd.lines())} lines)" if motd else "none",
            metrics=self.options["metrics"] or "off",
            history=history,
            web=", ".join(web_addresses(self.options["web"]))
            if self.options["web"]
            else "off",
        )


def _nothing_to_reload() -> None:
    _log.info("SIGHUP: nothing to reload (no --motd)")


class _Shutdown(Service):
    """
    On stop (SIGTERM), tells every member and closes their connections.
    """

    def __init__(self, server: ChatServer) -> None:
        self.server = server

    def stopService(self) -> Deferred[None]:
        super().stopService()
        return self.server.shut_down()


def _line_protocol(options: Options, server: ChatServer) -> IService | None:
    # strports.service fails start-up when the port cannot be had (for
    # instance, already in use), so twistd exits instead of idling deaf.
    return strports.service(options["port"], ChatFactory(server))


def _web(options: Options, server: ChatServer) -> IService | None:
    if not options["web"]:
        return None
    # Imported only when asked for, like --metrics.
    from chatproto.web.site import web_site

    endpoint = with_backlog(options["web"], int(options["backlog"]))
    return strports.service(endpoint, web_site(server, options["web-origins"]))


# The front ends: each makes the service that listens for its members (or
# None when its options leave it off), over the one shared server.  Adding
# a front end is adding an entry.
FrontEndMaker = Callable[[Options, ChatServer], IService | None]
FRONT_ENDS: list[FrontEndMaker] = [_line_protocol, _web]


def makeService(options: Options, reactor: Any = None) -> IService:
    if reactor is None:
        from twisted.internet import reactor
    motd: Motd | None = options["motd"]
    metrics: Metrics = NO_METRICS
    rooms: list[str] = options["rooms"]
    keeper = HistoryKeeper(
        options["history-loaded"],
        path=options["history-db"],
        keep_days=options["history-keep"],
        reactor=reactor,
        default_room=(ROOM_NAMES.check(rooms[0]), rooms[0]),
    )
    service = MultiService()
    _Banner(options).setServiceParent(service)
    if options["metrics"]:
        # Imported only when asked for: a server without --metrics never
        # loads prometheus_client or twisted.web.
        from chatproto.prometheus import PrometheusMetrics, metrics_site

        metrics = prometheus = PrometheusMetrics()
        strports.service(options["metrics"], metrics_site(prometheus)).setServiceParent(
            service
        )
    server = ChatServer(
        Rooms(
            rooms,
            keeper,
            reactor,
            new_rooms=options["new-rooms"] == "yes",
            max_rooms=options["max-rooms"],
            replay_count=options["history-replay"],
            metrics=metrics,
            # Room events are coalesced until the turn's reads are done.
            schedule=lambda call: reactor.callLater(0, call),
        ),
        options["limits"],
        reactor,
        metrics=metrics,
        motd=motd.lines if motd else tuple,
    )
    HangupService(
        motd.reload if motd else _nothing_to_reload, reactor
    ).setServiceParent(service)
    # Services stop in reverse order: the ports close first, so nobody new
    # arrives while the members are told goodbye; the history is written
    # and its database closed last.  It opens before the ports.
    keeper.setServiceParent(service)
    _Shutdown(server).setServiceParent(service)
    for make in FRONT_ENDS:
        front_end = make(options, server)
        if front_end is not None:
            front_end.setServiceParent(service)
    return service
