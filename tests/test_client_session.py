"""The client's behaviour (Session) with a fake UI, StringTransport and a Clock."""

from __future__ import annotations

import signal

from client_helpers import Harness
from twisted.internet import error
from twisted.python.failure import Failure

from chatproto.client.session import NICK_TIMEOUT, Session, describe, signal_name


def test_given_nickname_is_sent_when_asked() -> None:
    h = Harness("alice")
    h.join("alice")
    assert h.session.me == "alice"
    assert h.ui.shown == [
        "12:00 -- Welcome alice to lobby",
        "12:00 -- in the room (2): alice, bob",
    ]
    assert h.ui.states[-1] == ("alice", True)
    assert h.session.members == {"alice", "bob"}


def test_interactive_asks_for_a_nickname_and_again_after_a_rejection() -> None:
    h = Harness(None)
    h.server("NICK")
    assert h.ui.asked == 1 and h.sent() == ["/ids on"]
    h.session.choose_nick("  alice  ")
    assert h.sent() == ["alice"]
    h.server("ERROR nick-taken alice is already here", "NICK")
    assert h.ui.warnings == ["nickname 'alice' not accepted: alice is already here"]
    assert h.ui.asked == 2
    h.session.choose_nick("")
    assert h.ui.asked == 3 and h.sent() == []
    h.session.choose_nick("alice2")
    assert h.sent() == ["alice2"]
    h.server("WELCOME alice2 hi")
    assert h.session.me == "alice2" and h.status == []


def test_pipe_mode_rejected_nickname_fails() -> None:
    h = Harness("bad nick", interactive=False)
    h.server("NICK")
    h.server("ERROR nick-invalid a nickname is 1 to 24 letters", "NICK")
    assert h.ui.warnings == [
        "nickname 'bad nick' rejected: a nickname is 1 to 24 letters"
    ]
    assert h.status == [1]
    assert h.transport.disconnecting
    assert h.sent() == ["/ids on", "bad nick"]  # and nothing after the second NICK


def test_pipe_mode_sends_lines_once_joined_then_quits_at_end_of_input() -> None:
    h = Harness("bot", interactive=False)
    h.session.input_line("early line")
    h.session.input_line("   ")
    h.session.input_line("/me waves")
    h.session.input_ended()
    assert h.status == []
    h.join("bot")
    assert h.sent() == ["early line", "/me waves", "/quit"]
    assert h.status == []  # waits for the server to close
    h.drop()
    assert h.status == [0]


def test_pipe_mode_quit_line_stops_sending() -> None:
    h = Harness("bot", interactive=False)
    h.join("bot")
    h.session.input_line("bye")
    h.session.input_line("/QUIT done")
    h.session.input_line("never sent")
    h.session.input_ended()
    assert h.sent() == ["bye", "/QUIT done"]
    h.drop()
    assert h.status == [0]


def test_quit_waits_a_bounded_time_for_the_server() -> None:
    h = Harness("alice")
    h.join("alice")
    h.session.quit()
    assert h.sent() == ["/quit"]
    h.clock.advance(Session.QUIT_TIMEOUT - 0.1)
    assert h.status == []
    h.clock.advance(0.2)
    assert h.status == [0]
    assert h.transport.disconnecting
    assert not h.clock.getDelayedCalls()


def test_quit_waits_longer_while_the_server_is_still_sending() -> None:
    h = Harness("bot", interactive=False)
    h.join("bot")
    for n in range(3):
        h.session.input_line(f"line {n}")
    h.session.input_ended()
    assert h.sent() == ["line 0", "line 1", "line 2", "/quit"]
    for n in range(3):  # a rate-limiting server works through them slowly
        h.clock.advance(Session.QUIT_TIMEOUT - 1)
        h.server(f"MSG bot line {n}")
    assert h.status == []
    h.clock.advance(Session.QUIT_TIMEOUT - 1)
    h.drop()
    assert h.status == [0]


def test_pipe_mode_quit_timeout_is_a_failure() -> None:
    h = Harness("bot", interactive=False)
    h.join("bot")
    h.session.input_ended()
    assert h.sent() == ["/quit"]
    h.clock.advance(Session.QUIT_TIMEOUT + 1)
    assert h.status == [1]


def test_typed_lines_are_sent_as_they_are() -> None:
    h = Harness("alice")
    h.join("alice")
    for line in ("hello", "/who", "/me waves", "/msg bob hi", "//not a command"):
        assert h.session.submit(line)
    assert h.sent() == ["hello", "/who", "/me waves", "/msg bob hi", "//not a command"]
    assert h.session.submit("/quit see you")
    assert h.sent() == ["/quit see you"]
    assert h.session.quitting
    h.drop()
    assert h.status == [0]
    assert h.ui.notices[-1] == "you left the room"


def test_nothing_is_sent_before_joining() -> None:
    h = Harness(None)
    assert not h.session.submit("hello")
    assert h.sent() == []


