"""
twistd wiring: C{twistd chatroom --port ...} builds the service here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twisted.application.service import IService, MultiService, Service
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IProtocolFactory
from twisted.logger import Logger
from twisted.python import usage

from chatproto import __version__, descriptors
from chatproto.errors import ChatError, Code
from chatproto.factory import ChatFactory
from chatproto.history import DEFAULT_TAIL
from chatproto.keeper import HistoryKeeper
from chatproto.limits import Limits
from chatproto.logs import counted
from chatproto.metrics import NO_METRICS, Metrics
from chatproto.motd import HangupService, Motd, MotdError
from chatproto.names import Registry
from chatproto.operators import OperatorChecker, Operators, OperatorsFileError
from chatproto.rooms import DEFAULT_MAX_ROOMS, ROOM_NAMES, Rooms, room_name
from chatproto.server import ChatServer
from chatproto.startup import (
    Listening,
    OneLineErrors,
    check_endpoint,
    number,
    plain,
)
from chatproto.store import DURABILITY_BOUND, HistoryDatabaseError, Loaded, load
from chatproto.web.addresses import web_addresses
from chatproto.web.origins import normal_origin

DEFAULT_REPLAY = 50

_DEFAULTS = Limits()
# The kernel caps it at net.core.somaxconn (4096 on current Linux).
DEFAULT_BACKLOG = 1024
_log = Logger()

# (option, what it takes, smallest and largest value, help); the option's
# Limits field is its name with "-" as "_".
_LIMIT_OPTIONS: list[tuple[str, Callable[[str], Any], float, float, str]] = [
    ("max-line", int, 1, 1 << 20, "Longest line a client may send, in bytes."),
    ("rate", float, 0, 1e6, "Lines a second each member may send; 0 for no limit."),
    ("burst", int, 1, 1e6, "Lines a member may send at once before --rate applies."),
    (
        "sendq",
        int,
        1024,
        1 << 30,
        "Bytes held for a member that reads too slowly; past that it is disconnected.",
    ),
    ("max-clients", int, 1, 1e6, "Connections at once."),
    (
        "max-per-ip",
        int,
        0,
        1e6,
        "Connections at once from one address; 0 for no limit.",
    ),
    (
        "handshake-timeout",
        float,
        0,
        86400,
        "Seconds a connection has to choose a nickname; 0 for no limit.",
    ),
]
MAX_BACKLOG = 65535
MAX_KEEP_DAYS = 36500


class Options(OneLineErrors):
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
            "storm). From 1 to 65535.",
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
            "room-owners",
            None,
            "yes",
            "Whether the member who makes a room may moderate it (yes or no); "
            "operators may moderate every room.",
        ],
        [
            "server-name",
            None,
            None,
            "The server's name on the local network, with --announce "
            "(default: this machine's name).",
        ],
        [
            "metrics",
            None,
            None,
            "Serve Prometheus metrics at /metrics on this endpoint, e.g. "
            "tcp:4014:interface=127.0.0.1 (default: off).",
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
        [
            name,
            None,
            getattr(_DEFAULTS, name.replace("-", "_")),
            f"{help_text} From {plain(minimum)} to {plain(maximum)}.",
        ]
        for name, _, minimum, maximum, help_text in _LIMIT_OPTIONS
    ]
    optFlags = [
        [
            "announce",
            None,
            "Announce the server on the local network (DNS-SD over multicast "
            "DNS, as _chatproto._tcp), so that 'chatproto' finds it without "
            "an address (default: off).",
        ],
    ]
    # Checked for being free before twistd forks (startup.OneLineErrors).
    endpoint_options = ("port", "metrics", "web")

    def __init__(self) -> None:
        super().__init__()
        self["rooms"] = []
        self["motd"] = None
        self["operators"] = None
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
            raise usage.UsageError(f"--motd: {error}") from None

    def opt_operators(self, path: str) -> None:
        """
        File of operators (one 'NAME HASH' line each; make a line with
        'python -m chatproto.operators NAME'); SIGHUP re-reads it.
        """
        try:
            self["operators"] = Operators(path)
        except OperatorsFileError as error:
            raise usage.UsageError(f"--operators: {error}") from None

    def opt_history_replay(self, value: str) -> None:
        """
        Recent room lines a newcomer is shown on joining: 0 to 10000 (default 50).
        """
        self["history-replay"] = number("history-replay", int, 0, DEFAULT_TAIL, value)

    def opt_history_keep(self, value: str) -> None:
        """
        Forget room lines older than this many days (up to 36500); default: keep.
        """
        days = number("history-keep", float, 0, MAX_KEEP_DAYS, value)
        if not days:
            raise usage.UsageError("--history-keep must be a number of days above 0")
        self["history-keep"] = days

    def postOptions(self) -> None:
        self["rooms"] = self["rooms"] or ["lobby"]
        self["room"] = self["rooms"][0]
        _check_room_names(self["rooms"])
        for option in ("new-rooms", "room-owners"):
            if self[option] not in ("yes", "no"):
                raise usage.UsageError(
                    f"--{option} takes yes or no, not {self[option]!r}"
                )
        self["max-rooms"] = number("max-rooms", int, 1, 100_000, self["max-rooms"])
        if self["max-rooms"] < len(self["rooms"]):
            raise usage.UsageError(
                f"--max-rooms {self['max-rooms']} is fewer than the "
                f"{len(self['rooms'])} rooms given with --room"
            )
        self["limits"] = Limits(
            **{
                name.replace("-", "_"): number(name, kind, minimum, maximum, self[name])
                for name, kind, minimum, maximum, _ in _LIMIT_OPTIONS
            }
        )
        # --max-clients within what the file descriptors can serve.
        self["limits"], self["descriptors"] = descriptors.fit(
            self["limits"], descriptors.raise_limit()
        )
        check_endpoint("port", self["port"])
        for option in ("metrics", "web"):
            if self[option]:
                check_endpoint(option, self[option])
        backlog = number("backlog", int, 1, MAX_BACKLOG, self["backlog"])
        self["port"] = with_backlog(self["port"], backlog)
        if self["web"]:
            self["web"] = with_backlog(self["web"], backlog)
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


class _Banner(Service):
    """
    Says what the server is, where it listens and its limits, once logging
    has started.
    """

    log = Logger()

    def __init__(self, options: Options, listening: dict[str, Listening]) -> None:
        self.options = options
        # The ports, by option: ready when the banner starts, since twistd
        # listens (privilegedStartService) before it starts services.
        self.listening = listening

    def _where(self, option: str) -> str:
        description = self.options[option]
        if option not in self.listening:
            return description
        where = self.listening[option].where()
        return where if where == description else f"{where} ({description})"

    def startService(self) -> None:
        super().startService()
        motd: Motd | None = self.options["motd"]
        given = self.options["limits"]
        limits = ", ".join(
            f"--{name} {plain(getattr(given, name.replace('-', '_')))}"
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
        operators: Operators | None = self.options["operators"]
        moderation = (
            f"{len(operators)} operators from {operators.path}"
            if operators is not None
            else "no operators"
        ) + (", room owners moderate" if self.options["room-owners"] == "yes" else "")
        self.log.info(
            "chatproto {version}: rooms {rooms} on {port}; limits: {limits}; "
            "file descriptors: {descriptors}; MOTD: {motd}; metrics: {metrics}; "
            "history: {history}; moderation: {moderation}; web page: {web}",
            version=__version__,
            rooms=rooms,
            moderation=moderation,
            port=self._where("port"),
            limits=limits,
            descriptors=self.options["descriptors"],
            motd=f"{motd.path} ({counted(len(motd.lines()), 'line')})"
            if motd
            else "none",
            metrics=self._where("metrics") if self.options["metrics"] else "off",
            history=history,
            web=", ".join(web_addresses(self.options["web"]))
            if self.options["web"]
            else "off",
        )


def _reloader(options: Options) -> Callable[[], None]:
    """
    What SIGHUP re-reads: the message of the day and the operators file.
    """
    motd: Motd | None = options["motd"]
    operators: Operators | None = options["operators"]

    def reload() -> None:
        if motd is None and operators is None:
            _log.info("SIGHUP: nothing to reload (no --motd, no --operators)")
        if motd is not None:
            motd.reload()
        if operators is not None:
            operators.reload()

    return reload


class _Shutdown(Service):
    """
    On stop (SIGTERM), tells every member and closes their connections.
    """

    def __init__(self, server: ChatServer) -> None:
        self.server = server

    def stopService(self) -> Deferred[None]:
        super().stopService()
        return self.server.shut_down()


def _line_protocol(options: Options, server: ChatServer) -> IProtocolFactory | None:
    return ChatFactory(server)


def _web(options: Options, server: ChatServer) -> IProtocolFactory | None:
    if not options["web"]:
        return None
    # Imported only when asked for, like --metrics.
    from chatproto.web.site import web_site

    return web_site(server, options["web-origins"])


# The front ends, each with the option that says where it listens: each
# makes the protocol factory for its members, over the one shared server
# (or None when its options leave it off).  Adding a front end is adding an
# entry, and its option to Options.endpoint_options.
FrontEndMaker = Callable[[Options, ChatServer], IProtocolFactory | None]
FRONT_ENDS: list[tuple[str, FrontEndMaker]] = [
    ("port", _line_protocol),
    ("web", _web),
]


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
    listening: dict[str, Listening] = {}
    _Banner(options, listening).setServiceParent(service)
    if options["metrics"]:
        # Imported only when asked for: a server without --metrics never
        # loads prometheus_client or twisted.web.
        from chatproto.prometheus import PrometheusMetrics, metrics_site

        metrics = prometheus = PrometheusMetrics()
        listening["metrics"] = Listening(
            "metrics", options["metrics"], metrics_site(prometheus), reactor=reactor
        )
        listening["metrics"].setServiceParent(service)
    operators: Operators | None = options["operators"]
    checker = None
    if operators is not None:
        # Password checks run on a thread of their own, with the server.
        checker = OperatorChecker(operators, reactor)
        checker.setServiceParent(service)
    server = ChatServer(
        Rooms(
            rooms,
            keeper,
            reactor,
            new_rooms=options["new-rooms"] == "yes",
            owners_moderate=options["room-owners"] == "yes",
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
        operators=operators,
        checker=checker,
    )
    HangupService(_reloader(options), reactor).setServiceParent(service)
    # Services stop in reverse order: the ports close first, so nobody new
    # arrives while the members are told goodbye; the history is written
    # and its database closed last.  It opens before the ports.
    keeper.setServiceParent(service)
    _Shutdown(server).setServiceParent(service)
    for option, make in FRONT_ENDS:
        factory = make(options, server)
        if factory is not None:
            # Listening fails start-up when the port cannot be had (for
            # instance, taken since the options were checked), so twistd
            # exits instead of idling deaf.
            listening[option] = Listening(
                option, options[option], factory, reactor=reactor
            )
            listening[option].setServiceParent(service)
    if options["announce"]:
        # Imported only when asked for, like the metrics.  Added after the
        # ports: it stops first, so the network hears the server go before
        # its members do.
        from chatproto.discovery import Announcer, listening_address
        from chatproto.discovery.net import host_label

        Announcer(
            options["server-name"] or host_label(),
            listening_address(listening["port"]),
            lambda: [(room.name, len(room)) for room in server.rooms],
            tls=options["port"].startswith("ssl:"),
            reactor=reactor,
        ).setServiceParent(service)
    return service
