"""
End to end, as an operator runs it: twistd as a daemon (pidfile, log
rotation, SIGTERM, an unprivileged user), JSON logs, /metrics, and the MOTD
re-read on SIGHUP.
"""

from __future__ import annotations

import json
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from servers import CHAT_PORT, TIMEOUT, SocketClient, twistd, twistd_command


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting until {what}")
        time.sleep(0.05)


def running(pid: int) -> bool:
    # The daemon is not our child: once it exits nobody here reaps it, so a
    # zombie counts as gone.
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def join(port: int, nick: str) -> SocketClient:
    client = SocketClient(port)
    client.expect("NICK")
    client.send(nick.encode() + b"\r\n")
    client.expect(f"JOIN {nick}")
    return client


# Daemon mode


@pytest.fixture(params=["invoking user", "nobody"])
def daemon_dir(request: pytest.FixtureRequest) -> Iterator[tuple[Path, list[str]]]:
    """
    A directory for the daemon's pidfile and log, and the twistd options
    that choose the user it runs as.

    twistd writes the pidfile and opens the log as root, then drops
    privileges; it removes the pidfile and rotates the log as the user.  So,
    as README.rst says, the directory must belong to the user, and so must
    the log file (twistd silently skips rotating a file it cannot write).
    """
    as_nobody = request.param == "nobody"
    if as_nobody and os.geteuid() != 0:
        pytest.skip("only root can start twistd as another user")
    # Not under tmp_path: pytest makes its parents private to the invoking user.
    directory = Path(tempfile.mkdtemp(prefix="chatroom-daemon-"))
    try:
        if as_nobody:
            nobody = pwd.getpwnam("nobody")
            for path in directory, directory / "chatroom.log":
                path.touch()
                os.chown(path, nobody.pw_uid, nobody.pw_gid)
            yield directory, ["--uid", str(nobody.pw_uid), "--gid", str(nobody.pw_gid)]
        else:
            yield directory, []
    finally:
        shutil.rmtree(directory)


def test_daemon_pidfile_log_rotation_and_clean_stop(
    daemon_dir: tuple[Path, list[str]],
) -> None:
    directory, user = daemon_dir
    pidfile, log = directory / "chatroom.pid", directory / "chatroom.log"
    started = subprocess.run(
        [
            *twistd_command(),
            f"--pidfile={pidfile}",
            f"--logfile={log}",
            *user,
            "chatroom",
            "--port",
            "tcp:0:interface=127.0.0.1",
        ],
        cwd=directory,
        capture_output=True,
        timeout=30,
    )
    # twistd's foreground process exits once the daemon has started.
    assert started.returncode == 0, started
    wait_until(pidfile.exists, "the pidfile appears")
    pid = int(pidfile.read_text())
    try:
        assert running(pid)
        if user:
            status = Path(f"/proc/{pid}/status").read_text()
            assert re.search(rf"^Uid:\s+{user[1]}\s+{user[1]}\s", status, re.M)
        wait_until(lambda: re.search(CHAT_PORT, log.read_text()) is not None, "log")
        port = int(re.findall(CHAT_PORT, log.read_text())[0])

        alice = join(port, "alice")
        alice.send(b"a secret\r\n")
        alice.expect("MSG alice a secret")

        os.kill(pid, signal.SIGUSR1)
        rotated = directory / "chatroom.log.1"
        wait_until(rotated.exists, "SIGUSR1 rotates the log")
        assert "joined lobby as alice" in rotated.read_text()
        # The daemon goes on logging, to a fresh file.
        bob = join(port, "bob")
        wait_until(lambda: "as bob" in log.read_text(), "the new log is written")
        assert "as bob" not in rotated.read_text()
        alice.close()
        bob.close()

        os.kill(pid, signal.SIGTERM)
        wait_until(lambda: not running(pid), "SIGTERM stops the daemon")
        assert not pidfile.exists()
    finally:
        if running(pid):
            os.kill(pid, signal.SIGKILL)
    logs = rotated.read_text() + log.read_text()
    assert "Server Shut Down." in log.read_text()
    assert "Traceback" not in logs
    assert "a secret" not in logs


# JSON logs


def test_json_logs_are_one_object_per_line(tmp_path: Path) -> None:
    with twistd(tmp_path, logger="chatproto.logs.json_observer") as server:
        alice = join(server.port, "alice")
        alice.send(b"a secret\r\n")
        alice.expect("MSG alice a secret")
        alice.close()
        server.wait_for_log("alice left")
        server.stop()
    text = server.log_text()
    events = [json.loads(line) for line in text.splitlines()]
    assert len(events) > 5
    [joined] = [e for e in events if e.get("log_text", "").endswith("as alice")]
    assert joined["nick"] == "alice"
    assert joined["peer"].startswith("127.0.0.1:")
    # A plain string, as log shippers filter on it.
    assert joined["log_level"] == "info"
    [banner] = [e for e in events if e["log_namespace"] == "chatproto.tap._Banner"]
    assert "--max-line 2048" in banner["limits"]
    assert "--sendq 1048576" in banner["limits"]
    assert banner["motd"] == "none" and banner["metrics"] == "off"
    assert "a secret" not in text


