"""
The systemd units in contrib/systemd, and socket activation for real: the
listening socket is held outside twistd, so clients that connect while no
server runs wait instead of being refused.
"""

from __future__ import annotations

import configparser
import os
import shlex
import shutil
import socket
import subprocess
import sys
from contextlib import AbstractContextManager
from pathlib import Path

import pytest
from servers import TIMEOUT, SocketClient, Twistd, twistd, twistd_command

from chatproto.descriptors import RESERVE
from chatproto.limits import Limits

UNITS = Path(__file__).parent.parent / "contrib" / "systemd"
INSTALLED_TWISTD = "/opt/chatroom/venv/bin/twistd"


def needs(tool: str) -> pytest.MarkDecorator:
    """
    Skip a test that runs C{tool} where it is not installed; CI (which sets
    CHATPROTO_CI and installs the tools) runs it always.
    """
    return pytest.mark.skipif(
        shutil.which(tool) is None and not os.environ.get("CHATPROTO_CI"),
        reason=f"{tool} is not installed (Debian, Ubuntu: apt-get install systemd)",
    )


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(
        interpolation=None, strict=False, empty_lines_in_values=False
    )
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    # systemd continues a line with a backslash; configparser by indenting.
    parser.read_string((UNITS / name).read_text().replace("\\\n", " "))
    return parser


def exec_start() -> list[str]:
    return shlex.split(unit("chatroom.service")["Service"]["ExecStart"])


def test_units_say_what_the_issue_asks() -> None:
    socket_unit, service = unit("chatroom.socket"), unit("chatroom.service")
    assert socket_unit["Socket"]["ListenStream"] == "0.0.0.0:4000"
    assert socket_unit["Socket"]["FileDescriptorName"] == "chatroom"
    assert socket_unit["Install"]["WantedBy"] == "sockets.target"
    settings = service["Service"]
    for key, value in {
        "DynamicUser": "yes",
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "PrivateTmp": "yes",
        "Restart": "on-failure",
        "ExecReload": "/bin/kill -HUP $MAINPID",
    }.items():
        assert settings[key] == value, key
    command = exec_start()
    assert command[0] == INSTALLED_TWISTD
    # systemd supervises: foreground, no pidfile, the log to the journal.
    assert {"--nodaemon", "--pidfile="} <= set(command)
    assert not any(word.startswith("--logfile") for word in command)
    # An IPv4 socket (0.0.0.0) needs domain=INET.
    port = command[command.index("--port") + 1]
    assert port == "systemd:domain=INET:index=0"


def test_the_metrics_port_is_no_exporters_default() -> None:
    command = exec_start()
    metrics = command[command.index("--metrics") + 1]
    port = int(metrics.split(":")[1])
    # Prometheus' exporters have 9100-9999 (9100 is node_exporter's, on
    # most machines that are monitored).
    assert not 9100 <= port <= 9999
    readme = (UNITS.parent.parent / "README.rst").read_text()
    assert f"curl -s http://127.0.0.1:{port}/metrics" in readme
    assert "9100/" not in readme and "tcp:9100" not in readme


def test_the_unit_has_descriptors_for_the_default_max_clients() -> None:
    limit = int(unit("chatroom.service")["Service"]["LimitNOFILE"])
    assert limit >= Limits().max_clients + RESERVE


