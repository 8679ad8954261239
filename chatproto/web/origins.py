"""
Web origins (RFC 6454) as the Origin check compares them: C{scheme://host}
or C{scheme://host:port}, lower case, without the scheme's default port.
"""

from __future__ import annotations

from urllib.parse import urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443}


def normal_origin(text: str) -> str | None:
    """
    C{text} as an origin in normal form, or C{None} if it is not an http or
    https origin (a path, a query, user info or C{null} make it none).
    """
    try:
        parts = urlsplit(text.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = parts.hostname
    if (
        scheme not in DEFAULT_PORTS
        or not host
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or parts.username is not None
    ):
        return None
    if ":" in host:
        host = f"[{host}]"
    if port is None or port == DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def page_origin(secure: bool, host_header: str | None) -> str | None:
    """
    The origin of a page this server sent in answer to a request with this
    C{Host} header, over TLS or not.
    """
    if not host_header:
        return None
    return normal_origin(f"{'https' if secure else 'http'}://{host_header}")
