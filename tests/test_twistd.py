"""
End to end: the installed twistd plugin in a subprocess, real sockets.
"""

from __future__ import annotations

import signal
import socket
import subprocess
from pathlib import Path

from servers import SocketClient, make_certificate, twistd, twistd_command


def test_twistd_lists_the_plugin(tmp_path: Path) -> None:
    result = subprocess.run(
        [*twistd_command(), "--help"], cwd=tmp_path, capture_output=True, timeout=30
    )
    assert result.returncode == 0
    assert b"chatroom" in result.stdout


def test_chat_through_twistd_with_framed_and_unframed_clients(tmp_path: Path) -> None:
    with twistd(tmp_path) as server:
        alice = SocketClient(server.port)
        alice.expect("NICK")
        alice.send(b"alice\r\n")
        alice.expect("JOIN alice")

        # The seeds' classroom client: no line endings at all.
        seed = SocketClient(server.port)
        seed.expect("NICK")
        seed.send(b"bob")
        alice.expect("JOIN bob")
        seed.send("bob: hi from a thread-per-client program 👋".encode())
        alice.expect("MSG bob bob: hi from a thread-per-client program 👋")

        # nc sends \n only.
        alice.send(b"hello bob\n")
        seed.expect("MSG alice hello bob")

        seed.send(b"/quit bye")
        alice.expect("LEAVE bob bye")
        seed.expect_closed()
        alice.close()
        server.wait_for_log(r"alice left: connection (closed|lost)")
        server.stop()
    log = server.log_text()
    assert "Traceback" not in log
    assert "hello bob" not in log  # message text is never logged
    assert "127.0.0.1" in log


def test_port_in_use_makes_twistd_exit_nonzero(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [
                *twistd_command(),
                "-n",
                "--pidfile=",
                "chatroom",
                "--port",
                f"tcp:{port}:interface=127.0.0.1",
            ],
            cwd=tmp_path,
            capture_output=True,
            timeout=30,
        )
    assert result.returncode != 0
    assert f"port {port} is already in use".encode() in result.stderr


def test_bare_port_number(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with twistd(tmp_path, port=str(port)) as server:
        assert server.port == port
        client = SocketClient(port)
        client.expect("NICK")
        client.close()
        server.stop()


def test_bad_option_is_a_clear_error(tmp_path: Path) -> None:
    result = subprocess.run(
        [*twistd_command(), "-n", "chatroom", "--max-line", "lots"],
        cwd=tmp_path,
        capture_output=True,
        timeout=30,
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert output == b"twistd chatroom: --max-line takes a whole number, not 'lots'\n"


def test_tcp_ports_get_a_large_listen_backlog(tmp_path: Path) -> None:
    from chatproto.tap import Options, with_backlog

    def port(*arguments: str) -> str:
        options = Options()
        options.parseOptions(list(arguments))
        return options["port"]

    assert port("--port", "4000") == "tcp:4000:backlog=1024"
    cert, key = make_certificate(tmp_path)
    tls = f"ssl:4443:privateKey={key}:certKey={cert}"
    assert port("--port", tls, "--backlog", "64") == f"{tls}:backlog=64"
    assert port("--port", "tcp:4000:backlog=5") == "tcp:4000:backlog=5"
    assert with_backlog("systemd:domain=INET:index=0", 1024) == (
        "systemd:domain=INET:index=0"
    )


def test_the_banner_says_where_the_server_really_listens(tmp_path: Path) -> None:
    # Port 0: the system picks one; the banner names it, not "tcp:0".
    with twistd(tmp_path, "--metrics", "tcp:0:interface=127.0.0.1") as server:
        banner = server.wait_for_log(r"chatproto \S+: rooms .*").group(0)
        server.stop()
    assert (
        f"rooms lobby; new rooms up to 100 on 127.0.0.1:{server.port} "
        "(tcp:0:interface=127.0.0.1:backlog=1024);" in banner
    )
    assert (
        f"metrics: 127.0.0.1:{server.metrics_port} (tcp:0:interface=127.0.0.1);"
        in banner
    )


def test_ctrl_c_is_sigint_and_stops_the_server_cleanly(tmp_path: Path) -> None:
    with twistd(tmp_path) as server:
        alice = SocketClient(server.port)
        alice.expect("NICK")
        alice.send(b"alice\r\n")
        alice.expect("JOIN alice")
        server.stop(signal.SIGINT)
        alice.expect("INFO server shutting down")
        alice.expect_closed()
        alice.close()
    # Killed by SIGINT once shut down: 130 in a shell, as README says.
    assert server.process.returncode == -signal.SIGINT
    assert "Received SIGINT, shutting down." in server.log_text()
    readme = (Path(__file__).parent.parent / "README.rst").read_text()
    assert f"{128 + signal.SIGINT} after Ctrl-C" in readme
    assert f"{128 + signal.SIGTERM} in a shell after SIGTERM" in readme
