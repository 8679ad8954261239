"""
The blocking side of announcing: what is registered, and python-zeroconf
doing it.  Every method here runs in a worker thread (see L{announce}).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from . import net, record
from .quiet import quiet_zeroconf, zeroconf_problems

# Room for zeroconf's "-2" when another server on the network has the name.
MAX_INSTANCE_BYTES = record.MAX_NAME_BYTES - 4


@dataclass(frozen=True)
class Registration:
    """Everything the publisher needs to register the service."""

    instance: str
    port: int
    addresses: list[str]
    interfaces: list[str] | None
    txt: dict[str, str]


class Publisher(Protocol):
    """The blocking side; every method runs in a worker thread."""

    def start(self, registration: Registration) -> tuple[str, str | None]:
        """
        Register; return the instance name the network accepted, and a
        problem multicast DNS reported meanwhile (on one interface of
        several, say), if any.
        """

    def update(self, txt: dict[str, str]) -> None:
        """Replace the TXT record."""

    def stop(self) -> None:
        """Unregister (others see the server go), then release everything."""


class ZeroconfPublisher:
    """L{Publisher} with python-zeroconf."""

    def __init__(self) -> None:
        self._zeroconf: Any = None
        self._info: Any = None

    def start(self, registration: Registration) -> tuple[str, str | None]:
        from zeroconf import InterfaceChoice, IPVersion, ServiceInfo, Zeroconf

        quiet_zeroconf()
        zeroconf_problems.take()
        zeroconf = Zeroconf(
            interfaces=registration.interfaces or InterfaceChoice.All,
            ip_version=IPVersion.V4Only,
        )
        try:
            info = ServiceInfo(
                record.SERVICE_TYPE,
                f"{registration.instance}.{record.SERVICE_TYPE}",
                port=registration.port,
                properties=registration.txt,
                parsed_addresses=registration.addresses,
                # Our own host name, not the machine's: an Avahi daemon owns
                # that one, with its own set of addresses.
                server=f"chatproto-{registration.port}-{net.host_label()}.local.",
            )
            zeroconf.register_service(info, allow_name_change=True)
        except BaseException:
            zeroconf.close()
            raise
        self._zeroconf, self._info = zeroconf, info
        name = str(info.name)[: -len(record.SERVICE_TYPE) - 1]
        return name, zeroconf_problems.take()

    def update(self, txt: dict[str, str]) -> None:
        from zeroconf import ServiceInfo

        old = self._info
        info = ServiceInfo(
            old.type,
            old.name,
            port=old.port,
            properties=txt,
            addresses=old.addresses,
            server=old.server,
        )
        self._zeroconf.update_service(info)
        self._info = info

    def stop(self) -> None:
        zeroconf, self._zeroconf = self._zeroconf, None
        if zeroconf is None:
            return
        try:
            # Goodbye packets (TTL 0), sent three times, waited for.
            zeroconf.unregister_all_services()
        finally:
            zeroconf.close()


def instance_name(server_name: str, host: str = "", port: int = 0) -> str:
    """
    The DNS-SD instance name for a server: one DNS label, without dots,
    unique to the machine and port (C{lab (pc-12:4000)}).  People see the
    name in the TXT record; the instance name only has to be unique, and
    relying on multicast DNS's probing to rename a second "lab" on one
    machine proved unreliable (both kept the name; browsers saw one).
    """
    host = record.clean(host).replace(".", "-")
    suffix = f" ({host}:{port})" if port else ""
    text = record.clean(server_name).replace(".", " ")
    budget = MAX_INSTANCE_BYTES - len(suffix.encode())
    return (record.truncate(text, budget) or "chatproto") + suffix
