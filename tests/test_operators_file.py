"""
The operators file: its lines, the errors that name a bad line, and the
roster that re-reads it (keeping the old operators if it cannot).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from twisted.logger import LogEvent, capturedLogs, formatEvent

from chatproto.nicknames import nick_key
from chatproto.operators.passwords import hash_password
from chatproto.operators.roster import (
    MAX_FILE_BYTES,
    Operators,
    OperatorsFileError,
    format_line,
    parse_operators,
    read_operators,
)

CHEAP = {"n": 2**10, "r": 8, "p": 1}


def line(name: str, password: str) -> str:
    return format_line(name, hash_password(password, **CHEAP))


def write(path: Path, *lines: str, mode: int = 0o600) -> str:
    path.write_text("".join(f"{text}\n" for text in lines), encoding="utf-8")
    path.chmod(mode)
    return str(path)


@pytest.fixture
def logged() -> Iterator[list[LogEvent]]:
    with capturedLogs() as events:
        yield events


def log_text(events: list[LogEvent]) -> str:
    """Everything the events say: their text and every field."""
    return "\n".join(f"{formatEvent(event)} {event!r}" for event in events)


def test_good_file_with_comments_blank_lines_and_accents(tmp_path: Path) -> None:
    teacher, zoe = line("Teacher", "pw1"), line("zoë", "pw2")
    path = write(
        tmp_path / "operators",
        "# Physics, room 12",
        "",
        "   ",
        teacher,
        f"  {zoe}   # the lab assistant",
    )
    operators = read_operators(path)
    assert sorted(operators) == [nick_key("Teacher"), nick_key("zoë")]
    assert operators["teacher"].name == "Teacher"
    assert operators["teacher"].key == "teacher"
    assert operators["teacher"].password_hash.matches("pw1")
    assert operators[nick_key("zoë")].password_hash.matches("pw2")


def test_empty_file_names_no_operators(tmp_path: Path) -> None:
    assert read_operators(write(tmp_path / "operators", "# nobody yet")) == {}


def test_crlf_and_a_bom_are_read(tmp_path: Path) -> None:
    path = tmp_path / "operators"
    path.write_bytes(b"\xef\xbb\xbf" + line("teacher", "pw").encode() + b"\r\n")
    assert list(read_operators(str(path))) == ["teacher"]


def test_format_line_is_name_space_hash() -> None:
    made = hash_password("pw", **CHEAP)
    assert format_line("teacher", made) == f"teacher {made.encode()}"


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (
            "teacher",
            "line 3 of ops: expected a name and a password hash, found 1 word "
            "(make each line with: python -m chatproto.operators NAME)",
        ),
        (
            "teacher hunter2 extra",
            "line 3 of ops: expected a name and a password hash, found 3 words "
            "(make each line with: python -m chatproto.operators NAME)",
        ),
        (
            "teacher hunter2",
            "line 3 of ops: the password hash of teacher is not usable: it is not "
            "of the form scrypt$N$r$p$salt$hash",
        ),
        (
            "hunter2! scrypt$1024$8$1$AAAAAAAAAAA=$" + "A" * 44,
            "line 3 of ops: the name is not valid: a nickname is 1 to 24 letters, "
            "digits, _ or -",
        ),
        (
            "alice scrypt$1000$8$1$AAAAAAAAAAA=$" + "A" * 44,
            "line 3 of ops: the password hash of alice is not usable: its scrypt N "
            "must be a power of 2 from 1024 to 131072",
        ),
        (
            "ALICE scrypt$1024$8$1$AAAAAAAAAAA=$" + "A" * 44,
            "line 3 of ops: ALICE is already an operator on line 2",
        ),
    ],
)
def test_bad_line_is_named_in_one_sentence(bad: str, message: str) -> None:
    lines = [b"# ops", line("alice", "pw").encode(), bad.encode(), b"bob x y"]
    with pytest.raises(OperatorsFileError) as caught:
        parse_operators(lines, "ops")
    assert str(caught.value) == message
    assert "\n" not in str(caught.value)
    # Neither a would-be password nor a hash is ever repeated.
    assert "hunter2" not in str(caught.value)
    assert "AAAAAAAAAAA=" not in str(caught.value)


def test_bad_utf8_is_named_by_line(tmp_path: Path) -> None:
    path = tmp_path / "operators"
    path.write_bytes(b"# ok\n\n# caf\xe9\n")
    with pytest.raises(OperatorsFileError, match=r"^line 3 of .*operators is not"):
        read_operators(str(path))


def test_unreadable_or_huge_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(OperatorsFileError, match=r"cannot read the operators file .*"):
        Operators(str(tmp_path / "missing"))
    with pytest.raises(OperatorsFileError, match="cannot read the operators file"):
        Operators(str(tmp_path))  # a directory
    huge = tmp_path / "huge"
    huge.write_bytes(b"#\n" * MAX_FILE_BYTES)
    with pytest.raises(OperatorsFileError, match="is over .* bytes; is it the right"):
        Operators(str(huge))


def test_keys_and_lookup_by_nickname_key(tmp_path: Path) -> None:
    operators = Operators(
        write(tmp_path / "operators", line("Teacher", "pw"), line("ｚｏｅ", "pw"))
    )
    assert operators.keys() == {"teacher", "zoe"}
    assert len(operators) == 2
    found = operators.get(nick_key("TEACHER"))
    assert found is not None and found.name == "Teacher"
    assert operators.get(nick_key("zoe")) is not None
    assert operators.get("alice") is None
    assert [operator.name for operator in operators] == ["Teacher", "ｚｏｅ"]


def test_reload_reads_again_and_keeps_the_old_set_on_a_broken_file(
    tmp_path: Path, logged: list[LogEvent]
) -> None:
    path = tmp_path / "operators"
    operators = Operators(write(path, line("teacher", "pw")))
    write(path, line("teacher", "pw"), line("assistant", "pw2"))
    assert operators.keys() == {"teacher"}
    operators.reload()
    assert operators.keys() == {"teacher", "assistant"}
    assert "operators reloaded from" in log_text(logged)

    logged.clear()
    write(path, line("teacher", "pw"), "assistant oops")
    operators.reload()
    assert operators.keys() == {"teacher", "assistant"}
    assert [formatEvent(event) for event in logged] == [
        f"operators not reloaded, keeping the old ones: line 2 of {path}: the "
        "password hash of assistant is not usable: it is not of the form "
        "scrypt$N$r$p$salt$hash"
    ]

    logged.clear()
    path.unlink()
    operators.reload()
    assert operators.keys() == {"teacher", "assistant"}
    assert "cannot read the operators file" in log_text(logged)


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604])
def test_a_file_others_can_read_is_warned_about(
    tmp_path: Path, logged: list[LogEvent], mode: int
) -> None:
    path = write(tmp_path / "operators", line("teacher", "pw"), mode=mode)
    Operators(path)
    assert [formatEvent(event) for event in logged] == [
        f"the operators file {path} can be read by other users (mode {mode:04o}); "
        "chmod 600 it"
    ]
    logged.clear()
    os.chmod(path, 0o600)
    Operators(path)
    assert logged == []


def test_the_log_never_shows_a_hash_or_salt(
    tmp_path: Path, logged: list[LogEvent]
) -> None:
    teacher = line("teacher", "pw")
    path = write(tmp_path / "operators", teacher, mode=0o640)
    operators = Operators(path)
    operators.reload()
    write(tmp_path / "operators", teacher, "teacher " + teacher.split()[1])
    operators.reload()
    text = log_text(logged)
    assert "teacher" in text and "already an operator" in text  # it did log
    _, _, _, _, salt, digest = teacher.split()[1].split("$")
    assert salt not in text
    assert digest not in text


def test_dummy_hash_uses_the_parameters_most_lines_use(tmp_path: Path) -> None:
    path = write(
        tmp_path / "operators",
        format_line("a", hash_password("pw", n=2**11, r=4, p=1)),
        format_line("b", hash_password("pw", n=2**11, r=4, p=1)),
        format_line("c", hash_password("pw", n=2**10, r=8, p=1)),
    )
    dummy = Operators(path).dummy_hash()
    assert (dummy.n, dummy.r, dummy.p) == (2**11, 4, 1)
    assert not dummy.matches("pw")
