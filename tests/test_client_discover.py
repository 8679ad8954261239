"""
The chooser and --list, with what a browse found made up: which server is
joined, what is said, what is asked, and the exit statuses.  (The same, with
real servers and zeroconf in a network namespace: test_discovery_e2e.py.)
"""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest

from chatproto.client import discover
from chatproto.client.options import Config, parse_args
from chatproto.discovery import Browsed, FoundServer
from chatproto.discovery.record import RoomCount


def server(
    name: str,
    address: str = "192.168.1.20",
    port: int = 4000,
    rooms: tuple[tuple[str, int], ...] = (("lobby", 3),),
    room_count: int | None = None,
    tls: bool = False,
    protocol: str = "1",
) -> FoundServer:
    listed = tuple(RoomCount(room, people) for room, people in rooms)
    return FoundServer(
        instance=name,
        name=name,
        addresses=(address, "172.17.0.1"),
        port=port,
        rooms=listed,
        room_count=len(listed) if room_count is None else room_count,
        people=sum(room.people for room in listed),
        tls=tls,
        protocol=protocol,
    )


TEACHER = server("teacher on pc-12")
LAB = server(
    "physics lab",
    "192.168.1.31",
    4001,
    (("physics", 1), ("maths", 2), ("chem", 0), ("bio", 0)),
    room_count=6,
    tls=True,
)


class Found:
    def __init__(self) -> None:
        self.result: Browsed | Exception = Browsed([])
        self.asked: list[tuple[float, list[str] | None]] = []

    def browse(self, seconds: float, interfaces: list[str] | None) -> Browsed:
        self.asked.append((seconds, interfaces))
        if isinstance(self.result, Exception):
            raise self.result
        return self.result


@pytest.fixture
def found(monkeypatch: pytest.MonkeyPatch) -> Iterator[Found]:
    fake = Found()
    monkeypatch.setattr(discover, "browse", fake.browse)
    monkeypatch.setenv("CHATPROTO_MDNS_INTERFACES", "127.0.0.1")
    yield fake


class Answers:
    def __init__(self, *answers: str | type[BaseException]) -> None:
        self.answers = list(answers)
        self.questions: list[str] = []

    def __call__(self, question: str) -> str:
        self.questions.append(question)
        answer = self.answers.pop(0)
        if isinstance(answer, type):
            raise answer()
        return answer


