"""
Which addresses multicast DNS uses and which ones a server announces.

IPv4 only: C{twistd chatroom --port 4000} listens on IPv4, and IPv6
link-local addresses would need scope ids that a classroom's terminals
cannot type anyway.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Iterable, Sequence

import ifaddr

# Limits multicast DNS, for announcing and browsing, to these IPv4
# addresses (comma-separated); the tests use 127.0.0.1.
INTERFACES_VARIABLE = "CHATPROTO_MDNS_INTERFACES"


class DiscoveryConfigError(ValueError):
    """A setting for discovery that cannot be used."""


def configured_interfaces(
    environ: dict[str, str] | os._Environ[str] = os.environ,
) -> list[str] | None:
    """
    The IPv4 addresses named in C{CHATPROTO_MDNS_INTERFACES}, or C{None}
    (every interface) when it is unset or empty.

    @raise DiscoveryConfigError: if it names something else.
    """
    value = environ.get(INTERFACES_VARIABLE, "").strip()
    if not value:
        return None
    addresses = [part.strip() for part in value.split(",") if part.strip()]
    for address in addresses:
        try:
            ipaddress.IPv4Address(address)
        except ValueError:
            raise DiscoveryConfigError(
                f"{INTERFACES_VARIABLE}: {address!r} is not an IPv4 address"
            ) from None
    return addresses


def machine_addresses(
    adapters: Iterable[ifaddr.Adapter] | None = None,
) -> list[str]:
    """Every IPv4 address of this machine but loopback ones, in adapter order."""
    if adapters is None:
        adapters = ifaddr.get_adapters()
    found: list[str] = []
    for adapter in adapters:
        for ip in adapter.ips:
            if not isinstance(ip.ip, str):
                continue  # IPv6: a (address, flowinfo, scope) tuple
            address = ipaddress.IPv4Address(ip.ip)
            if not address.is_loopback and ip.ip not in found:
                found.append(ip.ip)
    return found


def local_networks(
    adapters: Iterable[ifaddr.Adapter] | None = None,
) -> list[ipaddress.IPv4Network]:
    """The IPv4 networks this machine is on, loopback included."""
    if adapters is None:
        adapters = ifaddr.get_adapters()
    return [
        ipaddress.IPv4Network(f"{ip.ip}/{ip.network_prefix}", strict=False)
        for adapter in adapters
        for ip in adapter.ips
        if isinstance(ip.ip, str)
    ]


def best_first(
    addresses: Sequence[str], networks: Sequence[ipaddress.IPv4Network]
) -> list[str]:
    """
    C{addresses} with those on a network this machine is on first (a server
    with a Docker bridge also announces that bridge's address, which another
    machine cannot reach), keeping their order otherwise.
    """

    def near(address: str) -> bool:
        ip = ipaddress.IPv4Address(address)
        return any(ip in network for network in networks)

    return sorted(addresses, key=lambda address: not near(address))


def listening_plan(
    listening_host: str, configured: list[str] | None
) -> tuple[list[str] | None, list[str]]:
    """
    Where a server listening on C{listening_host} announces itself: the
    interfaces for multicast DNS (C{None}: all) and the addresses in its
    records.

    A server listening on one address is announced on that address only;
    one listening on all of them, on every address of the machine (or those
    of C{CHATPROTO_MDNS_INTERFACES}).

    @raise DiscoveryConfigError: for a server on one IPv6 address.
    """
    if listening_host not in ("", "0.0.0.0", "::"):
        try:
            ipaddress.IPv4Address(listening_host)
        except ValueError:
            raise DiscoveryConfigError(
                f"the server listens on {listening_host} only, and only IPv4 "
                "addresses are announced"
            ) from None
        return [listening_host], [listening_host]
    if configured is not None:
        return configured, configured
    return None, machine_addresses() or ["127.0.0.1"]


def host_label() -> str:
    """This machine's name, without its domain."""
    return socket.gethostname().split(".")[0] or "localhost"
