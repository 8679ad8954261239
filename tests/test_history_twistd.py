"""
History end to end: twistd in a subprocess with --history-db, real sockets,
a clean restart, a kill -9, a dropped connection, and start-up errors.
"""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from servers import TIMEOUT, SocketClient, Twistd, twistd, twistd_command

from chatproto.store import DURABILITY_BOUND

HISTORY = re.compile(r"HISTORY (\d+) \S+Z (.*)")


class Client(SocketClient):
    def expect_where(self, wanted: Callable[[str], bool], what: str) -> str:
        """
        Read until a line for which C{wanted} is true arrives after those
        already matched by earlier calls; return it.
        """
        deadline = time.monotonic() + TIMEOUT
        start = getattr(self, "_looked", 0)
        while True:
            for index in range(start, len(self.lines)):
                if wanted(self.lines[index]):
                    self._looked = index + 1
                    return self.lines[index]
            start = len(self.lines)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no {what} in {self.lines!r}")
            self.sock.settimeout(remaining)
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                continue
            if not data:
                raise AssertionError(f"closed before {what}; got {self.lines!r}")
            self.buffer += data
            *complete, self.buffer = self.buffer.split(b"\r\n")
            self.lines.extend(line.decode("utf-8") for line in complete)

    def join(self, nick: str, *before: str) -> tuple[list[tuple[int, str]], int]:
        """
        Send the options C{before}, then join as C{nick}; return the replay
        as (id, line) pairs and the end marker's id.
        """
        self.send("".join(f"{line}\n" for line in (*before, nick)).encode())
        end = self.expect_where(lambda line: line.startswith("HISTORY-END "), "end")
        self.expect_where(lambda line: line.endswith(f"JOIN {nick}"), "own JOIN")
        replay = [
            (int(found[1]), found[2])
            for line in self.lines
            if (found := HISTORY.fullmatch(line))
        ]
        return replay, int(end.split()[1])

    def say(self, text: str) -> int:
        """
        Say C{text} (with ids on) and return the id the server gave it.
        """
        self.send(text.encode() + b"\n")
        line = self.expect_where(
            lambda line: line.startswith("ID ") and line.endswith(f" {text}"), text
        )
        return int(line.split()[1])


def member(server: Twistd, nick: str, *before: str) -> tuple[Client, list, int]:
    client = Client(server.port)
    client.expect("NICK")
    replay, end = client.join(nick, *before)
    return client, replay, end


def test_history_survives_a_restart_and_a_kill_9(tmp_path: Path) -> None:
    db = str(tmp_path / "history.db")
    options = ("--history-db", db, "--history-replay", "100")
    # A directory per run, so that each run's log is its own.
    runs = [tmp_path / name for name in ("first", "second", "third")]
    for run in runs:
        run.mkdir()

    with twistd(runs[0], *options) as server:
        alice, replay, end = member(server, "alice", "/ids on")
        assert replay == [] and end > 0
        first = alice.say("before the restart")
        alice.close()
        server.wait_for_log(r"alice left")
        server.stop()

    with twistd(runs[1], *options) as server:
        bob, replay, end = member(server, "bob", "/ids on")
        assert [line for _, line in replay][-2:] == [
            "MSG alice before the restart",
            "LEAVE alice connection closed",
        ]
        assert (first, "MSG alice before the restart") in replay
        second = bob.say("before the kill")
        assert second > end > first
        # Past the durability bound, then no chance to shut down cleanly.
        time.sleep(DURABILITY_BOUND + 0.3)
        server.process.kill()
        server.process.wait(TIMEOUT)
        bob.close()

    with twistd(runs[2], *options) as server:
        carol, replay, end = member(server, "carol", "/ids on")
        assert (first, "MSG alice before the restart") in replay
        assert (second, "MSG bob before the kill") in replay
        ids = [id for id, _ in replay]
        assert ids == sorted(set(ids))
        assert carol.say("after the kill") > end >= second
        carol.close()
        server.stop()
    assert "Traceback" not in server.log_text()


def test_a_dropped_connection_gets_every_missed_line_once(tmp_path: Path) -> None:
    with twistd(tmp_path, "--history-replay", "2") as server:
        alice, _, _ = member(server, "alice", "/ids on")
        bob, _, _ = member(server, "bob", "/ids on")
        last_seen = bob.say("you there?")
        alice.expect(f"ID {last_seen} MSG bob you there?")
        alice.close()  # Wi-Fi gone
        server.wait_for_log(r"alice left")
        missed = [bob.say(f"missed {number}") for number in range(5)]

        again = Client(server.port)
        again.expect("NICK")
        replay, end = again.join("alice", "/ids on", f"/since {last_seen}")
        assert [line for _, line in replay] == [
            "LEAVE alice connection closed",
            *(f"MSG bob missed {number}" for number in range(5)),
        ]
        assert [id for id, _ in replay][1:] == missed and end == missed[-1]
        bob.send(b"welcome back\n")
        again.expect(f"ID {end + 2} MSG bob welcome back")
        assert not any(line.startswith("MSG ") for line in again.lines)
        again.close()
        bob.close()
        server.wait_for_log(r"bob left")
        server.stop()


