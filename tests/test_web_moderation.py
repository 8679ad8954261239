"""
The chat page under moderation, in a real browser (Chromium, headless):
twistd with an operators file, a teacher over a raw socket (or the page
itself) logged in with /oper; topics, notices, announcements, mutes, slow
mode, and being put out of the server, as the person at the page sees them.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from servers import twistd
from web_browser import (
    PASSWORD,
    Page,
    needs_chromium,
    operator_member,
    operators_file,
    wait_for,
)

pytestmark = needs_chromium

# Longer than the page's first reconnection delay (1 s, give or take 20 %).
NO_RECONNECT_WAIT = 3.0


def moderated(directory: Path) -> Any:
    options = ("--web", "tcp:0:interface=127.0.0.1", "--room", "lobby")
    return twistd(directory, "--operators", str(operators_file(directory)), *options)


def announced(page: Page) -> str:
    return str(page.by_id("announcer").get_attribute("textContent"))


def count_connections(browser: Any) -> None:
    """From now on, count the WebSockets the page opens in window.opened."""
    browser.execute_script(
        "window.opened = 0; const Real = window.WebSocket;"
        "window.WebSocket = function (url) {"
        " window.opened += 1; return new Real(url); };"
    )


def assert_stays_offline(page: Page, browser: Any, why: str) -> None:
    wait_for(lambda: page.by_id("offline").is_displayed(), "the offline notice")
    assert page.by_id("offline-why").text == why
    assert not page.by_id("retry").is_displayed()
    assert not page.by_id("nick-form").is_displayed()
    # The browser coming back online does not bring the page back either.
    browser.execute_script("window.dispatchEvent(new Event('online'))")
    time.sleep(NO_RECONNECT_WAIT)
    assert browser.execute_script("return window.opened") == 0
    assert browser.execute_script("return window.chat.connected") is False


def test_a_teacher_moderates_a_browser_user(browser: Any, tmp_path: Path) -> None:
    with moderated(tmp_path) as server:
        page = Page(browser, server.web_port)
        page.join("ann")
        assert not page.by_id("topic").is_displayed()
        boss = operator_member(server.port)
        page.wait_line("teacher joined")

        boss.send(b"/topic Week 12: optics\n")
        wait_for(lambda: page.by_id("topic").text == "Week 12: optics", "the topic")
        page.wait_line("\u2691 teacher set the topic: Week 12: optics")
        assert announced(page) == "The topic of lobby is now: Week 12: optics"

        boss.send(b"/announce fire drill at 10:00\n")
        page.wait_line("Announcement from teacher: fire drill at 10:00")
        assert announced(page) == "Announcement from teacher: fire drill at 10:00"
        assert page.lines("announce") == [
            "Announcement from teacher: fire drill at 10:00"
        ]

        boss.send(b"/mute ann 5\n")
        page.wait_line("\u2691 teacher muted ann for 5 minutes")
        assert page.lines("mention")[-1] == "\u2691 teacher muted ann for 5 minutes"
        page.say("may I speak?")
        refused = wait_for(lambda: page.lines("refused"), "the refusal")
        assert refused[-1].startswith("You are muted in lobby until "), refused
        assert refused[-1].endswith(
            "(in 5 minutes): you can still read, but what you write is not sent."
            " It is back in the message box."
        ), refused
        assert announced(page) == refused[-1]
        assert page.by_id("say").get_attribute("value") == "may I speak?"

        boss.send(b"/unmute ann\n/slow 60\n")
        page.wait_line("\u2691 teacher set slow mode: one line every 60 seconds")
        page.by_id("say").clear()
        page.say("one")
        boss.expect("MSG ann one")
        page.say("two")
        refused = wait_for(lambda: page.lines("refused")[1:], "the slow-mode refusal")
        assert refused[-1].startswith(
            "lobby is in slow mode: one message every 60 seconds. Your message was "
            "not sent; wait 60 seconds (until "
        ), refused
        assert page.by_id("say").get_attribute("value") == "two"

        # Kicked from the default room: final; a reload may come back.
        count_connections(browser)
        boss.send(b"/kick ann\n")
        boss.expect("LEAVE ann kicked by teacher")
        wait_for(
            lambda: page.lines("refused")[-1] == "You were kicked by teacher.",
            "the kick",
        )
        why = "You were kicked by teacher. Reload the page to join again."
        assert_stays_offline(page, browser, why)

        browser.refresh()
        wait_for(lambda: page.by_id("say").is_enabled(), "the page back in")
        boss.expect("JOIN ann")
        wait_for(lambda: page.by_id("topic").text == "Week 12: optics", "the topic")

        # Banned: final, and a reload is refused in plain words.
        count_connections(browser)
        boss.send(b"/ban ann\n")
        boss.expect("LEAVE ann banned by teacher")
        assert_stays_offline(page, browser, "You were banned by teacher.")
        browser.refresh()
        count_connections(browser)
        assert_stays_offline(
            page, browser, "Your address is banned from this server until lifted."
        )
        boss.close()
        server.stop()


def masking(browser: Any) -> str:
    """How the message box shows what is typed: "disc" hides it."""
    return str(
        browser.execute_script(
            "return getComputedStyle(document.getElementById('say'))"
            ".webkitTextSecurity"
        )
    )


def test_an_operator_at_the_page(browser: Any, tmp_path: Path) -> None:
    with moderated(tmp_path) as server:
        page = Page(browser, server.web_port)
        page.join("miss_t")
        page.say("/oper teacher not the password")
        wait_for(
            lambda: page.lines("refused")
            == ["Not allowed: wrong operator name or password."],
            "the refusal",
        )
        assert page.by_id("say").get_attribute("value") == ""
        assert masking(browser) == "none"
        box = page.by_id("say")
        box.send_keys(f"/oper teacher {PASSWORD}")
        # Not shown while typed (others may see the screen), gone once sent.
        assert masking(browser) == "disc"
        box.send_keys("\n")
        page.wait_line("you are an operator now (teacher)")
        assert masking(browser) == "none"
        page.say("/topic Lab day")
        wait_for(lambda: page.by_id("topic").text == "Lab day", "the topic")
        # The password is kept nowhere the page can reach.
        kept = browser.execute_script(
            "return [document.documentElement.outerHTML,"
            " JSON.stringify(Object.entries(localStorage)),"
            " document.getElementById('say').value].join(' ')"
        )
        assert PASSWORD not in kept
        assert "not the password" not in kept
        # The operator's reserved nickname is theirs now.
        page.say("/nick teacher")
        wait_for(lambda: page.by_id("status").text == "Online as teacher", "teacher")
        stored = browser.execute_script("return localStorage.getItem('nick')")
        assert stored == "teacher"
        server.stop()
