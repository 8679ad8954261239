"""
The TXT record a server announces: what it says, its bounds, and reading
records from strangers without ever failing.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from chatproto.discovery import net, record
from chatproto.discovery.browse import found_server
from chatproto.discovery.record import (
    MAX_NAME_BYTES,
    MAX_ROOM_NAME_BYTES,
    MAX_ROOMS_LISTED,
    Announcement,
    RoomCount,
    describe,
    from_txt,
    to_txt,
)


def as_zeroconf(txt: dict[str, str]) -> dict[bytes, bytes | None]:
    """The record as zeroconf hands it to a browser."""
    return {key.encode(): value.encode() for key, value in txt.items()}


def test_record_says_name_rooms_people_tls_and_protocol() -> None:
    txt = to_txt(describe("physics lab", [("lobby", 3), ("quiet", 0)], tls=True))
    assert txt == {
        "txtvers": "1",
        "proto": "1",
        "name": "physics lab",
        "tls": "1",
        "rooms": "2",
        "people": "3",
        "room1": "3 lobby",
        "room2": "0 quiet",
    }


def test_record_reads_back_as_written() -> None:
    announced = describe("teacher on pc-12", [("lobby", 3), ("maths club", 2)], False)
    assert from_txt(as_zeroconf(to_txt(announced)), fallback="x") == announced
    assert announced.rooms == (RoomCount("lobby", 3), RoomCount("maths club", 2))


def test_only_the_most_populated_rooms_are_listed_but_all_are_counted() -> None:
    rooms = [(f"room{n:02}", n) for n in range(25)]
    announced = describe("big", rooms, False)
    assert len(announced.rooms) == MAX_ROOMS_LISTED
    assert [room.people for room in announced.rooms] == list(range(24, 14, -1))
    assert announced.room_count == 25
    assert announced.people == sum(range(25))
    txt = to_txt(announced)
    assert f"room{MAX_ROOMS_LISTED + 1}" not in txt


def test_names_are_cut_to_their_byte_bounds_on_character_boundaries() -> None:
    announced = describe("é" * 100, [("ü" * 100, 1)], False)
    assert len(announced.name.encode()) <= MAX_NAME_BYTES
    assert set(announced.name) == {"é"}
    (room,) = announced.rooms
    assert len(room.name.encode()) <= MAX_ROOM_NAME_BYTES
    assert set(room.name) == {"ü"}


def test_control_and_bidi_characters_never_reach_the_record() -> None:
    announced = describe("evil\x1b[2J\u202ename\n", [("lob\tby\r", 1)], False)
    assert announced.name == "evil[2Jname"
    assert announced.rooms == (RoomCount("lob by", 1),)


def test_a_stranger_record_is_read_defensively() -> None:
    properties: dict[bytes, bytes | None] = {
        b"NAME": b"caps \xff key",  # keys are case-insensitive; bad UTF-8
        b"people": b"-5",
        b"rooms": b"99999999999999999999",
        b"room1": b"7 lobby",
        b"room2": b"lots nowhere",
        b"room3": None,
        b"room4": b"3",  # no name
        b"tls": b"yes",
        b"junk": b"x" * 300,
    }
    announced = from_txt(properties, fallback="instance")
    assert announced == Announcement(
        name="caps \ufffd key",
        rooms=(RoomCount("lobby", 7), RoomCount("nowhere", 0)),
        room_count=2,
        people=7,
        tls=False,
        protocol="",
    )


def test_a_record_without_a_name_is_named_after_its_instance() -> None:
    assert from_txt({}, fallback="pc-12").name == "pc-12"


@given(
    st.dictionaries(
        st.binary(max_size=12).map(lambda key: key.lower()),
        st.none() | st.binary(max_size=300),
        max_size=20,
    ),
    st.text(max_size=80),
)
def test_reading_any_record_never_fails_and_stays_bounded(
    properties: dict[bytes, bytes | None], fallback: str
) -> None:
    announced = from_txt(properties, fallback)
    assert len(announced.name.encode()) <= MAX_NAME_BYTES
    assert len(announced.rooms) <= MAX_ROOMS_LISTED
    assert all(len(r.name.encode()) <= MAX_ROOM_NAME_BYTES for r in announced.rooms)
    assert announced.room_count >= len(announced.rooms)
    assert announced.people >= sum(room.people for room in announced.rooms)
    assert not any(c in announced.name for c in "\x00\n\r\x1b\u202e")


@given(
    st.text(max_size=100),
    st.lists(st.tuples(st.text(max_size=60), st.integers(0, 10**6)), max_size=30),
    st.booleans(),
)
def test_any_server_fits_in_one_packet(
    name: str, rooms: list[tuple[str, int]], tls: bool
) -> None:
    txt = to_txt(describe(name, rooms, tls))
    strings = [f"{key}={value}".encode() for key, value in txt.items()]
    assert all(len(string) <= 255 for string in strings)  # RFC 6763 6.1
    assert sum(len(string) + 1 for string in strings) < 1300  # RFC 6763 6.2


def test_found_server_orders_addresses_nearest_first() -> None:
    networks = [net.ipaddress.IPv4Network("192.168.1.0/24")]
    server = found_server(
        f"pc-12.{record.SERVICE_TYPE}",
        4000,
        ["172.17.0.1", "fe80::1", "192.168.1.20", "192.168.1.20"],
        as_zeroconf(to_txt(describe("pc-12", [("lobby", 1)], False))),
        networks,
    )
    assert server is not None
    assert server.addresses == ("192.168.1.20", "172.17.0.1")
    assert server.where() == "192.168.1.20:4000"
    assert server.instance == "pc-12"


def test_a_service_without_an_ipv4_address_or_port_is_not_offered() -> None:
    assert found_server("x", 4000, ["fe80::1"], {}, []) is None
    assert found_server("x", 0, ["10.0.0.1"], {}, []) is None