@needs("systemd-analyze")
def test_systemd_analyze_verifies_the_units(tmp_path: Path) -> None:
    # verify insists that ExecStart exists: point it at this venv's twistd.
    for name in ("chatroom.socket", "chatroom.service"):
        text = (UNITS / name).read_text()
        (tmp_path / name).write_text(
            text.replace(INSTALLED_TWISTD, twistd_command()[0])
        )
    result = subprocess.run(
        ["systemd-analyze", "verify", "chatroom.socket", "chatroom.service"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    # Unknown or misspelt settings are only warnings: none is allowed.
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@needs("systemd-socket-activate")
def test_the_units_command_under_systemd_socket_activate(tmp_path: Path) -> None:
    """
    The service's own ExecStart (paths and the metrics port made local),
    started by systemd-socket-activate on the first connection: that client
    connects before any server process exists, and is served.
    """
    motd = tmp_path / "motd.txt"
    motd.write_text("Hello from systemd.\n")
    command = [
        word.replace(INSTALLED_TWISTD, twistd_command()[0])
        .replace("/etc/chatroom/motd.txt", str(motd))
        .replace("tcp:4014:", "tcp:0:")
        for word in exec_start()
    ]
    output = tmp_path / "journal.txt"
    for _attempt in range(3):
        port = free_port()
        with open(output, "wb") as journal:
            process = subprocess.Popen(
                [
                    "systemd-socket-activate",
                    "--listen",
                    f"127.0.0.1:{port}",
                    "--fdname=chatroom",
                    *command,
                ],
                cwd=tmp_path,
                stdin=subprocess.DEVNULL,
                stdout=journal,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        server = Twistd(process, output)
        try:
            server.wait_for_log("Listening on")
            break
        except AssertionError:  # the port was taken meanwhile: another one
            process.kill()
            process.wait(TIMEOUT)
    else:
        pytest.fail(output.read_text())
    try:
        assert "starting up" not in output.read_text()  # no twistd yet
        alice = SocketClient(port)
        alice.expect("NICK")
        server.wait_for_log(rf"ChatFactory starting on {port}\b")
        alice.send(b"alice\n")
        assert alice.expect("JOIN alice")[2] == "INFO Hello from systemd."
        alice.close()
        server.wait_for_log(r"127\.0\.0\.1:\d+ alice left")
        server.stop()
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(TIMEOUT)


# What systemd does when it starts a service with sockets: put them at
# descriptor 3 on, and say so in LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES.
ACTIVATE = """
import os, sys
held = int(sys.argv[1])
os.dup2(held, 3)
if held != 3:
    os.close(held)
os.environ["LISTEN_PID"] = str(os.getpid())
os.execv(sys.argv[2], sys.argv[2:])
"""


def test_connections_wait_while_the_server_restarts(tmp_path: Path) -> None:
    """
    systemd-socket-activate only activates once, so this test holds the
    socket as systemd does, and restarts the server on it.
    """
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen(64)
        port = held.getsockname()[1]

        def server(name: str) -> AbstractContextManager[Twistd]:
            workdir = tmp_path / name
            workdir.mkdir()
            return twistd(
                workdir,
                port="systemd:domain=INET:index=0",
                prefix=[sys.executable, "-c", ACTIVATE, str(held.fileno())],
                env={"LISTEN_FDS": "1", "LISTEN_FDNAMES": "chatroom"},
                pass_fds=[held.fileno()],
            )

        with server("first") as first:
            alice = SocketClient(port)
            alice.expect("NICK")
            alice.send(b"alice\n")
            alice.expect("JOIN alice")
            first.stop()
        # The restart ends established connections: clients reconnect.
        alice.expect_closed()
        alice.close()

        # No server is running; the port is still open.
        bob = SocketClient(port)
        bob.send(b"bob\n")
        with server("second") as second:
            lines = bob.expect("JOIN bob")
            assert lines[:2] == [
                "NICK",
                "WELCOME bob to lobby; type /help for commands",
            ]
            bob.close()
            second.wait_for_log("bob left")
            second.stop()


def test_without_systemds_tools_their_tests_are_skipped_with_a_reason() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-rs",
            "-p",
            "no:cacheprovider",
            __file__,
            "-k",
            "verifies_the_units or under_systemd_socket_activate",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        # No systemd tools on this PATH, and not in CI.
        env={
            **{k: v for k, v in os.environ.items() if k != "CHATPROTO_CI"},
            "PATH": "/nonexistent",
        },
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 skipped" in result.stdout
    for tool in ("systemd-analyze", "systemd-socket-activate"):
        assert f"{tool} is not installed (Debian, Ubuntu: apt-get install systemd)" in (
            result.stdout
        )