def test_reconnect_rejoins_with_the_same_nickname() -> None:
    h = Harness("alice")
    h.join("alice")
    h.live("RENAME alice alicia")
    assert h.session.nick == "alicia"
    h.drop(error.ConnectionLost())
    assert h.ui.notices == ["disconnected: the connection was lost"]
    assert h.ui.states[-1] == ("alicia", False)
    assert not h.session.submit("while away")
    h.session.retry_scheduled(1, 0.7)
    h.session.retry_scheduled(2, 2.2)
    assert h.ui.notices[1:] == [
        "reconnecting in 1 s...",
        "still no server; trying again in 2 s...",
    ]
    assert h.status == []
    h.connect()
    h.join("alicia", since=102)
    assert h.ui.notices[-1] == "reconnected: you are back in the room as alicia"
    assert h.ui.states[-1] == ("alicia", True)
    assert h.session.submit("back")


def test_after_reconnect_a_taken_nickname_is_asked_again_interactively() -> None:
    h = Harness("alice")
    h.join("alice")
    h.drop()
    h.connect()
    h.server("NICK")
    assert h.sent() == ["/ids on", "/since 101", "alice"]
    h.server("ERROR nick-taken alice is already here", "NICK")
    assert h.ui.asked == 1
    assert h.status == []


def test_after_reconnect_a_taken_nickname_fails_in_pipe_mode() -> None:
    h = Harness("bot", interactive=False)
    h.join("bot")
    h.drop()
    h.connect()
    h.server("NICK", "ERROR nick-taken bot is already here", "NICK")
    assert h.status == [1]


def test_pipe_mode_keeps_lines_while_reconnecting() -> None:
    h = Harness("bot", interactive=False)
    h.join("bot")
    h.drop()
    h.session.input_line("typed while away")
    h.session.input_ended()
    h.connect()
    h.join("bot", since=101)
    assert h.sent() == ["typed while away", "/quit"]


def test_no_reconnect_ends_with_an_error() -> None:
    h = Harness("alice", reconnect=False)
    h.join("alice")
    h.drop()
    assert h.ui.warnings == ["disconnected: the server closed the connection"]
    assert h.status == [1]


def test_closed_before_joining_the_first_time_is_an_error() -> None:
    h = Harness(None)
    h.server("NICK")
    h.drop()
    assert h.ui.warnings == [
        "the server closed the connection before you joined the room"
    ]
    assert h.status == [1]


def test_too_many_attempts_ends_the_session() -> None:
    h = Harness(None)
    h.server("ERROR too-many-attempts too many rejected nicknames")
    h.drop()
    assert h.ui.warnings == ["too many rejected nicknames"]
    assert h.status == [1]


def test_server_full_on_the_first_connection_is_one_error() -> None:
    h = Harness("bot", interactive=False)
    h.server("ERROR server-full the server is full; try again later")
    h.drop()
    assert h.ui.warnings == ["the server is full; try again later"]
    assert h.status == [1]


def test_server_full_while_reconnecting_keeps_trying() -> None:
    h = Harness("alice")
    h.join("alice")
    h.drop()
    h.connect()
    h.server("ERROR server-full the server is full; try again later")
    h.drop()
    assert h.status == []
    h.connect()
    h.join("alice", since=101)
    assert h.ui.notices[-1].startswith("reconnected")


def test_handshake_timeout_ends_the_session() -> None:
    h = Harness("alice")
    h.join("alice")
    h.drop()
    h.connect()
    h.server("NICK", "ERROR nick-taken alice is already here", "NICK")
    h.server("ERROR handshake-timeout no nickname chosen in 60 seconds")
    h.drop()
    assert h.ui.warnings[-1] == "no nickname chosen in 60 seconds"
    assert h.status == [1]


def test_first_connection_failure() -> None:
    h = Harness("alice")
    h.session.connect_failed(Failure(error.ConnectionRefusedError()), "localhost:4000")
    assert h.ui.warnings == ["cannot connect to localhost:4000: connection refused"]
    assert h.status == [1]
    h.session.connect_failed(Failure(error.ConnectionRefusedError()), "again")
    assert h.status == [1]


def test_quit_before_joining_exits_at_once() -> None:
    h = Harness(None)
    h.server("NICK")
    h.session.choose_nick("/quit")
    assert h.status == [0]


def test_server_errors_are_warnings_and_keep_the_session() -> None:
    h = Harness("alice")
    h.join("alice")
    h.server("ERROR unknown-command no command /frob; /help lists the commands")
    h.server("ERROR nick-taken bob is already here")  # a /nick, once joined
    assert h.ui.warnings == [
        "no command /frob; /help lists the commands",
        "bob is already here",
    ]
    assert h.session.me == "alice" and h.status == []


def test_members_follow_the_room() -> None:
    h = Harness("alice")
    h.join("alice")
    h.server("JOIN carol", "RENAME bob rob", "LEAVE carol bye")
    assert h.session.members == {"alice", "rob"}


