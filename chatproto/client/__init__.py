"""The chatproto terminal client: ``chatproto`` or ``python -m chatproto.client``.

Interactive when stdin and stdout are terminals (line editing, colours,
reconnecting); pipe mode otherwise (each stdin line is a message, plain text
out). Without ``--host``/``--port`` it first looks for servers on the local
network; ``chatproto --list`` only looks; ``chatproto host`` hosts a room.
See docs/client.rst.
"""

from __future__ import annotations

import sys

from .options import Config, parse_args


def _error(text: str) -> int:
    sys.stderr.write(f"chatproto: {text}\n")
    return 2


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
