"""Command-line options of the terminal client."""

from __future__ import annotations

import argparse
import textwrap
from dataclasses import dataclass, field

from chatproto.operators.passwords import PasswordRefusedError, check_password

DEFAULT_HOST = "localhost"
DEFAULT_PORT = 4000
# How long to look for servers on the local network (chatproto.discovery).
DEFAULT_BROWSE = 1.5

DESCRIPTION = """\
Chat in a chatproto room from your terminal.

No option is needed: run `chatproto` (or `python -m chatproto.client`). It
looks for chat servers on the local network for a moment and joins the one
that answers (or asks which, if several do; or tries this computer, if none
does). Then choose a nickname, and type.

To host a room yourself: `chatproto host` (see `chatproto host --help`).
"""

EPILOG = """\
examples:
  chatproto
      find the room on the local network (or on this computer) and join it
  chatproto host --nick teacher
      host a room on this computer, announced on the local network
  chatproto --list
      list the chat servers on the local network, one per line, and exit
  chatproto --host chat.example.org --port 4000 --nick alice
      join a room on another computer as alice
  chatproto --host chat.example.org --tls --ca teacher-ca.pem
      connect over TLS, trusting the certificate authority in teacher-ca.pem
  echo "the build is green" | chatproto --nick ci-bot
      pipe mode: send each input line as a message, then leave
  chatproto --nick teacher --oper teacher
      join and log in as the operator teacher (the password is asked for)

in the room:
  type a line and press Enter to send it; /help lists the server's commands
  (/who, /me, /msg, /nick, /join, /rooms, /quit). Up and Down recall
  earlier lines; Tab completes nicknames and /commands.
  /quit or Ctrl-D on an empty line leaves; Ctrl-C leaves at once.

pipe mode (input or output is not a terminal):
  --nick is required. Every input line is sent as it is, so a line starting
  with / is a command (use //text to send the text /text). At the end of the
  input the client waits until everything is sent, sends /quit and exits 0.
  The conversation is printed on stdout as plain text; problems go to stderr.
  Without --host and --port it also looks on the network first; if several
  servers answer, it asks nothing: it lists them on stderr and exits 2.

colours: set NO_COLOR=1 to turn them off.
"""


@dataclass(frozen=True)
class Config:
    """What the user asked for on the command line."""

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    nick: str | None = None
    tls: bool = False
    ca: str | None = None
    reconnect: bool = True
    # Neither --host nor --port: look for servers on the local network first.
    discover: bool = False
    list_only: bool = False
    browse: float = DEFAULT_BROWSE
    # --oper: log in as this operator; the password is never on the command
    # line, and never in a repr.
    oper: str | None = None
    oper_password: str | None = field(default=None, repr=False)
    oper_password_file: str | None = None


def parse_port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a port number (try --port 4000)"
        ) from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(
            f"{port} is not a port number between 1 and 65535"
        )
    return port


def _seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not 0.1 <= seconds <= 30:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a number of seconds between 0.1 and 30 (try --browse 3)"
        )
    return seconds


