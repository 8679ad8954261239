"""
The addresses people can open the page at, for the start-up banner: from
another machine of the network, the page is at this machine's own
addresses, not at 0.0.0.0.
"""

from __future__ import annotations

import ipaddress
import re

from chatproto.discovery.net import machine_addresses


def local_addresses() -> list[str]:
    """
    This machine's IPv4 addresses, loopback excluded (as the network
    announcement gives them).
    """
    return sorted(set(machine_addresses()), key=ipaddress.ip_address)


def web_addresses(description: str) -> list[str]:
    """
    The URLs of the page served on the endpoint C{description} (a strports
    description), or a plain description when it has no URL of its own
    (a UNIX socket behind a proxy, a socket from systemd).
    """
    kind, _, rest = description.partition(":")
    if kind not in ("tcp", "tcp6", "ssl"):
        return [f"{description} (the page is wherever its proxy serves it)"]
    scheme = "https" if kind == "ssl" else "http"
    # Colons inside a value (an IPv6 interface) are escaped with "\\".
    parts = [p.replace("\\:", ":") for p in re.split(r"(?<!\\):", rest)]
    port = next((p.split("=", 1)[1] for p in parts if p.startswith("port=")), None)
    if port is None:
        port = next((p for p in parts if "=" not in p), "0")
    interface = next(
        (p.split("=", 1)[1] for p in parts if p.startswith("interface=")), ""
    )
    if port == "0":
        return [f"{scheme}://...: a port the system chooses (see 'starting on')"]
    if interface in ("", "0.0.0.0", "::"):
        hosts = local_addresses() or ["localhost"]
    else:
        hosts = [f"[{interface}]" if ":" in interface else interface]
    default = 443 if scheme == "https" else 80
    suffix = "" if int(port) == default else f":{port}"
    return [f"{scheme}://{host}{suffix}/" for host in hosts]
