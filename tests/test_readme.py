"""
The README's commands, run as a reader would run them.
"""

from __future__ import annotations

import re
import shlex
import signal
import socket
import subprocess
from pathlib import Path

from servers import CHAT_PORT, TIMEOUT, Twistd, twistd_command

README = Path(__file__).parent.parent / "README.rst"


def quick_start_servers() -> list[list[str]]:
    """The twistd commands of the README's opening, before "Joining the room"."""
    opening = README.read_text().split("Joining the room")[0]
    return [
        shlex.split(found) for found in re.findall(r"venv/bin/twistd [^\n]*", opening)
    ]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_the_quick_start_runs_its_servers_from_one_directory(tmp_path: Path) -> None:
    commands = quick_start_servers()
    assert len(commands) == 3, commands
    servers: list[Twistd] = []
    try:
        for number, command in enumerate(commands):
            # This machine's own port instead of 4000 and 4001, which may be
            # taken.
            for option in ("--port", "--web"):
                if option in command:
                    where = command.index(option) + 1
                    command[where] = f"tcp:{free_port()}:interface=127.0.0.1"
            command[0] = twistd_command()[0]
            log = tmp_path / f"server{number}.log"
            with open(log, "wb") as output:
                process = subprocess.Popen(
                    command,
                    cwd=tmp_path,  # the same directory for both
                    stdin=subprocess.DEVNULL,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                )
            servers.append(Twistd(process, log))
        for server in servers:
            server.wait_for_log(CHAT_PORT)
        assert not (tmp_path / "twistd.pid").exists()
        for server in servers:
            server.stop()
    finally:
        for server in servers:
            if server.process.poll() is None:
                server.process.send_signal(signal.SIGKILL)
            server.process.wait(TIMEOUT)
