"""Connection failures and signals in plain words, for the user."""

from __future__ import annotations

import signal

from twisted.internet import error
from twisted.python.failure import Failure


def describe(reason: Failure) -> str:
    """A short, plain-words reason for a failed or lost connection."""
    value = reason.value
    mismatch = _name_mismatch(value)
    if mismatch is not None:
        return (
            f"TLS failed: the server's certificate is not valid for {mismatch}; "
            "give --host the name the certificate was made for"
        )
    if isinstance(value, error.ConnectionDone):
        return "the server closed the connection"
    if isinstance(value, error.ConnectionRefusedError):
        return "connection refused"
    if isinstance(value, error.DNSLookupError):
        return "unknown host name"
    if isinstance(value, error.TimeoutError):
        return "no answer from the server (timed out)"
    if isinstance(value, error.ConnectionLost):
        return "the connection was lost"
    if type(value).__module__.startswith("OpenSSL"):
        # pyOpenSSL errors hold a list of (library, function, reason).
        details = value.args[0] if value.args else []
        reasons = [str(d[-1]) for d in details if isinstance(d, tuple) and d]
        if "certificate verify failed" in reasons:
            return (
                "TLS failed: the server's certificate is not trusted (made by "
                "itself, or by an authority this computer does not know); if "
                "its owner gave you the certificate, use --ca FILE"
            )
        if "wrong version number" in reasons or "packet length too long" in reasons:
            return (
                "TLS failed: the server does not speak TLS on this port (leave "
                "out --tls, or use the server's TLS port)"
            )
        return "TLS failed: " + (", ".join(reasons) or str(value))
    return str(value).strip() or type(value).__name__


def _name_mismatch(value: BaseException) -> str | None:
    """The names a certificate was refused for, if that is what ``value`` is."""
    try:
        from service_identity import VerificationError
    except ImportError:  # without TLS support there is no such failure
        return None
    if not isinstance(value, VerificationError):
        return None
    names = []
    for mismatch in value.errors:
        wanted = getattr(mismatch, "mismatched_id", None)
        name = getattr(wanted, "hostname", None) or getattr(wanted, "ip", None)
        if isinstance(name, bytes):
            name = name.decode("ascii", "replace")
        names.append(str(name if name is not None else mismatch))
    return " or ".join(names) or "this host"


def signal_name(signum: int | None) -> str:
    """How a stopping signal is called by people: "SIGTERM", "Ctrl-C (SIGINT)"."""
    if signum is None:
        return "a signal"
    try:
        name = signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"
    return "Ctrl-C (SIGINT)" if signum == signal.SIGINT else name
