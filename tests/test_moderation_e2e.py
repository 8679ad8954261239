"""
Classroom controls end to end: a teacher and three students over real
sockets, twistd in a subprocess with --operators and --history-db, the
operators file made with the real tool, and a restart.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from servers import SocketClient, Twistd, twistd

PASSWORD = "a long and secret passphrase"


def operators_file(directory: Path) -> Path:
    made = subprocess.run(
        [sys.executable, "-m", "chatproto.operators", "teacher"],
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    path = directory / "operators"
    path.write_text(made.stdout)
    path.chmod(0o600)
    return path


# Each person on a machine of its own: bans keep an address out too.
ADDRESSES = {"teacher": "127.0.0.10", "ann": "127.0.0.11", "ben": "127.0.0.12"}
ADDRESSES |= {"cy": "127.0.0.13", "dee": "127.0.0.14"}


def join(server: Twistd, nick: str, *before: str) -> SocketClient:
    client = SocketClient(server.port, source=ADDRESSES[nick])
    client.expect("NICK")
    client.send("".join(f"{line}\n" for line in (*before, nick)).encode())
    client.expect(f"JOIN {nick}")
    return client


def test_a_teacher_keeps_the_room_usable_across_a_restart(tmp_path: Path) -> None:
    operators = operators_file(tmp_path)
    options = (
        "--operators",
        str(operators),
        "--history-db",
        str(tmp_path / "history.db"),
        "--room",
        "lobby",
        "--room",
        "physics",
    )
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()

    with twistd(first, *options) as server:
        # Nobody may take the teacher's nickname before the teacher comes.
        impostor = SocketClient(server.port)
        impostor.expect("NICK")
        impostor.send(b"teacher\n")
        impostor.expect("ERROR nick-taken teacher is reserved", prefix=True)
        impostor.close()

        teacher = join(server, "teacher", f"/oper teacher {PASSWORD}", "/join physics")
        students = {
            nick: join(server, nick, "/join physics") for nick in ("ann", "ben", "cy")
        }
        # A student may do none of it.
        for command in ("/topic mine", "/slow 1", "/mute ben", "/kick ben", "/ban cy"):
            students["ann"].send(command.encode() + b"\n")
            students["ann"].expect("ERROR not-permitted ", prefix=True)
            students["ann"].lines.clear()

        teacher.send(b"/topic Waves, chapter 3\n")
        students["cy"].expect("TOPIC physics Waves, chapter 3")
        teacher.send(b"/slow 5\n")
        students["ann"].expect("NOTICE teacher set slow mode: one line every 5 seconds")
        students["ann"].send(b"one\ntwo\n")
        students["ann"].expect("ERROR slow-mode physics is in slow mode", prefix=True)
        teacher.expect("MSG ann one")

        teacher.send(b"/mute ben 5\n")
        students["ben"].expect("NOTICE teacher muted ben for 5 minutes")
        students["ben"].send(b"can I talk?\n")
        students["ben"].expect("ERROR muted you are muted in physics", prefix=True)

        teacher.send(b"/kick ann chatting\n")
        students["ann"].expect("INFO you were kicked by teacher (out of physics)")
        students["ann"].expect("ROOM lobby")

        teacher.send(b"/ban cy 10\n")
        students["cy"].expect("INFO you were banned by teacher (out of physics)")
        students["cy"].send(b"/join physics\n")
        students["cy"].expect("ERROR banned you are banned from physics", prefix=True)

        # A student's own room is the student's to moderate.
        students["ann"].send(b"/join ann-study\n/topic revision\n")
        students["ann"].expect("TOPIC ann-study revision")

        for client in (teacher, *students.values()):
            client.close()
        server.wait_for_log("cy left")
        server.stop()
    log = server.log_text()
    assert PASSWORD not in log and "scrypt$" not in log
    assert "teacher in physics: banned cy for 10 minutes" in log
    assert "logged in as operator teacher" in log

    with twistd(second, *options) as server:
        teacher = join(server, "teacher", f"/oper teacher {PASSWORD}", "/join physics")
        teacher.expect("TOPIC physics Waves, chapter 3")
        teacher.send(b"/bans\n")
        teacher.expect("INFO cy (127.0.0.13) is banned from physics", prefix=True)
        cy = join(server, "cy")
        cy.send(b"/join physics\n")
        cy.expect("ERROR banned you are banned from physics", prefix=True)
        dee = join(server, "dee", "/join physics")
        dee.send(b"one\ntwo\n")
        dee.expect("ERROR slow-mode physics is in slow mode", prefix=True)
        ann = join(server, "ann", "/join ann-study")
        ann.expect("TOPIC ann-study revision")
        ann.send(b"/topic still mine\n")
        ann.expect("TOPIC ann-study still mine")
        for client in (teacher, cy, dee, ann):
            client.close()
        server.wait_for_log("ann left")
        server.stop()
    assert "Traceback" not in server.log_text()
