"""
The message of the day: reading the file, where the lines go in the join
sequence, and the SIGHUP handler.  (End to end: test_service.py.)
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import Server
from twisted.logger import capturedLogs, formatEvent

from chatproto.motd import MAX_MOTD_BYTES, HangupService, Motd, MotdError, read_motd


def test_motd_lines_come_after_welcome_and_before_join() -> None:
    server = Server(motd=lambda: ("Be kind.", "Lessons end at 4."))
    server.member("alice")
    bob = server.connect()
    bob.send(b"bob\n")
    assert bob.received() == [
        "NICK",
        "WELCOME bob to lobby; type /help for commands",
        "INFO Be kind.",
        "INFO Lessons end at 4.",
        "ROOM lobby",
        "JOIN bob",
        "USERS alice bob",
    ]


def test_motd_is_asked_for_at_each_join() -> None:
    lines = ["first"]
    server = Server(motd=lambda: tuple(lines))
    alice, bob = server.connect(), server.connect()
    alice.send(b"alice\n")
    lines[0] = "second"
    bob.send(b"bob\n")
    assert "INFO first" in alice.received()
    assert "INFO second" in bob.received()


def test_file_is_decoded_and_cleaned_like_client_text(tmp_path: Path) -> None:
    path = tmp_path / "motd.txt"
    path.write_bytes(
        b"\n  Welcome to the \x1b[1mschool\x1b[0m chat!  \r\n\n\tBe kind.\x07\n"
        b"caf\xc3\xa9 \xff\n\n"
    )
    assert read_motd(str(path)) == (
        "  Welcome to the school chat!",
        " Be kind.",
        "café \ufffd",
    )


def test_unreadable_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(MotdError, match=r"cannot read the MOTD file .*missing.txt"):
        Motd(str(tmp_path / "missing.txt"))
    with pytest.raises(MotdError, match="cannot read the MOTD file"):
        Motd(str(tmp_path))  # a directory


def test_huge_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "motd.txt"
    path.write_bytes(b"x\n" * MAX_MOTD_BYTES)
    with pytest.raises(MotdError, match="is over"):
        read_motd(str(path))


def test_reload_reads_again_and_keeps_the_old_lines_on_error(tmp_path: Path) -> None:
    path = tmp_path / "motd.txt"
    path.write_text("old\n")
    motd = Motd(str(path))
    path.write_text("new\nlines\n")
    assert motd.lines() == ("old",)
    motd.reload()
    assert motd.lines() == ("new", "lines")
    path.unlink()
    motd.reload()
    assert motd.lines() == ("new", "lines")


@pytest.mark.parametrize(
    ("text", "said"), [("one\n", "1 line"), ("one\ntwo\n", "2 lines"), ("", "0 lines")]
)
def test_reload_logs_how_many_lines_in_words(
    tmp_path: Path, text: str, said: str
) -> None:
    path = tmp_path / "motd.txt"
    path.write_text("old\n")
    motd = Motd(str(path))
    path.write_text(text)
    with capturedLogs() as events:
        motd.reload()
    assert [formatEvent(event) for event in events] == [
        f"MOTD reloaded from {path}: {said}"
    ]


class _Reactor:
    def __init__(self) -> None:
        self.calls: list[Callable[[], None]] = []

    def callFromThread(self, f: Callable[[], None]) -> None:
        self.calls.append(f)


def test_sighup_reloads_through_the_reactor_while_the_service_runs() -> None:
    reactor = _Reactor()
    reloads: list[None] = []

    def reload() -> None:
        reloads.append(None)

    previous = signal.getsignal(signal.SIGHUP)
    service = HangupService(reload, reactor)  # type: ignore[arg-type]
    service.startService()
    try:
        os.kill(os.getpid(), signal.SIGHUP)
        # The handler only schedules the reload in the reactor thread.
        assert reactor.calls == [reload]
        assert reloads == []
    finally:
        service.stopService()
    assert signal.getsignal(signal.SIGHUP) == previous
