"""
Start-up problems of C{twistd chatroom}, each reported as one line.

twistd answers a L{usage.UsageError} with a page of usage text and a
traceback for anything else, and in daemon mode only a truncated repr.  Here
every problem is found before twistd forks (option values, endpoint
descriptions, a port already taken) and ends the process with one line that
names the option and says what to do; what can only fail while listening
(the port taken in the meantime) becomes a L{StartupError}, logged as one
line instead of a traceback.
"""

from __future__ import annotations

import errno
import math
import os
import socket
import sys
from collections.abc import Callable
from types import TracebackType
from typing import Any

from twisted.application.internet import StreamServerEndpointService
from twisted.internet import endpoints
from twisted.internet.defer import Deferred
from twisted.internet.error import CannotListenError
from twisted.internet.interfaces import (
    IListeningPort,
    IProtocolFactory,
    IStreamServerEndpoint,
)
from twisted.logger import Logger
from twisted.python import usage
from twisted.python.failure import Failure
from zope.interface import implementer

# What each line starts with: the command that failed.
PREFIX = "twistd chatroom"
ENDPOINT_EXAMPLES = (
    "give a port number (4000) or an endpoint such as "
    "tcp:4000:interface=127.0.0.1 or ssl:4443:privateKey=key.pem:certKey=cert.pem"
)
_log = Logger()


class StartupError(Exception):
    """
    The server cannot start; the message says why and what to do, in one
    line.
    """


def plain(value: float) -> str:
    """
    A number as people write it: 1048576, not C{:g}'s 1.04858e+06; 0.5
    stays 0.5.
    """
    return str(int(value)) if value == int(value) else f"{value:g}"


def _shown(value: object) -> str:
    # An option value as the operator typed it, cut short if absurdly long.
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "...'"


def number(
    option: str,
    kind: Callable[[str], Any],
    minimum: float,
    maximum: float,
    value: Any,
) -> Any:
    """
    C{value} as a C{kind} (int or float) between C{minimum} and C{maximum}.

    @raise usage.UsageError: naming C{--option}, for anything else,
        including infinities and NaN.
    """
    what = "a whole number" if kind is int else "a number"
    try:
        parsed = kind(value)
    except (TypeError, ValueError):
        parsed = math.nan
    if not math.isfinite(parsed):
        raise usage.UsageError(f"--{option} takes {what}, not {_shown(value)}")
    if not minimum <= parsed <= maximum:
        raise usage.UsageError(
            f"--{option} must be from {plain(minimum)} to {plain(maximum)}, "
            f"not {_shown(value)}"
        )
    return parsed


def _endpoint(option: str, description: str) -> IStreamServerEndpoint:
    """
    The server endpoint for C{description}, made by Twisted's own parser.

    @raise usage.UsageError: saying in words what is wrong with it.
    """
    where = f"--{option} {_shown(description)}"
    try:
        # Only built to be checked, never listened on: no reactor needed.
        endpoint = endpoints.serverFromString(None, description)
    except OSError as error:  # ssl: a key or certificate file
        raise usage.UsageError(
            f"{where}: cannot read {error.filename}: {error.strerror} "
            "(ssl: takes privateKey=KEY.pem and certKey=CERT.pem)"
        ) from None
    except (IndexError, KeyError):  # systemd: no such inherited socket
        raise usage.UsageError(
            f"{where}: systemd passed no such socket; a systemd: port works "
            "only when systemd starts the server with its socket unit "
            "(contrib/systemd/chatroom.socket)"
        ) from None
    except Exception as error:
        raise usage.UsageError(f"{where}: {_endpoint_error(error)}") from None
    port = getattr(endpoint, "_port", None)
    if isinstance(port, int) and not 0 <= port <= 65535:
        raise usage.UsageError(
            f"{where}: port {port} does not exist; "
            "use 1 to 65535 (or 0 for any free port)"
        )
    backlog = getattr(endpoint, "_backlog", None)
    if isinstance(backlog, int) and not 1 <= backlog <= 65535:
        raise usage.UsageError(f"{where}: backlog= must be between 1 and 65535")
    return endpoint


def _endpoint_error(error: Exception) -> str:
    text = str(error)
    if text.startswith("Unknown endpoint type"):
        return f"not a port or an endpoint description; {ENDPOINT_EXAMPLES}"
    if "invalid literal for int()" in text:
        return f"the port and backlog= must be whole numbers; {ENDPOINT_EXAMPLES}"
    if type(error).__name__ == "VerifyError":
        return "the certificate (certKey=) does not match the private key (privateKey=)"
    if type(error).__module__.startswith("OpenSSL"):
        return (
            "privateKey= and certKey= must be PEM files: a private key and "
            "its certificate"
        )
    return f"not a valid endpoint description ({text}); {ENDPOINT_EXAMPLES}"


def check_endpoint(option: str, description: str) -> None:
    """
    Check C{description} the way twistd will use it, so that a mistake
    stops start-up with a sentence instead of a traceback.

    @raise usage.UsageError: if Twisted cannot make an endpoint of it.
    """
    _endpoint(option, description)


def check_free(option: str, description: str) -> int:
    """
    Check that the port C{description} names can be had, by binding it for
    a moment: a port already in use stops start-up before twistd forks.
    Endpoints that are not a fixed TCP port are left to the listening.

    @return: the port number checked, 0 if none was.
    @raise usage.UsageError: saying why it cannot be had.
    """
    endpoint = _endpoint(option, description)
    port = getattr(endpoint, "_port", 0)
    interface = getattr(endpoint, "_interface", None)
    if not port or interface is None:
        return 0
    family = socket.AF_INET6 if ":" in interface else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            # As Twisted does: a port in TIME_WAIT may be reused.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((interface, port))
    except OSError as error:
        raise usage.UsageError(f"--{option}: {_bind_error(port, error)}") from None
    return port


