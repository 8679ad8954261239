"""``chatproto host``: host a room on this computer and join it, in one process.

The server is the one ``twistd chatroom`` runs, built by ``chatproto.tap``
from the same options (any of its options may be given too), announced on
the local network (``--announce``) unless told not to. The host's terminal
client joins it over loopback like any member. When the host leaves, the
room closes: the members are told, and the server stops as it does on
SIGTERM.
"""

from __future__ import annotations

import argparse
import dataclasses
import errno
import os
import secrets
import shutil
import socket
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from twisted.application.service import IService
from twisted.internet.error import CannotListenError
from twisted.python import usage

from chatproto import tap
from chatproto.discovery.net import host_label, machine_addresses
from chatproto.operators import format_line, hash_password
from chatproto.web.addresses import web_addresses

from .host_ui import HostUI
from .options import DEFAULT_PORT, Config, parse_nick, parse_port
from .terminal import TerminalUI

# How many ports from --port on to try before giving up.
PORT_TRIES = 20

DESCRIPTION = """\
Host a chat room on this computer and join it. Others on the local network
join with a plain `chatproto`, which finds the room by itself (multicast DNS,
as _chatproto._tcp), or with the address this command prints.

When you leave (/quit, Ctrl-D or Ctrl-C), the room closes for everyone;
if people are still in it, you are asked first.
"""

EPILOG = """\
examples:
  chatproto host --nick teacher
      host the room 'lobby' on port 4000 (or the next free one) and join it
  chatproto host --room physics --nick teacher --history-db physics.db
      any option of `twistd chatroom` works too (see twistd chatroom --help)
  chatproto host --nick teacher --web tcp:8080
      with a chat page for browsers too, at the address it prints
"""


@dataclass(frozen=True)
class HostConfig:
    room: str = "lobby"
    nick: str | None = None
    port: int = DEFAULT_PORT
    announce: bool = True
    server_options: list[str] = field(default_factory=list)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="chatproto host",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
    )
    parser.add_argument(
        "--room",
        default="lobby",
        metavar="ROOM",
        help="name of the room (default: lobby); example: --room physics",
    )
    parser.add_argument(
        "--nick",
        type=parse_nick,
        metavar="NICK",
        help="your nickname in the room; asked for if left out; "
        "example: --nick teacher",
    )
    parser.add_argument(
        "--port",
        type=parse_port,
        default=DEFAULT_PORT,
        metavar="PORT",
        help=f"TCP port to listen on (default: {DEFAULT_PORT}); if it is taken, "
        f"the next free one of the {PORT_TRIES} after it is used, and said; "
        "example: --port 5000",
    )
    parser.add_argument(
        "--no-announce",
        dest="announce",
        action="store_false",
        help="do not announce the room on the local network; others then "
        "need the address and port; example: --no-announce",
    )
    return parser


def parse_args(argv: list[str]) -> HostConfig:
    """Our options; the others are left for ``twistd chatroom``'s Options."""
    ns, rest = build_parser().parse_known_args(argv)
    return HostConfig(ns.room, ns.nick, ns.port, ns.announce, rest)


def port_is_free(port: int, interface: str = "") -> bool:
    """Whether a listening socket could have the port now (as Twisted binds:
    with SO_REUSEADDR, so a port in TIME_WAIT counts as free)."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((interface, port))
    except OSError as e:
        if e.errno in (errno.EADDRINUSE, errno.EACCES):
            return False
        raise
    finally:
        probe.close()
    return True


def first_free_port(
    first: int, tries: int = PORT_TRIES, interface: str = ""
) -> int | None:
    """The first port from ``first`` on that is free, of ``tries``."""
    for port in range(first, min(first + tries, 65536)):
        if port_is_free(port, interface):
            return port
    return None


def server_name(nick: str | None) -> str:
    return f"{nick} on {host_label()}" if nick else host_label()


# The operator name of a host that did not give --nick.
HOST_OPERATOR = "host"


@dataclass
class HostOperator:
    """The host's own operator login on its server: a random password, whose
    hash is in an operators file of its own (mode 0600, in a private
    temporary directory that ``remove`` deletes)."""

    name: str
    password: str = field(repr=False)
    directory: str
    path: str

    @classmethod
    def create(cls, nick: str | None, others: str | None = None) -> HostOperator:
        """Write the file; ``others`` is an operators file given with
        ``--operators``, whose operators are kept."""
        name = nick or HOST_OPERATOR
        password = secrets.token_urlsafe(24)
        lines = []
        if others is not None:
            with open(others, encoding="utf-8") as given:
                lines.append(given.read().rstrip("\n"))
        lines.append(format_line(name, hash_password(password)))
        directory = tempfile.mkdtemp(prefix="chatproto-host-")  # mode 0700
        path = os.path.join(directory, "operators")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write("\n".join(lines) + "\n")
        return cls(name, password, directory, path)

    def remove(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


def given_operators(options: list[str]) -> tuple[str | None, list[str]]:
    """An ``--operators FILE`` among the server's options, and the others."""
    found, rest = None, []
    words = iter(options)
    for word in words:
        if word == "--operators":
            found = next(words, None)
        elif word.startswith("--operators="):
            found = word.split("=", 1)[1]
        else:
            rest.append(word)
    return found, rest


