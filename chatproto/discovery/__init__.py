"""
Finding chatproto servers on the local network: DNS-SD over multicast DNS
(python-zeroconf, no Avahi daemon needed), as the service type
C{_chatproto._tcp}.

L{record} is the TXT record's format, L{announce} the server's side (a
twisted C{Service}), L{browse} the client's, L{net} which addresses and
interfaces are used.
"""

from .announce import Announcer, listening_address
from .browse import BROWSE_SECONDS, Browsed, FoundServer, browse
from .net import DiscoveryConfigError, configured_interfaces
from .record import PROTOCOL_VERSION, SERVICE_TYPE

__all__ = [
    "BROWSE_SECONDS",
    "PROTOCOL_VERSION",
    "SERVICE_TYPE",
    "Announcer",
    "Browsed",
    "DiscoveryConfigError",
    "FoundServer",
    "browse",
    "configured_interfaces",
    "listening_address",
]
