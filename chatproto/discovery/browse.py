"""
Looking for chatproto servers on the local network, for a moment.

L{browse} blocks its caller for that moment (zeroconf's own thread does the
listening), so call it before the reactor runs, as the client does, or from
a worker thread (C{deferToThread}), never from the reactor thread.
"""

from __future__ import annotations

import ipaddress
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from . import net, record
from .quiet import quiet_zeroconf, zeroconf_problems

# How long to listen for answers by default: a responder answers a query
# within about 0.5 s (RFC 6762 6, plus zeroconf's aggregation delay).
BROWSE_SECONDS = 1.5
# For a server seen without its full details, how long to ask for them.
_DETAILS_MS = 500


@dataclass(frozen=True)
class FoundServer:
    """A server that answered, as its announcement describes it."""

    instance: str
    name: str
    addresses: tuple[str, ...]  # the best one to try first
    port: int
    rooms: tuple[record.RoomCount, ...]
    room_count: int
    people: int
    tls: bool
    protocol: str

    @property
    def address(self) -> str:
        return self.addresses[0]

    def where(self) -> str:
        return f"{self.address}:{self.port}"


@dataclass(frozen=True)
class Browsed:
    """What a browse found, and the first problem multicast DNS reported."""

    servers: list[FoundServer]
    problem: str | None = None


class _Names:
    """The instance names seen so far; zeroconf calls it from its thread."""

    def __init__(self) -> None:
        self._names: set[str] = set()
        self._guard = threading.Lock()

    def add_service(self, zc: Any, type_: str, name: str) -> None:
        with self._guard:
            self._names.add(name)

    update_service = add_service

    def remove_service(self, zc: Any, type_: str, name: str) -> None:
        with self._guard:
            self._names.discard(name)

    def current(self) -> list[str]:
        with self._guard:
            return sorted(self._names)


def found_server(
    instance: str,
    port: int | None,
    addresses: Sequence[str],
    properties: dict[bytes, bytes | None],
    networks: Sequence[ipaddress.IPv4Network],
) -> FoundServer | None:
    """A L{FoundServer} from the records of one service, if it is usable."""
    usable = []
    for address in addresses:
        try:
            ipaddress.IPv4Address(address)
        except ValueError:
            continue
        if address not in usable:
            usable.append(address)
    if not usable or not port:
        return None
    short = instance.removesuffix("." + record.SERVICE_TYPE)
    announced = record.from_txt(properties, fallback=short)
    return FoundServer(
        instance=record.clean(short),
        name=announced.name,
        addresses=tuple(net.best_first(usable, networks)),
        port=port,
        rooms=announced.rooms,
        room_count=announced.room_count,
        people=announced.people,
        tls=announced.tls,
        protocol=announced.protocol,
    )


def browse(
    seconds: float = BROWSE_SECONDS,
    interfaces: list[str] | None = None,
) -> Browsed:
    """
    Listen for C{_chatproto._tcp} services for C{seconds}; return those still
    there at the end, sorted by name.  Blocks.

    @raise Exception: when multicast DNS cannot start at all (no interface,
        no multicast); the caller says so in one line.
    """
    from zeroconf import (
        InterfaceChoice,
        IPVersion,
        ServiceBrowser,
        ServiceInfo,
        Zeroconf,
    )

    quiet_zeroconf()
    zeroconf_problems.take()
    zeroconf = Zeroconf(
        interfaces=interfaces or InterfaceChoice.All, ip_version=IPVersion.V4Only
    )
    try:
        names = _Names()
        browser = ServiceBrowser(zeroconf, record.SERVICE_TYPE, names)
        try:
            time.sleep(seconds)
        finally:
            browser.cancel()
        networks = net.local_networks()
        servers = []
        for name in names.current():
            info = ServiceInfo(record.SERVICE_TYPE, name)
            if not info.load_from_cache(zeroconf) and not info.request(
                zeroconf, _DETAILS_MS
            ):
                continue
            server = found_server(
                name,
                info.port,
                info.parsed_addresses(IPVersion.V4Only),
                info.properties,
                networks,
            )
            if server is not None:
                servers.append(server)
    finally:
        zeroconf.close()
    servers.sort(key=lambda s: (s.name.casefold(), s.addresses, s.port))
    return Browsed(servers, zeroconf_problems.take())