def server_options(
    config: HostConfig, port: int, operators: str | None = None
) -> tap.Options:
    """``twistd chatroom``'s Options for this room; ours come last and win."""
    options = tap.Options()
    options.parseOptions(
        ["--server-name", server_name(config.nick)]
        + config.server_options
        + ["--room", config.room, "--port", f"tcp:{port}"]
        + (["--announce"] if config.announce else [])
        + (["--operators", operators] if operators is not None else [])
    )
    return options


def where_to_join(
    port: int,
    announced: str | None,
    addresses: list[str],
    pages: Sequence[str] = (),
) -> list[str]:
    """What to tell the host, once, so that others can join (C{pages}: the
    chat page's addresses, with C{--web})."""
    lines = []
    if announced is not None:
        lines.append(
            f"announced on the local network as {announced!r}: others join "
            "with a plain `chatproto`"
        )
    if addresses:
        first, *more = addresses
        also = f" (or --host {', '.join(more)})" if more else ""
        lines.append(
            f"{'or' if announced else 'others join'} with: "
            f"chatproto --host {first} --port {port}{also}"
        )
    else:
        lines.append(
            "this computer has no network address but loopback: only people "
            f"on it can join (chatproto --port {port})"
        )
    if pages:
        lines.append(f"or in a browser: {', '.join(pages)}")
    return lines


def _error(text: str, status: int = 2) -> int:
    sys.stderr.write(f"chatproto host: {text}\n")
    return status


def main(argv: list[str]) -> int:
    """``chatproto host ...``; return the exit status."""
    try:
        config = parse_args(argv)
    except SystemExit as e:  # --help (0) or a usage error (2)
        return e.code if isinstance(e.code, int) else 2
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        return _error(
            "it needs a terminal; to run a room without one, use "
            "`twistd -n chatroom --announce`"
        )
    port = first_free_port(config.port)
    if port is None:
        last = min(config.port + PORT_TRIES, 65536) - 1
        return _error(
            f"ports {config.port} to {last} are all taken; choose another with --port",
            1,
        )
    others, rest = given_operators(config.server_options)
    try:
        operator = HostOperator.create(config.nick, others)
    except (OSError, UnicodeDecodeError) as e:
        return _error(f"cannot read the --operators file {others!r}: {e}")
    try:
        config = dataclasses.replace(config, server_options=rest)
        try:
            options = server_options(config, port, operator.path)
        except usage.UsageError as e:
            return _error(str(e))
        from twisted.internet import reactor

        server = tap.makeService(options)
        try:
            # Now, as twistd does: the port is ours before anyone is told of it.
            server.privilegedStartService()
        except CannotListenError as e:  # taken since we looked
            return _error(f"cannot listen on port {port}: {e.socketError}", 1)
        pages = web_addresses(options["web"]) if options["web"] else []
        return run(reactor, config, server, port, operator, pages)
    finally:
        operator.remove()


def run(
    reactor: Any,
    config: HostConfig,
    server: IService,
    port: int,
    operator: HostOperator | None = None,
    pages: Sequence[str] = (),
) -> int:
    from . import terminal

    # The server starts once the reactor runs (after it has set up its signal
    # handlers, as under twistd) and stops as the reactor does: after the
    # host has left, or on SIGTERM.
    reactor.callWhenRunning(server.startService)
    reactor.addSystemEventTrigger("before", "shutdown", server.stopService)
    moved = f" (port {config.port} is taken)" if port != config.port else ""
    member = Config(
        host="127.0.0.1",
        port=port,
        nick=config.nick,
        reconnect=False,
        oper=None if operator is None else operator.name,
        oper_password=None if operator is None else operator.password,
    )

    def started(ui: TerminalUI) -> None:
        ui.notice(f"hosting the room {config.room!r} on port {port}{moved}")
        if not config.announce:
            _tell(ui, port, None, pages)
            return
        announcer: Any = server.getServiceNamed("announcer")  # type: ignore[attr-defined]
        ui.notice("announcing it on the local network...")

        def announced(name: str | None) -> None:
            if name is None:
                ui.warn(f"not announced on the local network: {announcer.problem}")
            elif announcer.problem:
                ui.warn(f"multicast DNS reported a problem: {announcer.problem}")
            # The name people see in the list, not the unique instance name.
            _tell(ui, port, None if name is None else announcer.server_name, pages)

        announcer.announced.addCallback(announced)

    return terminal.run(reactor, member, HostUI, started)


def _tell(
    ui: TerminalUI, port: int, announced: str | None, pages: Sequence[str]
) -> None:
    for line in where_to_join(port, announced, machine_addresses(), pages):
        ui.notice(line)