def _bind_error(port: int, error: OSError) -> str:
    if error.errno == errno.EADDRINUSE:
        return (
            f"port {port} is already in use (another server running?); stop "
            "that one or choose another port"
        )
    if error.errno == errno.EACCES:
        return (
            f"not allowed to listen on port {port}: ports below 1024 need "
            "root; choose a port from 1024 up"
        )
    if error.errno == errno.EADDRNOTAVAIL:
        return "this machine has no such address; check interface="
    reason = error.strerror or str(error)
    # A symlink's error (a UNIX socket's lock file) names the link second.
    path = error.filename2 or error.filename
    if path:
        reason = f"{os.fsdecode(path)}: {reason}"
    return f"cannot listen there: {reason}"


def _listen_error(option: str, error: Exception) -> str:
    if isinstance(error, CannotListenError):
        port, reason = error.port, error.socketError
    else:
        port, reason = 0, error
    if isinstance(reason, OSError) and reason.errno is not None:
        why = _bind_error(port, reason)
    else:
        why = f"cannot listen there: {reason}"
    return f"--{option}: {why}"


class OneLineErrors(usage.Options):
    """
    Options whose problems, when twistd parses them, end the process with
    one line instead of twistd's page of usage text.

    @cvar endpoint_options: the options that name an endpoint to listen on,
        checked for being free before twistd forks.
    """

    endpoint_options: tuple[str, ...] = ()

    def parseOptions(self, options: list[str] | None = None) -> None:
        try:
            super().parseOptions(options)
            if self.parent is not None:
                check_pidfile(self.parent.get("pidfile"))
                self._check_ports_free()
        except usage.UsageError as error:
            if self.parent is None:
                raise  # not run by twistd (a test, another program): its call
            hint = ""
            if str(error).startswith("option "):  # getopt's: unknown, no value
                hint = f" ({PREFIX} --help lists the options)"
            raise SystemExit(f"{PREFIX}: {error}{hint}") from None
        if self.parent is not None:
            _report_startup_errors_in_one_line()

    def _check_ports_free(self) -> None:
        checked: dict[int, str] = {}
        for option in self.endpoint_options:
            if not self[option]:
                continue
            port = check_free(option, self[option])
            if port in checked:
                raise usage.UsageError(
                    f"--{option}: port {port} is --{checked[port]}'s too; "
                    "give each its own port"
                )
            if port:
                checked[port] = option


def check_pidfile(pidfile: str | None) -> None:
    """
    Refuse to start beside a server that runs from the same pidfile, in one
    line (twistd would say it in five, after this check).

    @raise usage.UsageError: if the process the pidfile names runs.
    """
    if not pidfile:
        return
    try:
        with open(pidfile) as file:
            pid = int(file.read())
    except (OSError, ValueError):
        return  # none, or twistd's own one-line error
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return  # stale: twistd removes it
    except OSError:
        pass  # runs, as another user
    raise usage.UsageError(
        f"another server is running from {pidfile} (process {pid}); stop it, or "
        "give this one a --pidfile of its own (--pidfile= in the foreground), "
        "before chatroom"
    )


def _report_startup_errors_in_one_line() -> None:
    """
    Make an uncaught L{StartupError} end the process with its line in the
    log instead of a traceback (twistd lets start-up exceptions through).
    """
    previous = sys.excepthook

    def excepthook(
        kind: type[BaseException],
        value: BaseException,
        traceback: TracebackType | None,
    ) -> None:
        if isinstance(value, StartupError):
            _log.critical("{prefix}: {error}", prefix=PREFIX, error=value)
        else:
            previous(kind, value, traceback)

    sys.excepthook = excepthook


@implementer(IStreamServerEndpoint)
class _Reporting:
    """
    An endpoint that remembers the port it listens on and turns
    L{CannotListenError} into a L{StartupError} naming the option.
    """

    def __init__(self, option: str, endpoint: IStreamServerEndpoint) -> None:
        self.option = option
        self.endpoint = endpoint
        self.port: IListeningPort | None = None

    def listen(self, factory: IProtocolFactory) -> Deferred[IListeningPort]:
        def listening(port: IListeningPort) -> IListeningPort:
            self.port = port
            return port

        def failed(reason: Failure) -> Failure:
            # CannotListenError usually; a UNIX socket's lock file raises
            # OSError itself.
            if not reason.check(CannotListenError, OSError):
                return reason
            raise StartupError(_listen_error(self.option, reason.value))

        return self.endpoint.listen(factory).addCallbacks(listening, failed)


class Listening(StreamServerEndpointService):
    """
    Listens on the endpoint an option describes; says where it really
    listens (C{--port 0} picks a free port) once it does.
    """

    def __init__(
        self,
        option: str,
        description: str,
        factory: IProtocolFactory,
        reactor: Any = None,
    ) -> None:
        if reactor is None:
            from twisted.internet import reactor
        endpoint = endpoints.serverFromString(reactor, description)
        self._reporting = _Reporting(option, endpoint)
        super().__init__(self._reporting, factory)
        self.description = description
        # As strports.service does: a port that cannot be had stops
        # start-up instead of leaving the server running deaf.
        self._raiseSynchronously = True

    def where(self) -> str:
        """
        The address listened on, e.g. C{127.0.0.1:4000}, or the description
        until then.
        """
        port = self._reporting.port
        if port is None:
            return self.description
        address = port.getHost()
        host = getattr(address, "host", None)
        if host is None:
            return str(getattr(address, "name", address))
        host = f"[{host}]" if ":" in host else host
        return f"{host}:{address.port}"