def choose(
    argv: list[str], interactive: bool, ask: Answers | None = None
) -> tuple[Config | int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    result = discover.choose(parse_args(argv), interactive, out, err, ask or Answers())
    return result, out.getvalue(), err.getvalue()


def test_none_found_tries_this_computer(found: Found) -> None:
    chosen, out, err = choose(["--browse", "0.5"], True)
    assert chosen == parse_args(["--browse", "0.5"])
    assert out == (
        "no chat server answered on the local network\n"
        "trying this computer (localhost:4000)\n"
    )
    assert err == ""
    assert found.asked == [(0.5, ["127.0.0.1"])]


def test_one_found_is_joined_saying_which(found: Found) -> None:
    found.result = Browsed([TEACHER])
    chosen, out, _ = choose(["--nick", "alice"], True)
    assert chosen == Config(host="192.168.1.20", port=4000, nick="alice", discover=True)
    assert out == (
        "found one chat server on the local network: teacher on pc-12 at "
        "192.168.1.20:4000 (lobby (3)); joining it\n"
    )


def test_several_found_are_listed_and_one_is_chosen_by_number(found: Found) -> None:
    found.result = Browsed([TEACHER, LAB])
    ask = Answers("", "three", "0", " 2 ")
    chosen, out, _ = choose([], True, ask)
    assert isinstance(chosen, Config)
    assert (chosen.host, chosen.port, chosen.tls) == ("192.168.1.31", 4001, True)
    lab_rooms = "physics (1), maths (2), chem (0), 3 more"
    assert out.splitlines() == [
        "2 chat servers answered on the local network:",
        "  1.  teacher on pc-12  192.168.1.20:4000  "
        + "lobby (3)".ljust(len(lab_rooms))
        + "  3 people",
        f"  2.  physics lab       192.168.1.31:4001  {lab_rooms}  3 people  TLS",
        "'' is not one of the numbers 1 to 2",
        "'three' is not one of the numbers 1 to 2",
        "'0' is not one of the numbers 1 to 2",
        "joining physics lab at 192.168.1.31:4001",
    ]
    assert (
        ask.questions == ["Join which one? Type its number (1-2), or q to quit: "] * 4
    )


@pytest.mark.parametrize(
    ("answer", "status"), [("q", 0), (EOFError, 0), (KeyboardInterrupt, 130)]
)
def test_the_chooser_can_be_left(
    found: Found, answer: str | type[BaseException], status: int
) -> None:
    found.result = Browsed([TEACHER, LAB])
    chosen, _, _ = choose([], True, Answers(answer))
    assert chosen == status


def test_pipe_mode_with_several_found_asks_nothing_and_exits_2(found: Found) -> None:
    found.result = Browsed([TEACHER, LAB])
    ask = Answers()
    chosen, out, err = choose(["--nick", "bot"], False, ask)
    assert chosen == 2
    assert out == ""
    assert ask.questions == []
    assert err.splitlines()[0] == (
        "chatproto: 2 chat servers answered on the local network; "
        "choose one with --host and --port:"
    )
    assert "teacher on pc-12  192.168.1.20:4000" in err.splitlines()[1]


def test_pipe_mode_says_everything_on_stderr(found: Found) -> None:
    found.result = Browsed([TEACHER])
    chosen, out, err = choose(["--nick", "bot"], False)
    assert isinstance(chosen, Config) and chosen.host == "192.168.1.20"
    assert out == ""
    assert err.startswith("chatproto: found one chat server on the local network")


def test_with_tls_only_servers_speaking_tls_are_offered(found: Found) -> None:
    found.result = Browsed([TEACHER, LAB])
    chosen, out, _ = choose(["--tls"], True)
    assert isinstance(chosen, Config)
    assert (chosen.host, chosen.tls) == ("192.168.1.31", True)
    assert "found one chat server" in out


def test_servers_of_another_protocol_are_not_offered(found: Found) -> None:
    found.result = Browsed([TEACHER, server("future", protocol="2")])
    chosen, _, _ = choose([], True)
    assert isinstance(chosen, Config) and chosen.host == "192.168.1.20"


def test_browsing_that_cannot_start_is_one_line(found: Found) -> None:
    found.result = OSError(19, "No such device")
    chosen, out, err = choose(["--nick", "bot"], False)
    assert chosen == parse_args(["--nick", "bot"])
    assert err == (
        "chatproto: cannot look for servers on the local network (No such device)\n"
        "chatproto: trying this computer (localhost:4000)\n"
    )
    assert out == ""


def test_a_problem_while_browsing_is_one_line(found: Found) -> None:
    found.result = Browsed([TEACHER], problem="Error with socket 4: unreachable")
    _, _, err = choose([], True)
    assert err == (
        "chatproto: multicast DNS reported a problem: "
        "Error with socket 4: unreachable\n"
    )


def test_a_bad_interfaces_setting_is_one_line(
    found: Found, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHATPROTO_MDNS_INTERFACES", "eth0")
    _, _, err = choose([], True)
    assert (
        err == "chatproto: CHATPROTO_MDNS_INTERFACES: 'eth0' is not an IPv4 address\n"
    )
    assert found.asked == []


def test_list_prints_one_tab_separated_line_per_server(
    found: Found, capsys: pytest.CaptureFixture[str]
) -> None:
    found.result = Browsed([LAB, server("tab\tby name")])
    assert discover.list_servers(parse_args(["--list"])) == 0
    out, err = capsys.readouterr()
    assert out == (
        "physics lab\t192.168.1.31,172.17.0.1\t4001\ttls\t3\t"
        "physics=1\tmaths=2\tchem=0\tbio=0\n"
        "tab by name\t192.168.1.20,172.17.0.1\t4000\tplain\t3\tlobby=3\n"
    )
    assert err == ""


def test_list_with_nothing_found_exits_1(
    found: Found, capsys: pytest.CaptureFixture[str]
) -> None:
    assert discover.list_servers(parse_args(["--list"])) == 1
    assert capsys.readouterr() == (
        "",
        "chatproto: no chat server answered on the local network\n",
    )