def test_each_rooms_history_survives_a_restart(tmp_path: Path) -> None:
    db = str(tmp_path / "history.db")
    options = ("--history-db", db, "--history-replay", "100")
    runs = [tmp_path / name for name in ("first", "second")]
    for run in runs:
        run.mkdir()

    with twistd(runs[0], *options) as server:
        alice, _, _ = member(server, "alice", "/ids on")
        bob, _, _ = member(server, "bob", "/ids on", "/join physics")
        alice.say("in the lobby")
        physics = bob.say("in physics")
        alice.close()
        bob.close()
        server.wait_for_log(r"bob left")
        server.stop()

    with twistd(runs[1], *options) as server:
        # physics was made on the fly: joining it brings its history back.
        carol, replay, end = member(server, "carol", "/ids on", "/join physics")
        lines = [line for _, line in replay]
        assert "MSG bob in physics" in lines and "MSG alice in the lobby" not in lines
        assert (physics, "MSG bob in physics") in replay
        assert carol.say("still physics") > end >= physics
        dave, replay, _ = member(server, "dave", "/ids on")
        lines = [line for _, line in replay]
        assert "MSG alice in the lobby" in lines and "MSG bob in physics" not in lines
        carol.close()
        dave.close()
        server.stop()
    assert "Traceback" not in server.log_text()


def test_a_database_of_the_previous_release_opens_as_the_default_room(
    tmp_path: Path,
) -> None:
    import sqlite3

    db = tmp_path / "history.db"
    with sqlite3.connect(db) as connection:
        sql = Path(__file__).with_name("data").joinpath("history-v1.sql")
        connection.executescript(sql.read_text())
    with twistd(tmp_path, "--history-db", str(db), "--room", "classroom") as server:
        alice, replay, end = member(server, "alice", "/ids on")
        assert [line for _, line in replay] == [
            "JOIN bob",
            "MSG bob anyone here?",
            "MSG bob zoë says héllo 👋",
            "LEAVE bob bye",
        ]
        assert alice.say("hello bob") > end >= 1795291100337
        alice.close()
        server.stop()


def test_a_second_server_on_one_database_is_refused(tmp_path: Path) -> None:
    db = str(tmp_path / "history.db")
    (tmp_path / "first").mkdir()
    with twistd(tmp_path / "first", "--history-db", db) as server:
        status, output = run_twistd(tmp_path, "--port", "tcp:0", "--history-db", db)
        assert status != 0
        assert "in use by another chatproto server" in output
        assert "Traceback" not in output
        server.stop()


def run_twistd(tmp_path: Path, *options: str) -> tuple[int, str]:
    result = subprocess.run(
        [*twistd_command(), "-n", "--pidfile=", "chatroom", *options],
        cwd=tmp_path,
        capture_output=True,
        timeout=30,
    )
    return result.returncode, (result.stdout + result.stderr).decode()


def test_a_corrupt_database_stops_start_up_with_one_clear_line(
    tmp_path: Path,
) -> None:
    db = tmp_path / "history.db"
    db.write_bytes(b"\x13\x37" * 8192)
    status, output = run_twistd(tmp_path, "--port", "tcp:0", "--history-db", str(db))
    assert status != 0
    assert "--history-db: cannot use" in output
    assert "file is not a database" in output
    assert "Traceback" not in output
    assert db.read_bytes() == b"\x13\x37" * 8192  # left as it was


def test_an_unwritable_database_stops_start_up(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    db = tmp_path / "file" / "history.db"
    status, output = run_twistd(tmp_path, "--port", "tcp:0", "--history-db", str(db))
    assert status != 0
    assert "Not a directory" in output
    assert "Traceback" not in output


def test_bad_history_numbers_are_clear_errors(tmp_path: Path) -> None:
    for options, message in [
        (("--history-replay", "-1"), "--history-replay must be from 0 to 10000"),
        (("--history-replay", "many"), "--history-replay takes a whole number"),
        (("--history-replay", "20000"), "--history-replay must be from 0 to 10000"),
        (("--history-keep", "soon"), "--history-keep takes a number"),
        (("--history-keep", "0"), "--history-keep must be a number of days"),
    ]:
        status, output = run_twistd(tmp_path, *options)
        assert status != 0, options
        assert message in output, output
        assert "Traceback" not in output