def parse_nick(text: str) -> str:
    nick = text.strip()
    if not nick:
        raise argparse.ArgumentTypeError("the nickname is empty (try --nick alice)")
    return nick


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Option help wrapped without splitting an option's name at a hyphen."""

    def _split_lines(self, text: str, width: int) -> list[str]:
        return textwrap.wrap(" ".join(text.split()), width, break_on_hyphens=False)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="chatproto",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=HelpFormatter,
        allow_abbrev=False,
    )
    parser.add_argument(
        "--host",
        metavar="HOST",
        help="name or address of the server (default: look on the local "
        f"network, else {DEFAULT_HOST}; --host or --port turn looking off); "
        "example: --host 192.168.1.20",
    )
    parser.add_argument(
        "--port",
        type=parse_port,
        metavar="PORT",
        help=f"TCP port of the server (default: {DEFAULT_PORT}); example: --port 4001",
    )
    parser.add_argument(
        "--list",
        dest="list_only",
        action="store_true",
        help="list the chat servers on the local network, one per line "
        "(name, addresses, port, tls or plain, people, then the rooms as "
        "NAME=PEOPLE, tab-separated), and exit: 0 if any answered, 1 if none; "
        "example: --list",
    )
    parser.add_argument(
        "--browse",
        type=_seconds,
        default=DEFAULT_BROWSE,
        metavar="SECONDS",
        help="how long to look for servers on the local network "
        f"(default: {DEFAULT_BROWSE:g}); example: --browse 3",
    )
    parser.add_argument(
        "--nick",
        type=parse_nick,
        metavar="NICK",
        help="nickname to join with; asked for interactively if left out, "
        "required in pipe mode; example: --nick alice",
    )
    parser.add_argument(
        "--tls",
        action="store_true",
        help="encrypt the connection with TLS and check the server's "
        "certificate against the system's trusted authorities; "
        "example: --tls --host chat.example.org",
    )
    parser.add_argument(
        "--ca",
        metavar="FILE",
        help="with --tls: trust only the PEM certificate (authority) in FILE; "
        "example: --tls --ca teacher-ca.pem",
    )
    parser.add_argument(
        "--no-reconnect",
        dest="reconnect",
        action="store_false",
        help="exit with status 1 when the connection drops instead of "
        "reconnecting with growing delays; example: --no-reconnect",
    )
    parser.add_argument(
        "--oper",
        type=parse_nick,
        metavar="NAME",
        help="log in as the operator NAME on joining (and after each "
        "reconnection); the password is asked for on the terminal, never "
        "given on the command line; example: --oper teacher",
    )
    parser.add_argument(
        "--oper-password-file",
        metavar="FILE",
        help="with --oper: read the operator's password from the first line "
        "of FILE instead of asking; example: --oper-password-file ~/.oper",
    )
    return parser


def read_password_file(path: str) -> str:
    """The password on the first line of ``path``.

    Raises ValueError with a sentence for people if it cannot be used.
    """
    try:
        with open(path, "rb") as file:
            first = file.readline(4096)
    except OSError as e:
        message = f"cannot read the password file {path!r}: {e.strerror}"
        raise ValueError(message) from None
    try:
        password = first.decode("utf-8").removesuffix("\n").removesuffix("\r")
    except UnicodeDecodeError:
        raise ValueError(f"the password file {path!r} is not UTF-8 text") from None
    return checked_password(password, f"the password in {path!r}")


def checked_password(password: str, what: str) -> str:
    try:
        check_password(password)
    except PasswordRefusedError as e:
        raise ValueError(f"{what} cannot be used: {e}") from None
    return password


def parse_args(argv: list[str]) -> Config:
    """Parse argv (without the program name); exit through argparse on errors."""
    parser = build_parser()
    ns = parser.parse_args(argv)
    if ns.ca is not None and not ns.tls:
        parser.error("--ca only makes sense with --tls (try --tls --ca FILE)")
    if ns.ca is not None:
        try:
            with open(ns.ca, "rb"):
                pass
        except OSError as e:
            parser.error(f"cannot read the --ca file {ns.ca!r}: {e.strerror}")
    if ns.list_only and (ns.host is not None or ns.port is not None):
        parser.error("--list looks on the local network: leave out --host and --port")
    password = None
    if ns.oper_password_file is not None:
        if ns.oper is None:
            parser.error(
                "--oper-password-file only makes sense with --oper "
                "(try --oper NAME --oper-password-file FILE)"
            )
        try:
            password = read_password_file(ns.oper_password_file)
        except ValueError as e:
            parser.error(str(e))
    return Config(
        host=DEFAULT_HOST if ns.host is None else ns.host,
        port=DEFAULT_PORT if ns.port is None else ns.port,
        nick=ns.nick,
        tls=ns.tls,
        ca=ns.ca,
        reconnect=ns.reconnect,
        discover=ns.host is None and ns.port is None,
        list_only=ns.list_only,
        browse=ns.browse,
        oper=ns.oper,
        oper_password=password,
        oper_password_file=ns.oper_password_file,
    )
