"""Rendering events for people: text, styles, colours, neutralised controls."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from chatproto.client.events import (
    Action,
    Error,
    Historic,
    HistoryEnd,
    Info,
    Joined,
    Left,
    Message,
    NickRequest,
    Numbered,
    Private,
    Renamed,
    Users,
    Welcome,
)
from chatproto.client.render import (
    NICK_COLOURS,
    ansi,
    clean,
    nick_colour,
    plain,
    render,
    render_past,
)
from chatproto.client.terminal import wants_colour

WHEN = datetime(2024, 5, 6, 9, 7, 30)
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029]")
COLOUR_SGR = re.compile(r"\x1b\[[0-9;]*(3[0-9]|9[0-7])[0-9;]*m")


def text(event: object, me: str | None = "alice") -> str:
    line = render(event, me, WHEN)  # type: ignore[arg-type]
    assert line is not None
    return plain(line)


def test_messages_and_actions() -> None:
    assert text(Message("bob", "hi there")) == "09:07 <bob> hi there"
    assert text(Action("bob", "waves")) == "09:07 * bob waves"


def test_private_messages_say_private_and_who() -> None:
    assert text(Private("bob", "alice", "psst")) == "09:07 [private] bob -> you: psst"
    assert text(Private("alice", "bob", "hey")) == "09:07 [private] you -> bob: hey"


def test_quiet_notices() -> None:
    assert text(Joined("bob")) == "09:07 -- bob joined"
    assert text(Left("bob", "connection lost")) == "09:07 -- bob left (connection lost)"
    assert text(Left("bob", "")) == "09:07 -- bob left"
    assert text(Renamed("bob", "rob")) == "09:07 -- bob is now known as rob"
    assert text(Renamed("al", "alice")) == "09:07 -- you are now known as alice"
    assert text(Users(("alice", "bob"))) == "09:07 -- in the room (2): alice, bob"
    assert (
        text(Welcome("alice", "to lobby; type /help"))
        == "09:07 -- Welcome alice to lobby; type /help"
    )
    assert text(Info("/who lists the members")) == "09:07 /who lists the members"


def test_own_join_and_nick_request_show_nothing() -> None:
    assert render(Joined("alice"), "alice", WHEN) is None
    assert render(NickRequest(), "alice", WHEN) is None


def test_errors_show_the_reason_in_words_and_in_red() -> None:
    line = render(Error("no-such-nick", "nobody is called carol"), "alice", WHEN)
    assert line is not None
    assert plain(line) == "09:07 ! nobody is called carol"
    assert "\x1b[1;31m! nobody is called carol" in ansi(line)
    assert text(Error("mystery", "")) == "09:07 ! mystery"


def test_private_and_errors_and_notices_look_different() -> None:
    styles = {
        kind: {s.style for s in render(event, "alice", WHEN) or ()}
        for kind, event in {
            "msg": Message("bob", "hi"),
            "private": Private("bob", "alice", "hi"),
            "error": Error("usage", "say more"),
            "notice": Joined("bob"),
        }.items()
    }
    assert "private" in styles["private"] and "private" not in styles["msg"]
    assert "error" in styles["error"] and "error" not in styles["msg"]
    assert "notice" in styles["notice"] and "notice" not in styles["msg"]


def test_mentions_of_me_stand_out() -> None:
    line = render(Message("bob", "hey Alice, look"), "alice", WHEN)
    assert line is not None and line[-1].style == "mention"
    line = render(Message("bob", "malice aforethought"), "alice", WHEN)
    assert line is not None and line[-1].style == ""


def test_each_nickname_has_a_stable_colour() -> None:
    assert nick_colour("alice") == nick_colour("alice") == nick_colour("ALICE")
    colours = {nick_colour(n) for n in ("alice", "bob", "carol", "dave", "eve", "zoë")}
    assert len(colours) >= 3
    assert colours <= set(NICK_COLOURS)
    line = render(Message("bob", "hi"), "alice", WHEN)
    assert line is not None
    assert f"\x1b[1;{nick_colour('bob')}mbob\x1b[0m" in ansi(line)


def test_no_colour_keeps_no_colour_codes() -> None:
    for event in (
        Message("bob", "hi"),
        Private("bob", "alice", "hi"),
        Error("usage", "x"),
        Info("help"),
    ):
        line = render(event, "alice", WHEN)
        assert line is not None
        assert COLOUR_SGR.search(ansi(line, colour=True))
        assert not COLOUR_SGR.search(ansi(line, colour=False))
    assert not wants_colour({"NO_COLOR": "1"})
    assert wants_colour({"NO_COLOR": ""})
    assert wants_colour({})


def test_control_characters_are_neutralised() -> None:
    evil = "hi\x1b[2J\x1b]0;pwned\x07\r\x08\x9b31m\u202eevil\x00\ttab"
    r = "\ufffd"
    assert clean(evil) == f"hi{r}[2J{r}]0;pwned{r}{r}{r}{r}31m{r}evil{r} tab"
    line = render(Message("b\x1bob", evil), "alice", WHEN)
    assert line is not None
    assert not CONTROL.search(plain(line))
    without_sgr = re.sub(r"\x1b\[[0-9;]*m", "", ansi(line))
    assert not CONTROL.search(without_sgr)


@given(st.text(), st.text(min_size=1))
def test_rendered_text_never_holds_a_control_character(body: str, nick: str) -> None:
    for event in (Message(nick, body), Action(nick, body), Private(nick, "x", body)):
        line = render(event, "me", WHEN)
        assert line is not None
        assert not CONTROL.search(plain(line))
        assert not CONTROL.search(re.sub(r"\x1b\[[0-9;]*m", "", ansi(line)))


def sgr_codes(text: str) -> list[str]:
    return [c for c in re.findall(r"\x1b\[([0-9;]*)m", text) if c != "0"]


PARIS = timezone(timedelta(hours=1))


def past(event: object, said: datetime, me: str | None = "alice") -> str:
    line = render_past(Historic(7, said, event), me, WHEN, PARIS)  # type: ignore[arg-type]
    assert line is not None
    return plain(line)


def test_numbered_lines_look_like_plain_ones() -> None:
    assert text(Numbered(5, Message("bob", "hi"))) == text(Message("bob", "hi"))
    assert render(Numbered(5, Joined("alice")), "alice", WHEN) is None
    assert render(HistoryEnd(5), "alice", WHEN) is None


def test_history_has_the_time_it_was_said_in_local_time() -> None:
    said = datetime(2024, 5, 6, 7, 2, 11, tzinfo=UTC)  # 08:02 in PARIS
    assert past(Message("bob", "anyone here?"), said) == "08:02 <bob> anyone here?"
    assert past(Action("bob", "waves"), said) == "08:02 * bob waves"
    assert past(Left("bob", "connection lost"), said) == (
        "08:02 -- bob left (connection lost)"
    )
    # Our own JOIN from an earlier visit is history too, not a welcome.
    assert past(Joined("alice"), said) == "08:02 -- alice joined"


def test_history_from_another_day_has_the_date() -> None:
    said = datetime(2024, 5, 5, 22, 30, tzinfo=UTC)  # 23:30 the day before
    assert past(Message("bob", "late"), said) == "2024-05-05 23:30 <bob> late"


def test_history_is_dimmed_and_live_lines_are_not() -> None:
    said = datetime(2024, 5, 6, 7, 2, 11, tzinfo=UTC)
    old = render_past(Historic(7, said, Message("bob", "hey alice")), "alice", WHEN)
    new = render(Message("bob", "hey alice"), "alice", WHEN)
    assert old is not None and new is not None
    assert {span.style for span in old} == {"past"}
    assert "past" not in {span.style for span in new}
    # Every span of the old line is dim (nicks keep their colour); of the
    # live line only the time stamp is.
    assert all(c.split(";")[0] == "2" for c in sgr_codes(ansi(old)))
    assert sgr_codes(ansi(old, colour=False)) == ["2"] * 5
    assert [c for c in sgr_codes(ansi(new)) if c.split(";")[0] == "2"] == ["2"]
    assert "\x1b" not in plain(old)
