"""Finding a server when no address is given: the chooser and ``--list``.

Browsing blocks for a moment (``--browse`` seconds, zeroconf listening in a
thread of its own); it happens before the reactor starts, with the terminal
still in its normal mode, so the chooser can simply ask with ``input``.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable
from typing import TextIO

from chatproto.discovery import (
    PROTOCOL_VERSION,
    DiscoveryConfigError,
    FoundServer,
    browse,
    configured_interfaces,
)

from .options import Config
from .render import clean

SOME_ROOMS = 3  # rooms shown per server in the chooser


def look(config: Config, err: TextIO) -> list[FoundServer] | None:
    """The servers this client could join; None (after one line on ``err``)
    when multicast DNS cannot be used here."""
    try:
        found = browse(config.browse, configured_interfaces())
    except DiscoveryConfigError as e:
        err.write(f"chatproto: {e}\n")
        return None
    except Exception as e:  # no multicast, no interface, a firewall...
        err.write(
            f"chatproto: cannot look for servers on the local network ({_why(e)})\n"
        )
        return None
    if found.problem:
        err.write(f"chatproto: multicast DNS reported a problem: {found.problem}\n")
    # Never a downgrade: with --tls, only servers that speak TLS.
    return [
        server
        for server in found.servers
        if server.protocol == PROTOCOL_VERSION and (server.tls or not config.tls)
    ]


def _why(e: Exception) -> str:
    if isinstance(e, OSError) and e.strerror:
        return e.strerror
    text = str(e).strip().splitlines()[0] if str(e).strip() else ""
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


def rooms_summary(server: FoundServer, most: int = SOME_ROOMS) -> str:
    shown = [f"{room.name} ({room.people})" for room in server.rooms[:most]]
    hidden = server.room_count - len(shown)
    if hidden > 0:
        shown.append(f"{hidden} more")
    return ", ".join(shown) or "no rooms"


def people(count: int) -> str:
    return "1 person" if count == 1 else f"{count} people"


def table(servers: list[FoundServer]) -> list[str]:
    """The numbered rows of the chooser, aligned."""
    rows = [
        (
            f"{number}.",
            clean(server.name),
            server.where(),
            clean(rooms_summary(server)),
            people(server.people) + ("  TLS" if server.tls else ""),
        )
        for number, server in enumerate(servers, 1)
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False))
        + "  "
        + row[4]
        for row in rows
    ]


def joined_config(config: Config, server: FoundServer) -> Config:
    return dataclasses.replace(
        config, host=server.address, port=server.port, tls=server.tls
    )


def choose(
    config: Config,
    interactive: bool,
    out: TextIO | None = None,
    err: TextIO | None = None,
    ask: Callable[[str], str] = input,
) -> Config | int:
    """The server to join: the Config to connect with, or an exit status.

    Messages go to ``out`` (the terminal) interactively and to ``err`` in
    pipe mode, whose standard output is the conversation.
    """
    err = err or sys.stderr
    say_to = (out or sys.stdout) if interactive else err
    found = look(config, err)
    servers = found or []

    def say(text: str) -> None:
        say_to.write(("" if interactive else "chatproto: ") + text + "\n")
        say_to.flush()

    if not servers:
        if found is not None:
            say("no chat server answered on the local network")
        say(f"trying this computer ({config.host}:{config.port})")
        return config
    if len(servers) == 1:
        server = servers[0]
        say(
            f"found one chat server on the local network: {clean(server.name)} "
            f"at {server.where()} ({rooms_summary(server)}); joining it"
        )
        return joined_config(config, server)
    if not interactive:
        say(
            f"{len(servers)} chat servers answered on the local network; "
            "choose one with --host and --port:"
        )
        for row in table(servers):
            say("  " + row)
        return 2
    say(f"{len(servers)} chat servers answered on the local network:")
    for row in table(servers):
        say("  " + row)
    return _ask_number(config, servers, say, ask)


def _ask_number(
    config: Config,
    servers: list[FoundServer],
    say: Callable[[str], None],
    ask: Callable[[str], str],
) -> Config | int:
    question = f"Join which one? Type its number (1-{len(servers)}), or q to quit: "
    while True:
        try:
            answer = ask(question).strip()
        except EOFError:
            say("")
            return 0
        except KeyboardInterrupt:
            say("")
            return 130
        if answer.lower() in ("q", "quit"):
            return 0
        if answer.isdigit() and 1 <= int(answer) <= len(servers):
            server = servers[int(answer) - 1]
            say(f"joining {clean(server.name)} at {server.where()}")
            return joined_config(config, server)
        say(f"{answer!r} is not one of the numbers 1 to {len(servers)}")


def list_row(server: FoundServer) -> str:
    """One line of ``--list``: tab-separated, fixed columns first."""
    cells = [
        clean(server.name),
        ",".join(server.addresses),
        str(server.port),
        "tls" if server.tls else "plain",
        str(server.people),
        *(f"{clean(room.name)}={room.people}" for room in server.rooms),
    ]
    return "\t".join(cell.replace("\t", " ") for cell in cells)


def list_servers(config: Config, out: TextIO | None = None) -> int:
    """``chatproto --list``: print the servers found; 0 if any, else 1."""
    out = out or sys.stdout
    servers = look(config, sys.stderr)
    if not servers:
        sys.stderr.write("chatproto: no chat server answered on the local network\n")
        return 1
    for server in servers:
        out.write(list_row(server) + "\n")
    out.flush()
    return 0