def test_describe_failures_in_plain_words() -> None:
    assert describe(Failure(error.ConnectionRefusedError())) == "connection refused"
    assert describe(Failure(error.DNSLookupError("x"))) == "unknown host name"
    assert describe(Failure(error.TimeoutError())).startswith("no answer")
    assert describe(Failure(ValueError("odd"))) == "odd"


# A port where something else listens: it takes the connection, never says NICK.


def test_no_nick_from_the_server_ends_the_first_connection() -> None:
    h = Harness("alice", interactive=False)
    h.clock.advance(NICK_TIMEOUT - 0.1)
    assert h.ui.warnings == [] and h.status == []
    h.clock.advance(0.1)
    assert h.ui.warnings == [
        "no chat server at chat.example:4000: it took the connection but did not "
        "ask for a nickname within 10 s (is it the right port?)"
    ]
    assert h.status == [1]
    assert h.transport.disconnecting
    h.drop()  # the close: nothing more to say
    assert len(h.ui.warnings) == 1 and not h.clock.getDelayedCalls()


def test_no_nick_timer_stops_at_nick() -> None:
    h = Harness("alice")
    h.clock.advance(NICK_TIMEOUT - 1)
    h.join("alice")
    h.clock.advance(10 * NICK_TIMEOUT)
    assert h.ui.warnings == [] and h.status == []
    assert not h.clock.getDelayedCalls()


def test_no_nick_timer_stops_when_the_connection_drops() -> None:
    h = Harness("alice")
    h.join("alice")
    h.drop()
    h.connect()
    h.drop()
    assert not h.clock.getDelayedCalls()


def test_no_nick_while_reconnecting_tries_again() -> None:
    h = Harness("alice")
    h.join("alice")
    h.drop()
    h.connect()
    notices = len(h.ui.notices)
    h.clock.advance(NICK_TIMEOUT)
    assert h.ui.notices[notices:] == [
        "no chat server at chat.example:4000: it took the connection but did not "
        "ask for a nickname within 10 s (is it the right port?); trying again"
    ]
    assert h.transport.disconnecting
    h.drop()
    assert h.ui.notices[notices + 1 :] == []  # no "disconnected: ..." as well
    assert h.ui.states[-1] == ("alice", False)
    assert h.status == []
    h.connect()
    h.join("alice", since=101)
    assert h.ui.notices[-1] == "reconnected: you are back in the room as alice"


# Stopped by a signal (kill, or Ctrl-C in pipe mode).


def test_a_signal_is_said_as_it_is_and_the_drop_that_follows_is_not() -> None:
    h = Harness("alice", interactive=False)
    h.join("alice")
    h.sent()
    h.session.stopped(signal.SIGTERM)
    assert h.ui.notices[-1] == "stopped by SIGTERM"
    # Standard input closes as the program stops.
    h.session.input_line("not sent after the signal")
    h.session.input_ended()
    h.drop(error.ConnectionLost())
    assert h.ui.warnings == []
    assert "disconnected" not in " ".join(h.ui.notices)
    assert h.sent() == []  # no line, no /quit: the program is stopping
    assert not h.clock.getDelayedCalls()


def test_signal_names_for_people() -> None:
    assert signal_name(signal.SIGTERM) == "SIGTERM"
    assert signal_name(signal.SIGINT) == "Ctrl-C (SIGINT)"
    assert signal_name(None) == "a signal"


# TLS failures in words.


def test_a_certificate_for_another_name_is_said_in_words() -> None:
    from service_identity import VerificationError
    from service_identity.exceptions import DNSMismatch, IPAddressMismatch
    from service_identity.hazmat import DNS_ID, IPAddress_ID

    wrong_ip = VerificationError(
        errors=[IPAddressMismatch(mismatched_id=IPAddress_ID("127.0.0.1"))]
    )
    assert describe(Failure(wrong_ip)) == (
        "TLS failed: the server's certificate is not valid for 127.0.0.1; give "
        "--host the name the certificate was made for"
    )
    wrong_name = VerificationError(
        errors=[DNSMismatch(mismatched_id=DNS_ID("chat.example"))]
    )
    assert "not valid for chat.example;" in describe(Failure(wrong_name))
    h = Harness("alice", interactive=False)
    h.drop(wrong_ip)
    assert h.ui.warnings == [describe(Failure(wrong_ip))]


def test_other_tls_failures_in_words() -> None:
    from OpenSSL.SSL import Error as TLSError

    untrusted = TLSError([("SSL routines", "", "certificate verify failed")])
    assert describe(Failure(untrusted)).startswith(
        "TLS failed: the server's certificate is not trusted"
    )
    plain = TLSError([("SSL routines", "", "wrong version number")])
    assert describe(Failure(plain)) == (
        "TLS failed: the server does not speak TLS on this port (leave out "
        "--tls, or use the server's TLS port)"
    )
