"""
The chat page in a real browser: Debian's Chromium, headless, driven by
Selenium through chromedriver, against twistd in a subprocess, next to an
nc-style socket user.  The screenshots in docs/ are written here.
"""

from __future__ import annotations

import http.server
import threading
import time
from pathlib import Path
from typing import Any

from servers import twistd
from web_browser import (
    DOCS,
    Page,
    free_port,
    nc_member,
    needs_chromium,
    operator_member,
    operators_file,
    wait_for,
)

pytestmark = needs_chromium


def test_a_browser_user_and_a_socket_user_chat(browser: Any, tmp_path: Path) -> None:
    with twistd(tmp_path, "--web", "tcp:0:interface=127.0.0.1") as server:
        page = Page(browser, server.web_port)
        page.join("alice")
        bob = nc_member(server.port, "bob")
        page.wait_line("bob joined")
        bob.send(b"hello alice, see https://example.org/notes.\n")
        page.wait_line("bob hello alice, see https://example.org/notes.")
        link = browser.execute_script(
            "const a = document.querySelector('.line.mention a');"
            "return a && [a.href, a.rel, a.target];"
        )
        assert link == ["https://example.org/notes", "noopener noreferrer", "_blank"]
        announced = page.by_id("announcer").get_attribute("textContent")
        assert announced == "bob: hello alice, see https://example.org/notes."
        page.say("hi bob")
        bob.expect("MSG alice hi bob")
        page.say("/me waves")
        bob.expect("ACTION alice waves")
        page.say("/msg bob psst")
        bob.expect("PRIVATE alice bob psst")
        page.say("/nick alicia")
        bob.expect("RENAME alice alicia")
        page.wait_line("alice is now alicia")
        stored = browser.execute_script("return localStorage.getItem('nick')")
        assert stored == "alicia"
        bob.close()
        server.stop()


def test_html_and_script_in_a_message_are_shown_as_text(
    browser: Any, tmp_path: Path
) -> None:
    hostile = (
        "<img src=x onerror=\"document.title='pwned'\">"
        "<script>document.title='pwned'</script><b>bold</b>"
    )
    with twistd(tmp_path, "--web", "tcp:0:interface=127.0.0.1") as server:
        page = Page(browser, server.web_port)
        page.join("alice")
        bob = nc_member(server.port, "bob")
        bob.send(hostile.encode() + b"\n")
        page.wait_line("bob " + hostile)
        elements = browser.execute_script(
            "return document.querySelectorAll('.log img, .log script, .log b').length"
        )
        assert elements == 0
        time.sleep(0.3)
        assert "pwned" not in browser.title
        bob.close()
        server.stop()


def test_a_browser_user_switches_rooms(browser: Any, tmp_path: Path) -> None:
    with twistd(tmp_path, "--web", "tcp:0:interface=127.0.0.1") as server:
        page = Page(browser, server.web_port)
        page.join("alice")
        bob = nc_member(server.port, "bob")
        bob.send(b"/join physics\n")
        bob.expect("ROOM physics")
        page.say("/join physics")
        wait_for(lambda: page.room() == "physics", "the physics room")
        bob.expect("JOIN alice")
        bob.send(b"welcome to physics\n")
        page.wait_line("bob welcome to physics")
        # Back to the lobby by clicking it in the list of rooms.
        lobby = wait_for(
            lambda: browser.find_element(
                "css selector", "button.room[data-room='lobby']"
            ),
            "the lobby in the list of rooms",
        )
        lobby.click()
        wait_for(lambda: page.room() == "lobby", "the lobby")
        bob.expect("LEAVE alice went to lobby")
        current = browser.execute_script(
            "return document.querySelector('button.room[aria-current]').dataset.room"
        )
        assert current == "lobby"
        bob.close()
        server.stop()


def test_the_page_reconnects_and_catches_up_once(browser: Any, tmp_path: Path) -> None:
    chat_port, web_port = free_port(), free_port()
    db = tmp_path / "history.db"
    port = f"tcp:{chat_port}:interface=127.0.0.1"
    web = ["--web", f"tcp:{web_port}:interface=127.0.0.1"]

    def run(name: str, *options: str) -> Any:
        workdir = tmp_path / name
        workdir.mkdir()
        # A join replay of 2 lines: what was missed comes by /since only.
        return twistd(
            workdir, "--history-db", str(db), "--history-replay", "2", *options,
            port=port,
        )  # fmt: skip

    with run("first", *web) as server:
        page = Page(browser, web_port)
        page.join("alice")
        bob = nc_member(chat_port, "bob")
        for i in (1, 2, 3):
            bob.send(f"before {i}\n".encode())
        page.wait_line("bob before 3")
        bob.close()
        server.stop()
    # The server restarted without its web port: the page cannot come back
    # while more is said.
    wait_for(lambda: page.by_id("offline").is_displayed(), "the offline notice")
    assert "lost" in page.by_id("offline").text
    with run("second") as server:
        bob = nc_member(chat_port, "bob")
        for i in (4, 5, 6):
            bob.send(f"while away {i}\n".encode())
        bob.expect("MSG bob while away 6")
        bob.close()
        server.stop()
    with run("third", *web) as server:
        page.wait_line("bob while away 6")
        bob = nc_member(chat_port, "bob")
        bob.send(b"after\n")
        page.wait_line("bob after")
        said = page.lines("msg")
        assert said == [
            "bob before 1",
            "bob before 2",
            "bob before 3",
            "bob while away 4",
            "bob while away 5",
            "bob while away 6",
            "bob after",
        ], said
        assert any("while you were away" in line for line in page.lines())
        assert not page.by_id("offline").is_displayed()
        bob.close()
        server.stop()


