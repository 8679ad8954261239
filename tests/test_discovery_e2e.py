"""
Announcing and finding servers with the real zeroconf, each test in a
network namespace of its own (tests/netns.py) so that no multicast leaves
the machine: twistd chatroom --announce, chatproto --list, the chooser with
zero, one and several servers, a server that goes away, and a network where
multicast DNS cannot work.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from discovery_helpers import (
    NsPiped,
    NsPty,
    Watcher,
    announced_server,
    run_client,
)
from netns import LINK_DOWN, NO_NETWORK, Namespace, namespace_or_skip
from servers import make_certificate, twistd

from chatproto.discovery.announce import CHECK_INTERVAL


@pytest.fixture
def ns() -> Iterator[Namespace]:
    yield from namespace_or_skip()


@pytest.fixture
def ptys() -> Iterator[list[NsPty]]:
    clients: list[NsPty] = []
    try:
        yield clients
    finally:
        for client in clients:
            client.close()


# Announcing and --list


def test_an_announced_server_is_listed(ns: Namespace, tmp_path: Path) -> None:
    with announced_server(ns, tmp_path, "--server-name", "physics lab") as server:
        listed = run_client(ns, "--list")
        assert listed.returncode == 0, listed.stderr
        assert listed.stdout == (
            f"physics lab\t127.0.0.1\t{server.port}\tplain\t0\tlobby=0\n"
        )
        assert listed.stderr == ""
        server.stop()
    assert "no longer announced on the local network" in server.log_text()


def test_list_with_no_server_exits_1(ns: Namespace) -> None:
    listed = run_client(ns, "--list", "--browse", "0.5")
    assert (listed.returncode, listed.stdout) == (1, "")
    assert listed.stderr == "chatproto: no chat server answered on the local network\n"


def test_the_record_follows_the_room_and_a_server_going_away_is_seen(
    ns: Namespace, tmp_path: Path
) -> None:
    watcher = Watcher(ns, tmp_path)
    member = None
    try:
        with announced_server(ns, tmp_path, "--server-name", "lab") as server:
            added = watcher.wait_for("add lab (")
            assert added.endswith(f":{server.port})._chatproto._tcp.local. 0"), added
            member = NsPiped(
                ns, tmp_path, "--host", "127.0.0.1", "--port", str(server.port),
                "--nick", "alice",
            )  # fmt: skip
            member.wait_for("in the room (1): alice")
            line = watcher.wait_for("update lab (", timeout=CHECK_INTERVAL + 5)
            assert line.endswith(f":{server.port})._chatproto._tcp.local. 1"), line
            server.stop()  # SIGTERM: it unregisters (goodbye packets)
            # Without the goodbye a browser would keep it for its TTL.
            watcher.wait_for("remove lab (", timeout=3)
    finally:
        if member is not None:
            member.close()
        watcher.close()


def test_two_servers_on_one_machine_get_distinct_names(
    ns: Namespace, tmp_path: Path
) -> None:
    with (
        announced_server(ns, tmp_path / "a", "--server-name", "lab") as first,
        announced_server(ns, tmp_path / "b", "--server-name", "lab") as second,
    ):
        # Longer than by default: on a busy machine the second answer can
        # come late.
        listed = run_client(ns, "--list", "--browse", "4")
        rows = sorted(line.split("\t")[:3] for line in listed.stdout.splitlines())
        assert rows == sorted(
            [
                ["lab", "127.0.0.1", str(first.port)],
                ["lab", "127.0.0.1", str(second.port)],
            ]
        )
        names = {
            server.wait_for_log(r"announced on the local network as '([^']*)'").group(1)
            for server in (first, second)
        }
        assert len(names) == 2
        assert all(name.startswith("lab (") for name in names)


# The chooser


def test_no_server_found_tries_this_computer(
    ns: Namespace, tmp_path: Path, ptys: list[NsPty]
) -> None:
    # Not announced, on the default port: found only by trying this computer.
    with twistd(tmp_path, port="tcp:4000", prefix=ns.command([])):
        alice = NsPty(ns, "--nick", "alice", "--browse", "0.5")
        ptys.append(alice)
        alice.wait_for_text("no chat server answered on the local network")
        alice.wait_for_text("trying this computer (localhost:4000)")
        alice.wait_for_text("Welcome alice to lobby")
        alice.send("/quit\r")
        assert alice.wait_exit() == 0


def test_one_server_found_is_joined(
    ns: Namespace, tmp_path: Path, ptys: list[NsPty]
) -> None:
    with announced_server(
        ns, tmp_path, "--server-name", "physics lab", "--room", "physics"
    ) as server:
        alice = NsPty(ns)
        ptys.append(alice)
        alice.wait_for_text(
            "found one chat server on the local network: physics lab at "
            f"127.0.0.1:{server.port} (physics (0)); joining it"
        )
        alice.prompt_is("Choose a nickname: ")
        alice.send("alice\r")
        alice.wait_for_text("Welcome alice to physics")
        alice.send("/quit\r")
        assert alice.wait_exit() == 0


def test_several_servers_found_ask_which(
    ns: Namespace, tmp_path: Path, ptys: list[NsPty]
) -> None:
    with (
        announced_server(
            ns, tmp_path / "a", "--server-name", "lab a", "--room", "physics"
        ) as a,
        announced_server(
            ns, tmp_path / "b", "--server-name", "lab b", "--room", "maths"
        ) as b,
    ):
        alice = NsPty(ns, "--nick", "alice", "--browse", "4")
        ptys.append(alice)
        alice.wait_for_text("2 chat servers answered on the local network:")
        question = "Join which one? Type its number (1-2), or q to quit: "
        alice.prompt_is(question)
        text = alice.screen.text()
        assert f"1.  lab a  127.0.0.1:{a.port}  physics (0)  0 people" in text
        assert f"2.  lab b  127.0.0.1:{b.port}  maths (0)    0 people" in text
        alice.send("3\r")
        alice.wait_for_text("'3' is not one of the numbers 1 to 2")
        alice.prompt_is(question, "the question again")
        alice.send("2\r")
        alice.wait_for_text(f"joining lab b at 127.0.0.1:{b.port}")
        alice.wait_for_text("Welcome alice to maths")
        alice.send("/quit\r")
        assert alice.wait_exit() == 0

        # A longer look than the default: both servers must answer bob too,
        # even on a loaded machine, or he is joined to the one that did.
        bob = NsPty(ns, "--nick", "bob", "--browse", "4")
        ptys.append(bob)
        bob.prompt_is(question)
        bob.send("q\r")
        assert bob.wait_exit() == 0


def test_pipe_mode_joins_the_one_server_found(ns: Namespace, tmp_path: Path) -> None:
    with announced_server(ns, tmp_path, "--server-name", "lab") as server:
        done = run_client(ns, "--nick", "bot", stdin="hello\n")
        assert done.returncode == 0, done.stderr
        assert "<bot> hello" in done.stdout
        assert done.stderr.startswith(
            "chatproto: found one chat server on the local network: lab at "
            f"127.0.0.1:{server.port}"
        )


def test_pipe_mode_with_several_servers_lists_them_and_exits_2(
    ns: Namespace, tmp_path: Path
) -> None:
    with (
        announced_server(ns, tmp_path / "a", "--server-name", "lab a"),
        announced_server(ns, tmp_path / "b", "--server-name", "lab b"),
    ):
        done = run_client(ns, "--nick", "bot", "--browse", "4", stdin="hello\n")
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert lines[0] == (
        "chatproto: 2 chat servers answered on the local network; "
        "choose one with --host and --port:"
    )
    assert [line.split()[2:4] for line in lines[1:]] == [["lab", "a"], ["lab", "b"]]


def test_host_option_wins(ns: Namespace, tmp_path: Path) -> None:
    with (
        announced_server(ns, tmp_path / "a", "--room", "physics"),
        announced_server(ns, tmp_path / "b", "--room", "maths") as b,
    ):
        done = run_client(
            ns, "--host", "127.0.0.1", "--port", str(b.port), "--nick", "bot",
            stdin="hi\n",
        )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Welcome bot to maths" in done.stdout
    assert "local network" not in done.stderr


# Without multicast


@pytest.mark.parametrize(
    ("setup", "warning"),
    [
        (
            NO_NETWORK,
            "chatproto: cannot look for servers on the local network (No such device)",
        ),
        (LINK_DOWN, "chatproto: multicast DNS reported a problem: "),
    ],
    ids=["no-interface", "link-down"],
)
def test_a_network_without_multicast_is_one_warning(setup: str, warning: str) -> None:
    for no_network in namespace_or_skip(setup):
        listed = run_client(no_network, "--list", "--browse", "0.5")
        assert (listed.returncode, listed.stdout) == (1, "")
        assert listed.stderr.startswith(warning)
        assert listed.stderr.count("\n") in (1, 2)
        assert listed.stderr.endswith(
            "chatproto: no chat server answered on the local network\n"
        )

        joined = run_client(no_network, "--nick", "bot", "--browse", "0.5", stdin="x\n")
        assert joined.returncode == 1
        assert joined.stderr.startswith(warning)
        assert "Traceback" not in joined.stderr
        assert joined.stderr.splitlines()[-2:][0] == (
            "chatproto: trying this computer (localhost:4000)"
        )
        assert joined.stderr.splitlines()[-1].startswith(
            "chatproto: cannot connect to localhost:4000: "
        )


def test_announcing_without_any_usable_interface_is_one_warning(
    ns: Namespace, tmp_path: Path
) -> None:
    # An interface address the namespace does not have: zeroconf cannot start.
    with twistd(
        tmp_path,
        "--announce",
        port="tcp:0",
        prefix=ns.command([]),
        env={"CHATPROTO_MDNS_INTERFACES": "10.9.9.9"},
    ) as server:
        line = server.wait_for_log(r".*not announced on the local network: .*")
        assert line.group(0).endswith(
            "not announced on the local network: No such device"
        )
        listed = run_client(ns, "--list")  # the server still runs; unaffected
        server.stop()
    assert server.log_text().count("local network") == 1
    assert "Traceback" not in server.log_text()
    assert listed.returncode == 1


def test_a_tls_server_is_announced_so_and_joined_with_tls(
    ns: Namespace, tmp_path: Path
) -> None:
    cert, key = make_certificate(tmp_path)
    with (
        announced_server(ns, tmp_path / "plain", "--server-name", "plain"),
        announced_server(
            ns,
            tmp_path / "tls",
            "--server-name",
            "secure",
            port=f"ssl:0:interface=127.0.0.1:privateKey={key}:certKey={cert}",
        ) as secure,
    ):
        listed = run_client(ns, "--list")
        rows = [line.split("\t")[:4] for line in listed.stdout.splitlines()]
        assert ["secure", "127.0.0.1", str(secure.port), "tls"] in rows
        assert len(rows) == 2
        # With --tls only the TLS server is offered, so it is joined at once.
        done = run_client(ns, "--tls", "--ca", str(cert), "--nick", "bot", stdin="hi\n")
    assert done.returncode == 0, done.stderr
    assert "<bot> hi" in done.stdout
    assert "found one chat server on the local network: secure" in done.stderr
