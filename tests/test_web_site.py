"""
The web site's Origin check, origins and addresses, and the --web options.
"""

from __future__ import annotations

import re

import pytest
from helpers import Server
from twisted.python import usage
from web_helpers import WebClient, site_for

from chatproto import tap
from chatproto.web import addresses
from chatproto.web.addresses import web_addresses
from chatproto.web.origins import normal_origin, page_origin


def test_the_pages_own_origin_may_open_the_websocket() -> None:
    server = Server()
    client = WebClient(site_for(server.server), server.clock)
    assert client.status == 101
    assert client.received() == ["NICK"]


@pytest.mark.parametrize(
    "origin",
    ["http://evil.example", "http://127.0.0.1:8081", "https://127.0.0.1:8080", "null"],
)
def test_another_origin_is_refused_with_a_clear_answer(origin: str) -> None:
    server = Server()
    client = WebClient(site_for(server.server), server.clock, origin=origin)
    assert client.status == 403
    assert b"does not take connections from pages of " + origin.encode() in client.body
    assert b"--web-origin" in client.body
    assert not server.server.sessions


def test_origins_the_operator_allows_may_open_it() -> None:
    server = Server()
    site = site_for(server.server, ("https://chat.example.org",))
    allowed = WebClient(site, server.clock, origin="https://CHAT.example.org:443")
    assert allowed.status == 101
    other = WebClient(site, server.clock, origin="https://chat.example.org:8443")
    assert other.status == 403


def test_a_client_without_origin_is_no_browser_and_may_connect() -> None:
    server = Server()
    client = WebClient(site_for(server.server), server.clock, origin=None)
    assert client.status == 101


def test_the_websocket_is_at_one_path_only() -> None:
    server = Server()
    client = WebClient(site_for(server.server), server.clock, path="/ws/more")
    assert client.status == 404


@pytest.mark.parametrize(
    ("text", "normal"),
    [
        ("http://Example.ORG", "http://example.org"),
        ("http://example.org:80", "http://example.org"),
        ("https://example.org:443/", "https://example.org"),
        ("https://example.org:8443", "https://example.org:8443"),
        ("http://[::1]:8080", "http://[::1]:8080"),
        ("http://192.168.1.20:8080", "http://192.168.1.20:8080"),
        ("null", None),
        ("ftp://example.org", None),
        ("http://example.org/path", None),
        ("http://user@example.org", None),
        ("http://example.org:99999", None),
        ("example.org", None),
    ],
)
def test_origins_are_compared_in_normal_form(text: str, normal: str | None) -> None:
    assert normal_origin(text) == normal


def test_the_pages_origin_comes_from_its_host_and_scheme() -> None:
    assert page_origin(False, "Chat.Local:8080") == "http://chat.local:8080"
    assert page_origin(True, "chat.local:443") == "https://chat.local"
    assert page_origin(False, None) is None


def test_the_web_options() -> None:
    options = tap.Options()
    options.parseOptions(
        ["--web", "8080", "--web-origin", "HTTPS://chat.example.org:443"]
        + ["--web-origin", "http://10.0.0.5:8080"]
    )
    assert options["web"] == "tcp:8080:backlog=1024"
    assert options["web-origins"] == [
        "https://chat.example.org",
        "http://10.0.0.5:8080",
    ]
    with pytest.raises(usage.UsageError, match="--web-origin takes an origin"):
        tap.Options().parseOptions(["--web-origin", "chat.example.org"])


def test_web_is_off_by_default() -> None:
    options = tap.Options()
    options.parseOptions([])
    assert options["web"] is None
    assert tap._web(options, Server().server) is None


def test_the_banner_names_every_address_of_the_machine(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(
        addresses, "local_addresses", lambda: ["10.0.0.5", "192.168.1.20"]
    )
    assert web_addresses("tcp:8080") == [
        "http://10.0.0.5:8080/",
        "http://192.168.1.20:8080/",
    ]
    assert web_addresses("tcp:port=8080:interface=0.0.0.0") == [
        "http://10.0.0.5:8080/",
        "http://192.168.1.20:8080/",
    ]
    assert web_addresses("ssl:443:privateKey=k.pem:certKey=c.pem") == [
        "https://10.0.0.5/",
        "https://192.168.1.20/",
    ]
    assert web_addresses("tcp:8080:interface=127.0.0.1") == ["http://127.0.0.1:8080/"]
    assert web_addresses("tcp6:8080:interface=\\:\\:1") == ["http://[::1]:8080/"]
    assert "proxy" in web_addresses("unix:/run/chat.sock")[0]


def test_local_addresses_are_real_and_not_loopback() -> None:
    found = addresses.local_addresses()
    assert "127.0.0.1" not in found
    for address in found:
        assert address.count(".") == 3


def test_the_banner_line_says_where_the_page_is(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from twisted.logger import globalLogPublisher

    monkeypatch.setattr(addresses, "local_addresses", lambda: ["192.168.1.20"])
    options = tap.Options()
    options.parseOptions(["--web", "tcp:8080"])
    seen: list[str] = []

    def observe(event: dict[str, object]) -> None:
        if "web" in event:
            seen.append(str(event["web"]))

    globalLogPublisher.addObserver(observe)
    try:
        tap._Banner(options, {}).startService()
    finally:
        globalLogPublisher.removeObserver(observe)
    assert seen == ["http://192.168.1.20:8080/"]


def test_the_pages_list_of_commands_names_every_command_people_type() -> None:
    from chatproto.commands import _COMMANDS
    from chatproto.web.site import STATIC

    page = (STATIC / "index.html").read_text()
    # The page sends /since and /ids itself, to catch up.
    typed = set(_COMMANDS) - {"since", "ids"}
    missing = sorted(
        name for name in typed if not re.search(f"<kbd>/{name}[ <]", page)
    )
    assert missing == []
