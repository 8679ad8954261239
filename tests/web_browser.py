"""
The chat page in a real browser, for the tests: Debian's Chromium,
headless, driven by Selenium through chromedriver, read and typed into as a
person would; nc-style socket members next to it.
"""

from __future__ import annotations

import shutil
import socket
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from servers import SocketClient

from chatproto.operators import format_line, hash_password

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
PASSWORD = "a long and secret passphrase"
# Another loopback address for the operator: bans keep the page's out.
OPERATOR_ADDRESS = "127.0.0.10"
DOCS = Path(__file__).resolve().parent.parent / "docs"
WAIT = 15.0
FLAGS = (
    "--headless=new --no-sandbox --disable-gpu --disable-quic --no-first-run "
    "--disable-background-networking --disable-component-update --disable-sync"
).split()

needs_chromium = pytest.mark.skipif(
    not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()),
    reason="Chromium is not installed (Debian: apt-get install chromium "
    "chromium-driver; .ci/run installs them)",
)


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium, through chromedriver (see the C{browser} fixture)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="chatproto-chromium-")
    options = webdriver.ChromeOptions()
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.add_argument("--window-size=1100,720")
    options.binary_location = CHROMIUM
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(WAIT)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def wait_for(what: Callable[[], Any], message: str, timeout: float = WAIT) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            found = what()
        except Exception:  # the page may be between two states
            found = None
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {message}")


class Page:
    """
    The chat page in the browser, read and typed into as a person would.
    """

    def __init__(self, driver: Any, port: int) -> None:
        self.driver = driver
        self.url = f"http://127.0.0.1:{port}/"
        driver.set_window_size(1100, 720)
        driver.get(self.url)
        driver.execute_script("localStorage.clear()")
        driver.get(self.url)

    def by_id(self, name: str) -> Any:
        from selenium.webdriver.common.by import By

        return self.driver.find_element(By.ID, name)

    def join(self, nick: str) -> None:
        wait_for(lambda: self.by_id("nick").is_displayed(), "the nickname form")
        self.by_id("nick").send_keys(nick + "\n")
        wait_for(lambda: self.by_id("say").is_enabled(), "the message box")

    def say(self, text: str) -> None:
        box = self.by_id("say")
        wait_for(box.is_enabled, "the message box")
        box.send_keys(text + "\n")

    def lines(self, kind: str = "") -> list[str]:
        """
        The visible conversation, one string per line, without the times
        (only the lines of class C{kind}, e.g. C{msg}, if given).
        """
        return list(
            self.driver.execute_script(
                "return [...document.querySelectorAll("
                f"'.log:not([hidden]) .line{'.' + kind if kind else ''}')]"
                ".map(l => [...l.children].filter(c => c.tagName !== 'TIME')"
                ".map(c => c.textContent).join(' '))"
            )
        )

    def wait_line(self, text: str) -> None:
        wait_for(lambda: text in self.lines(), f"{text!r} in {self.lines()!r}")

    def room(self) -> str:
        return str(self.by_id("room-name").text)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def nc_member(port: int, nick: str) -> SocketClient:
    client = SocketClient(port)
    client.expect("NICK")
    client.send(nick.encode() + b"\n")
    client.expect("USERS", prefix=True)
    return client


def operators_file(directory: Path) -> Path:
    """An operators file for C{teacher}, made with chatproto.operators."""
    path = directory / "operators"
    # The cheapest scrypt cost the server takes: the tests check the page.
    path.write_text(format_line("teacher", hash_password(PASSWORD, n=2**10)) + "\n")
    path.chmod(0o600)
    return path


def operator_member(port: int) -> SocketClient:
    """C{teacher}, logged in with /oper before its (reserved) nickname."""
    client = SocketClient(port, source=OPERATOR_ADDRESS)
    client.expect("NICK")
    client.send(f"/oper teacher {PASSWORD}\nteacher\n".encode())
    client.expect("JOIN teacher")
    return client
