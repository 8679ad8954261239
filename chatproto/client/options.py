"""Command-line options of the terminal client."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

DEFAULT_HOST = "localhost"
DEFAULT_PORT = 4000

DESCRIPTION = """\
Chat in a chatproto room from your terminal.

With a server running on this computer, no option is needed: run
`chatproto` (or `python -m chatproto.client`), choose a nickname, and type.
"""

EPILOG = """\
examples:
  chatproto
      join the room on localhost:4000 and ask for a nickname
  chatproto --host chat.example.org --port 4000 --nick alice
      join a room on another computer as alice
  chatproto --host chat.example.org --tls --ca teacher-ca.pem
      connect over TLS, trusting the certificate authority in teacher-ca.pem
  echo "the build is green" | chatproto --nick ci-bot
      pipe mode: send each input line as a message, then leave

in the room:
  type a line and press Enter to send it; /help lists the server's commands
  (/who, /me, /msg, /nick, /quit). Up and Down recall earlier lines.
  /quit or Ctrl-D on an empty line leaves; Ctrl-C leaves at once.

pipe mode (input or output is not a terminal):
  --nick is required. Every input line is sent as it is, so a line starting
  with / is a command (use //text to send the text /text). At the end of the
  input the client waits until everything is sent, sends /quit and exits 0.
  The conversation is printed on stdout as plain text; problems go to stderr.

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


def _port(text: str) -> int:
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


def _nick(text: str) -> str:
    nick = text.strip()
    if not nick:
        raise argparse.ArgumentTypeError("the nickname is empty (try --nick alice)")
    return nick


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="chatproto",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
    )
    parser.add_argument(
        "--host",
        default=DEFAULT_HOST,
        metavar="HOST",
        help=f"name or address of the server (default: {DEFAULT_HOST}); "
        "example: --host 192.168.1.20",
    )
    parser.add_argument(
        "--port",
        type=_port,
        default=DEFAULT_PORT,
        metavar="PORT",
        help=f"TCP port of the server (default: {DEFAULT_PORT}); example: --port 4001",
    )
    parser.add_argument(
        "--nick",
        type=_nick,
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
    return parser


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
    return Config(
        host=ns.host,
        port=ns.port,
        nick=ns.nick,
        tls=ns.tls,
        ca=ns.ca,
        reconnect=ns.reconnect,
    )