class _Hostile(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


def test_a_page_of_another_origin_cannot_open_the_socket(
    browser: Any, tmp_path: Path
) -> None:
    with twistd(tmp_path, "--web", "tcp:0:interface=127.0.0.1") as server:
        (tmp_path / "evil.html").write_text(
            "<!doctype html><title>evil</title><script>"
            f"const ws = new WebSocket('ws://127.0.0.1:{server.web_port}/ws');"
            "ws.onopen = () => { document.title = 'opened'; };"
            "ws.onclose = () => { if (document.title !== 'opened') "
            "document.title = 'refused'; };"
            "</script>"
        )
        handler = lambda *a: _Hostile(*a, directory=str(tmp_path))  # noqa: E731
        evil = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        thread = threading.Thread(target=evil.serve_forever, daemon=True)
        thread.start()
        try:
            browser.get(f"http://127.0.0.1:{evil.server_address[1]}/evil.html")
            wait_for(lambda: browser.title in ("opened", "refused"), "the socket")
            assert browser.title == "refused"
            server.wait_for_log(
                f"refused: a page from http://127.0.0.1:{evil.server_address[1]}"
            )
        finally:
            evil.shutdown()
            evil.server_close()
            thread.join(5)
        server.stop()


def test_screenshots_at_desktop_and_phone_widths(browser: Any, tmp_path: Path) -> None:
    with twistd(
        tmp_path, "--web", "tcp:0:interface=127.0.0.1", "--room", "lobby",
        "--room", "physics", "--rate", "0",
        "--operators", str(operators_file(tmp_path)),
    ) as server:  # fmt: skip
        teacher = operator_member(server.port)
        topic = "Week 12: optics · lab sheets due Friday"
        teacher.send(f"/topic {topic}\n".encode())
        bob = nc_member(server.port, "bob")
        bob.send(b"morning all! notes are at https://example.org/week-12\n")
        bob.send(b"/me puts the kettle on\n")
        page = Page(browser, server.web_port)
        page.join("alice")
        wait_for(lambda: page.by_id("topic").text == topic, "the topic")
        teacher.send(b"/announce the lab closes at 16:00 today\n")
        page.wait_line("Announcement from teacher: the lab closes at 16:00 today")
        carol = nc_member(server.port, "carol")
        carol.send(b"alice, can you share the lab sheet?\n")
        page.wait_line("carol alice, can you share the lab sheet?")
        page.say("sure, one moment")
        bob.send(b"<b>tags</b> show as text, not HTML\n")
        page.wait_line("bob <b>tags</b> show as text, not HTML")
        page.say("/rooms")
        wait_for(lambda: any(x.startswith("Rooms:") for x in page.lines()), "rooms")
        browser.set_window_size(1100, 720)
        time.sleep(0.3)
        assert browser.save_screenshot(str(DOCS / "web-desktop.png"))
        browser.set_window_size(390, 760)
        time.sleep(0.3)
        width = browser.execute_script("return document.documentElement.scrollWidth")
        assert width <= 390, "the page scrolls sideways on a phone"
        assert not page.by_id("side").is_displayed()
        assert page.by_id("say").is_displayed()
        assert browser.save_screenshot(str(DOCS / "web-phone.png"))
        page.by_id("toggle-side").click()
        assert page.by_id("side").is_displayed()
        for client in (teacher, bob, carol):
            client.close()
        server.stop()


def test_dark_mode_and_the_keyboard(browser: Any, tmp_path: Path) -> None:
    with twistd(tmp_path, "--web", "tcp:0:interface=127.0.0.1") as server:
        page = Page(browser, server.web_port)
        page.join("alice")
        # Typing goes to the message box as soon as the room is joined, and
        # Enter sends: no mouse needed.
        focused = browser.execute_script("return document.activeElement.id")
        assert focused == "say"
        background = "return getComputedStyle(document.body).backgroundColor"
        light = browser.execute_script(background)
        browser.execute_cdp_cmd(
            "Emulation.setEmulatedMedia",
            {"features": [{"name": "prefers-color-scheme", "value": "dark"}]},
        )
        dark = browser.execute_script(background)
        browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})
        assert light == "rgb(255, 255, 255)"
        assert dark == "rgb(21, 24, 28)"
        server.stop()
