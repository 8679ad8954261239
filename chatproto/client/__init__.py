"""The chatproto terminal client: ``chatproto`` or ``python -m chatproto.client``.

Interactive when stdin and stdout are terminals (line editing, colours,
reconnecting); pipe mode otherwise (each stdin line is a message, plain text
out). Without ``--host``/``--port`` it first looks for servers on the local
network; ``chatproto --list`` only looks; ``chatproto host`` hosts a room.
See docs/client.rst.
"""

from __future__ import annotations

import dataclasses
import getpass
import os
import sys

from .options import Config, checked_password, parse_args


def _error(text: str) -> int:
    sys.stderr.write(f"chatproto: {text}\n")
    return 2


def ask_oper_password(name: str) -> str:
    """The operator's password, typed on the terminal without echo.

    Raises ValueError (with a sentence for people) when there is no terminal
    to ask on (getpass would fall back to reading standard input, which in
    pipe mode holds the messages) or the password cannot be used.
    """
    try:
        os.close(os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY))
    except OSError:
        raise ValueError(
            f"--oper {name}: no terminal to ask the password on; "
            "use --oper-password-file FILE"
        ) from None
    password = getpass.getpass(f"Operator password for {name}: ")
    return checked_password(password, "that password")


def main(argv: list[str] | None = None) -> int:
    """Run the client; return the exit status."""
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["host"]:
        from . import host

        return host.main(args[1:])
    try:
        config: Config = parse_args(args)
    except SystemExit as e:  # argparse: --help (0) or a usage error (2)
        return e.code if isinstance(e.code, int) else 2
    if config.oper is not None and config.oper_password is None:
        try:
            password = ask_oper_password(config.oper)
        except ValueError as e:
            return _error(str(e))
        except (KeyboardInterrupt, EOFError):
            sys.stderr.write("\n")
            return 130
        config = dataclasses.replace(config, oper_password=password)
    if config.list_only:
        from . import discover

        return discover.list_servers(config)
    interactive = sys.stdin.isatty() and sys.stdout.isatty()
    if not interactive and config.nick is None:
        return _error(
            "--nick is required when input or output is not a terminal; "
            'for example: echo "hello" | chatproto --nick bot'
        )
    from twisted.internet import reactor

    from . import app

    try:
        app.make_endpoint_check(reactor, config)
    except Exception as e:  # a --ca file that is not a PEM certificate, say
        return _error(f"cannot use --ca {config.ca}: {e}")
    if config.discover:
        from . import discover

        chosen = discover.choose(config, interactive)
        if isinstance(chosen, int):
            return chosen
        config = chosen
    if interactive:
        from . import terminal

        return terminal.run(reactor, config)
    from . import pipe

    return pipe.run(reactor, config)
