"""
Classroom controls, through the line protocol on StringTransports and a
fake clock: operators, room owners, kick, mute, ban, slow mode, topics,
announcements, reserved nicknames.  Every command is tried by every role.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from helpers import Connection, Server
from twisted.cred.error import UnauthorizedLogin
from twisted.internet.defer import Deferred, fail, succeed

from chatproto.errors import ChatError
from chatproto.moderation import Moderation, until
from chatproto.operators import Operators, format_line, hash_password

PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def operators_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("operators") / "operators"
    # Cheap hashes for tests; real ones come from python -m chatproto.operators.
    line = format_line("teacher", hash_password(PASSWORD, n=1024))
    path.write_text(line + "\n")
    path.chmod(0o600)
    return path


class InlineChecker:
    """
    The checker's decisions, on the test's thread: the real hashes, checked
    at once (the real checker's thread is tested in test_operator_checker).
    """

    def __init__(self, operators: Operators) -> None:
        self.operators = operators
        self.passwords: list[str] = []

    def requestAvatarId(self, credentials: Any) -> Deferred[str]:
        self.passwords.append(credentials.password.decode())
        operator = self.operators.get(credentials.username.decode().casefold())
        if operator is not None and operator.password_hash.matches(
            credentials.password.decode()
        ):
            return succeed(operator.name)
        return fail(UnauthorizedLogin("wrong operator name or password"))


@pytest.fixture
def server(operators_file: Path) -> Server:
    operators = Operators(str(operators_file))
    return Server(
        rooms=("lobby", "maths"), operators=operators, checker=InlineChecker(operators)
    )


def teacher(server: Server) -> Connection:
    connection = server.connect()
    connection.send(f"/oper teacher {PASSWORD}\nteacher\n".encode())
    lines = connection.received()
    assert "INFO you are an operator now (teacher)" in lines, lines
    return connection


def errors(lines: list[str]) -> list[str]:
    return [line for line in lines if line.startswith("ERROR ")]


# Who may moderate

COMMANDS = [
    "/kick bob",
    "/mute bob",
    "/unmute bob",
    "/ban bob 10",
    "/unban bob",
    "/bans",
    "/slow 10",
    "/topic new topic",
]


@pytest.mark.parametrize("command", [*COMMANDS, "/announce hello"])
def test_an_ordinary_member_may_not_moderate(server: Server, command: str) -> None:
    alice, bob = server.member("alice"), server.member("bob")
    alice.received()
    alice.send(command.encode() + b"\n")
    [error] = alice.received()
    assert error.startswith("ERROR not-permitted only an ")
    assert not bob.closed


@pytest.mark.parametrize("command", [*COMMANDS, "/announce hello"])
def test_an_owner_may_not_moderate_another_room(server: Server, command: str) -> None:
    owner = server.member("owner")
    owner.send(b"/join physics\n/join lobby\n")  # made physics, went back
    server.member("bob")
    owner.received()
    owner.send(command.encode() + b"\n")
    assert errors(owner.received())[0].startswith("ERROR not-permitted ")


def test_the_maker_of_a_room_moderates_it(server: Server) -> None:
    owner = server.member("owner")
    owner.send(b"/join physics\n")
    bob = server.member("bob")
    bob.send(b"/join physics\n")
    owner.received(), bob.received()
    owner.send(b"/mute bob 5\n")
    assert owner.received() == ["NOTICE owner muted bob for 5 minutes"]
    owner.send(b"/announce everyone\n")  # operators only
    assert errors(owner.received())[0].startswith("ERROR not-permitted only an op")


def test_owners_moderate_only_if_the_server_lets_them(operators_file: Path) -> None:
    server = Server(owners_moderate=False)
    owner = server.member("owner")
    owner.send(b"/join physics\n")
    bob = server.member("bob")
    bob.send(b"/join physics\n")
    owner.received()
    owner.send(b"/kick bob\n")
    assert errors(owner.received())[0].startswith("ERROR not-permitted ")


def test_nobody_owns_a_named_room(server: Server) -> None:
    alice = server.member("alice")
    alice.send(b"/join maths\n/topic mine\n")
    assert errors(alice.received())[0].startswith("ERROR not-permitted ")


def test_an_operator_moderates_every_room(server: Server) -> None:
    sir = teacher(server)
    owner = server.member("owner")
    owner.send(b"/join physics\n")
    sir.send(b"/join physics\n")
    sir.received()
    sir.send(b"/slow 30\n")
    assert sir.received() == ["NOTICE teacher set slow mode: one line every 30 seconds"]


def test_an_owner_may_not_act_on_an_operator(server: Server) -> None:
    owner = server.member("owner")
    owner.send(b"/join physics\n")
    sir = teacher(server)
    sir.send(b"/join physics\n")
    owner.received()
    owner.send(b"/kick teacher\n")
    assert owner.received() == ["ERROR not-permitted teacher is an operator"]


# Logging in


def test_a_wrong_password_is_refused_and_never_shown(server: Server) -> None:
    alice = server.member("alice")
    alice.send(b"/oper teacher guess\n")
    assert alice.received() == ["ERROR not-permitted wrong operator name or password"]
    alice.send(b"/oper nobody guess\n")
    assert alice.received() == ["ERROR not-permitted wrong operator name or password"]


def test_failed_logins_slow_the_connection_down(server: Server) -> None:
    alice = server.member("alice")
    alice.send(b"/oper teacher a\n/oper teacher b\n/oper teacher c\n")
    assert len(errors(alice.received())) == 3
    alice.send(b"/oper teacher d\nhello\n")
    # The fourth attempt waits, and the line after it waits behind it.
    assert alice.received() == []
    server.clock.advance(2)
    assert alice.received() == [
        "ERROR not-permitted wrong operator name or password",
        "MSG alice hello",
    ]


class SlowChecker:
    """A checker whose answers the test gives, when it wants."""

    def __init__(self) -> None:
        self.checks: list[Deferred[str]] = []

    def requestAvatarId(self, credentials: Any) -> Deferred[str]:
        self.checks.append(Deferred())
        return self.checks[-1]


def test_lines_after_oper_wait_for_the_password_check(operators_file: Path) -> None:
    # The check runs on a thread: the nickname sent right after /oper must
    # not be judged before the operator is logged in.
    checker = SlowChecker()
    checks = checker.checks
    server = Server(operators=Operators(str(operators_file)), checker=checker)
    sir = server.connect()
    sir.send(f"/oper teacher {PASSWORD}\n/join maths\nteacher\n".encode())
    assert sir.received() == ["NICK"]
    assert sir.transport.producerState == "paused"
    checks[0].callback("teacher")
    assert sir.received()[:2] == [
        "INFO you are an operator now (teacher)",
        "WELCOME teacher to maths; type /help for commands",
    ]
    assert sir.transport.producerState == "producing"


def test_a_server_without_operators_says_so() -> None:
    alice = Server().member("alice")
    alice.send(b"/oper teacher x\n")
    assert alice.received() == ["ERROR not-permitted this server has no operators"]


# Reserved nicknames


@pytest.mark.parametrize("nick", ["teacher", "TEACHER", "tеacher"])  # a Cyrillic е
def test_an_operators_nickname_is_reserved(server: Server, nick: str) -> None:
    student = server.connect()
    student.received()
    student.send(nick.encode() + b"\n")
    [error, prompt] = student.received()
    assert error.startswith(f"ERROR nick-taken {nick} is reserved for an operator")
    assert prompt == "NICK"
    alice = server.member("alice")
    alice.send(f"/nick {nick}\n".encode())
    assert alice.received()[0].startswith("ERROR nick-taken ")


def test_the_operator_takes_its_nickname_once_logged_in(server: Server) -> None:
    sir = server.member("sir")
    sir.send(f"/oper teacher {PASSWORD}\n/nick teacher\n".encode())
    assert sir.received() == [
        "INFO you are an operator now (teacher)",
        "RENAME sir teacher",
    ]


# Kick


def test_kick_puts_a_member_out_of_a_room_back_to_the_default(server: Server) -> None:
    sir = teacher(server)
    bob, carol = server.member("bob"), server.member("carol")
    for connection in (sir, bob, carol):
        connection.send(b"/join physics\n")
    sir.received(), carol.received(), bob.received()
    sir.send(b"/kick bob talking over others\n")
    notice = "NOTICE teacher kicked bob: talking over others"
    assert carol.received() == [notice, "LEAVE bob kicked by teacher"]
    lines = bob.received()
    assert lines[:2] == [notice, "INFO you were kicked by teacher (out of physics)"]
    assert lines[2] == "ROOM lobby"
    bob.send(b"/join physics\n")  # a kick is not a ban
    assert bob.received()[0] == "ROOM physics"


def test_kicked_from_the_default_room_is_disconnected(server: Server) -> None:
    sir, bob = teacher(server), server.member("bob")
    sir.received()
    sir.send(b"/kick bob\n")
    assert bob.received() == [
        "NOTICE teacher kicked bob",
        "ERROR kicked you were kicked by teacher; goodbye",
    ]
    assert bob.closed
    assert sir.received() == [
        "NOTICE teacher kicked bob",
        "LEAVE bob kicked by teacher",
    ]


def test_kick_needs_someone_in_the_room(server: Server) -> None:
    sir = teacher(server)
    server.member("bob").send(b"/join physics\n")
    sir.received()
    sir.send(b"/kick bob\n/kick nobody\n/kick teacher\n")
    assert sir.received() == [
        "ERROR no-such-nick nobody called bob is in lobby",
        "ERROR no-such-nick nobody called nobody is in lobby",
        "ERROR usage not on yourself",
    ]


# Mute


def test_a_muted_member_reads_but_cannot_speak_until_it_ends(server: Server) -> None:
    sir, bob, carol = teacher(server), server.member("bob"), server.member("carol")
    server.clock.advance(3600)  # 01:00 UTC
    sir.received(), bob.received(), carol.received()
    sir.send(b"/mute bob 5\n")
    assert carol.received() == ["NOTICE teacher muted bob for 5 minutes"]
    assert bob.received() == [
        "NOTICE teacher muted bob for 5 minutes",
        "INFO you are muted in lobby until 01:05 UTC (5 minutes from now); "
        "you can still read",
    ]
    bob.send(b"let me talk\n/me shouts\n")
    assert (
        bob.received()
        == [
            "ERROR muted you are muted in lobby until 01:05 UTC (5 minutes from now); "
            "you can still read"
        ]
        * 2
    )
    carol.send(b"hi bob\n")
    assert bob.received() == ["MSG carol hi bob"]
    server.clock.advance(5 * 60)
    bob.send(b"back\n")
    assert carol.received() == ["MSG carol hi bob", "MSG bob back"]


def test_unmute_lets_a_member_speak_again(server: Server) -> None:
    sir, bob = teacher(server), server.member("bob")
    sir.send(b"/mute bob\n")  # until lifted
    bob.received()
    bob.send(b"hello\n")
    assert "until lifted" in bob.received()[0]
    sir.send(b"/unmute bob\n/unmute bob\n")
    assert sir.received()[-2:] == [
        "NOTICE teacher unmuted bob",
        "ERROR usage bob is not muted in lobby",
    ]
    bob.send(b"hello\n")
    assert bob.received()[-1] == "MSG bob hello"


def test_moderators_are_not_muted_or_slowed(server: Server) -> None:
    sir = teacher(server)
    sir.send(b"/slow 60\none\ntwo\n")
    assert sir.received()[-2:] == ["MSG teacher one", "MSG teacher two"]


# Ban


def test_ban_kicks_and_keeps_the_nickname_and_address_out(server: Server) -> None:
    sir = teacher(server)
    bob = server.member("bob")
    sir.send(b"/join physics\n")
    bob.send(b"/join physics\n")
    sir.received(), bob.received()
    sir.send(b"/ban bob 10\n")
    assert sir.received() == [
        "NOTICE teacher banned bob for 10 minutes",
        "LEAVE bob banned by teacher",
    ]
    assert bob.received()[1] == "INFO you were banned by teacher (out of physics)"
    bob.send(b"/join physics\n")
    [error] = bob.received()
    assert error.startswith("ERROR banned you are banned from physics until 00:10 UTC")
    # The address too, whatever the nickname.
    other = server.member("robert")  # the same test address
    other.send(b"/join physics\n")
    assert other.received()[0].startswith("ERROR banned ")
    sir.send(b"/bans\n")
    assert sir.received() == [
        "INFO bob (192.0.2.7) is banned from physics by teacher "
        "until 00:10 UTC (10 minutes from now)"
    ]
    server.clock.advance(10 * 60)
    bob.received()
    bob.send(b"/join physics\n")
    assert bob.received()[0] == "ROOM physics"


def test_unban_lifts_a_ban(server: Server) -> None:
    sir, bob = teacher(server), server.member("bob")
    for connection in (sir, bob):
        connection.send(b"/join physics\n")
    sir.send(b"/ban BOB\n/unban bob\n/unban bob\n")
    assert sir.received()[-2:] == [
        "NOTICE teacher lifted the ban on bob",
        "ERROR usage bob is not banned from physics",
    ]
    bob.send(b"/join physics\n")
    assert "ROOM physics" in bob.received()


def test_banned_from_the_default_room_is_banned_from_the_server(server: Server) -> None:
    sir, bob = teacher(server), server.member("bob")
    sir.send(b"/ban bob 10\n")
    assert bob.received()[-1] == "ERROR banned you were banned by teacher; goodbye"
    assert bob.closed
    again = server.connect()  # the same address
    assert again.refused
    [line] = again.received()
    assert line.startswith("ERROR banned your address is banned from this server")
    elsewhere = server.connect("198.51.100.9")
    elsewhere.send(b"bob\n")
    [error] = [line for line in elsewhere.received() if line.startswith("ERROR")]
    assert error.startswith("ERROR banned you are banned from lobby")
    assert elsewhere.closed


# Slow mode


def test_slow_mode_refuses_a_line_too_early_and_queues_nothing(server: Server) -> None:
    sir, bob, carol = teacher(server), server.member("bob"), server.member("carol")
    sir.send(b"/slow 30\n")
    carol.received()
    bob.received()
    bob.send(b"first\nsecond\n")
    assert bob.received() == [
        "MSG bob first",
        "ERROR slow-mode lobby is in slow mode: one line every 30 seconds; "
        "wait 30 more seconds (your line was not sent)",
    ]
    server.clock.advance(20)
    bob.send(b"third\n")
    assert bob.received()[0].endswith("wait 10 more seconds (your line was not sent)")
    server.clock.advance(10)
    bob.send(b"fourth\n")
    assert carol.received() == ["MSG bob first", "MSG bob fourth"]
    # Until the very end: half a second early is still too early.
    bob.send(b"fifth\n")
    server.clock.advance(29.5)
    bob.send(b"sixth\n")
    assert bob.received()[-1].startswith("ERROR slow-mode ")
    sir.received()
    sir.send(b"/slow -1\n")
    assert sir.received() == [
        "ERROR usage usage: /slow <seconds>, n from 0 to 3600",
    ]
    sir.send(b"/slow 0\n")
    assert sir.received() == ["NOTICE teacher turned slow mode off"]
    bob.send(b"seventh\neighth\n")
    assert carol.received()[-2:] == ["MSG bob seventh", "MSG bob eighth"]


# Topic and announcements


def test_a_topic_is_shown_to_everyone_and_to_newcomers(server: Server) -> None:
    sir, bob = teacher(server), server.member("bob")
    bob.received()
    sir.send(b"/topic Fractions, chapter 3\n")
    assert bob.received() == [
        "NOTICE teacher set the topic: Fractions, chapter 3",
        "TOPIC lobby Fractions, chapter 3",
    ]
    carol = server.connect()
    carol.send(b"carol\n")
    assert carol.received()[2:4] == ["ROOM lobby", "TOPIC lobby Fractions, chapter 3"]
    carol.send(b"/topic\n")
    assert carol.received() == ["TOPIC lobby Fractions, chapter 3"]


def test_rooms_lists_the_topics(server: Server) -> None:
    sir = teacher(server)
    sir.send(b"/topic Fractions\n")
    sir.received()
    sir.send(b"/rooms\n")
    assert sir.received() == ["ROOMS lobby 1 maths 0", "TOPIC lobby Fractions"]


def test_announce_reaches_every_room(server: Server) -> None:
    sir = teacher(server)
    maths = server.member("bob")
    maths.send(b"/join maths\n")
    maths.received(), sir.received()
    sir.send(b"/announce class ends in 5 minutes\n")
    announcement = "ANNOUNCE teacher class ends in 5 minutes"
    assert maths.received() == [announcement]
    assert sir.received() == [announcement]


def test_until_rounds_the_minutes_left_up() -> None:
    now = 3600.0  # 01:00 UTC
    assert until(None, now) == "until lifted"
    assert until(now + 30, now) == "until 01:00 UTC (1 minute from now)"
    assert until(now + 120, now) == "until 01:02 UTC (2 minutes from now)"
    assert until(now + 121, now) == "until 01:02 UTC (3 minutes from now)"
    assert until(now + 3660, now) == "until 02:01 UTC (61 minutes from now)"


def test_one_minute_is_singular(server: Server) -> None:
    sir = teacher(server)
    server.member("bob")
    sir.received()
    sir.send(b"/mute bob 1\n/mute bob 2\n/mute bob\n")
    assert sir.received() == [
        "NOTICE teacher muted bob for 1 minute",
        "NOTICE teacher muted bob for 2 minutes",
        "NOTICE teacher muted bob",
    ]


def test_a_password_check_is_abandoned_with_its_connection(
    operators_file: Path,
) -> None:
    checker = SlowChecker()
    checks = checker.checks
    server = Server(operators=Operators(str(operators_file)), checker=checker)
    sir = server.connect()
    sir.send(f"/oper teacher {PASSWORD}\n".encode())
    sir.transport.loseConnection()
    [check] = checks
    assert check.called  # cancelled: its thread's answer has nobody to go to
    assert not server.server.sessions


def test_slow_mode_forgets_who_left_and_starts_afresh_when_turned_on_again() -> None:
    # What slow mode remembers is bounded by who is in the room now.
    moderation = Moderation("lobby", now=lambda: 100.0)
    moderation.set_slow(30)
    moderation.check_speech("bob", exempt=False)
    moderation.check_speech("carol", exempt=False)
    with pytest.raises(ChatError):
        moderation.check_speech("bob", exempt=False)
    moderation.left("bob")
    moderation.check_speech("bob", exempt=False)
    moderation.set_slow(0)
    moderation.set_slow(30)
    moderation.check_speech("carol", exempt=False)