# Metrics


def scrape(port: int) -> dict[str, float]:
    with urllib.request.urlopen(
        f"http://127.0.0.1:{port}/metrics", timeout=TIMEOUT
    ) as response:
        assert response.headers["Content-Type"].startswith("text/plain")
        text = response.read().decode()
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if not sample.labels
    }


def test_metrics_move_as_members_join_and_talk(tmp_path: Path) -> None:
    with twistd(tmp_path, "--metrics", "tcp:0:interface=127.0.0.1") as server:
        before = scrape(server.metrics_port)
        assert before["chatroom_members"] == 0
        assert before["chatroom_connections_accepted_total"] == 0
        for name in (
            "chatroom_rate_limit_throttles_total",
            "chatroom_slow_reader_drops_total",
            "chatroom_handshake_timeouts_total",
        ):
            assert before[name] == 0

        alice = join(server.port, "alice")
        bob = SocketClient(server.port)
        bob.expect("NICK")
        bob.send(b"no good\r\n")
        bob.send(b"bob\r\n")
        bob.expect("JOIN bob")
        alice.expect("JOIN bob")
        alice.send(b"hello\n")
        bob.expect("MSG alice hello")
        alice.expect("MSG alice hello")

        during = scrape(server.metrics_port)
        assert during["chatroom_members"] == 2
        assert during["chatroom_connections_accepted_total"] == 2
        assert during["chatroom_nick_rejections_total"] == 1
        assert during["chatroom_messages_relayed_total"] == 1
        assert during["chatroom_received_bytes_total"] == len(
            b"alice\r\nno good\r\nbob\r\nhello\n"
        )
        # Exactly what the two clients have received so far.
        received = sum(len(line.encode()) + 2 for line in alice.lines + bob.lines)
        assert during["chatroom_sent_bytes_total"] == received
        assert during["chatroom_fanout_seconds_count"] > 0

        bob.send(b"/quit\n")
        alice.expect("LEAVE bob")
        after = scrape(server.metrics_port)
        assert after["chatroom_members"] == 1
        alice.close()
        bob.close()
        server.stop()


# MOTD


def test_motd_reloads_on_sighup_without_dropping_anyone(tmp_path: Path) -> None:
    motd = tmp_path / "motd.txt"
    motd.write_text("Welcome to the school chat.\n")
    with twistd(tmp_path, "--motd", str(motd)) as server:
        alice = SocketClient(server.port)
        alice.expect("NICK")
        alice.send(b"alice\n")
        lines = alice.expect("USERS alice")
        assert lines[1:3] == [
            "WELCOME alice to lobby; type /help for commands",
            "INFO Welcome to the school chat.",
        ]
        # The room, then its history replay (empty: nothing said yet), then
        # the JOIN.
        assert lines[3] == "ROOM lobby"
        assert lines[4].startswith("HISTORY-END ")
        assert lines[5] == "JOIN alice"

        # One line, in words.
        server.wait_for_log(rf"MOTD: {re.escape(str(motd))} \(1 line\);")

        motd.write_text("Exam week: keep it short.\nBe kind.\n")
        server.process.send_signal(signal.SIGHUP)
        server.wait_for_log("MOTD reloaded from .*: 2 lines")
        bob = SocketClient(server.port)
        bob.expect("NICK")
        bob.send(b"bob\n")
        lines = bob.expect("USERS alice bob")
        assert lines[2:4] == ["INFO Exam week: keep it short.", "INFO Be kind."]

        # Alice was not disconnected.
        alice.expect("JOIN bob")
        alice.send(b"still here\n")
        bob.expect("MSG alice still here")
        alice.close()
        bob.close()
        server.stop()


def test_sighup_without_motd_does_not_stop_the_server(tmp_path: Path) -> None:
    with twistd(tmp_path) as server:
        server.process.send_signal(signal.SIGHUP)
        server.wait_for_log("nothing to reload")
        join(server.port, "alice").close()
        server.stop()


def test_missing_motd_file_is_a_clear_startup_error(tmp_path: Path) -> None:
    result = subprocess.run(
        [*twistd_command(), "-n", "--pidfile=", "chatroom", "--motd", "nope.txt"],
        cwd=tmp_path,
        capture_output=True,
        timeout=30,
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert b"cannot read the MOTD file" in output
    assert b"nope.txt: No such file or directory" in output
    assert b"Traceback" not in output
