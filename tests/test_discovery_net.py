"""Which interfaces multicast DNS uses and which addresses are announced."""

from __future__ import annotations

import ipaddress

import ifaddr
import pytest

from chatproto.discovery import net
from chatproto.discovery.publisher import instance_name


def adapter(*ips: tuple[str | tuple[str, int, int], int]) -> ifaddr.Adapter:
    return ifaddr.Adapter(
        "eth", "eth", [ifaddr.IP(ip, prefix, "eth") for ip, prefix in ips]
    )


ADAPTERS = [
    adapter(("127.0.0.1", 8), (("::1", 0, 0), 128)),
    adapter(("192.168.1.20", 24), (("fe80::1", 0, 2), 64)),
    adapter(("172.17.0.1", 16), ("192.168.1.20", 24)),
]


def test_machine_addresses_are_ipv4_without_loopback_or_repeats() -> None:
    assert net.machine_addresses(ADAPTERS) == ["192.168.1.20", "172.17.0.1"]


def test_local_networks() -> None:
    assert ipaddress.IPv4Network("192.168.1.0/24") in net.local_networks(ADAPTERS)


def test_configured_interfaces() -> None:
    assert net.configured_interfaces({}) is None
    assert net.configured_interfaces({net.INTERFACES_VARIABLE: " "}) is None
    assert net.configured_interfaces(
        {net.INTERFACES_VARIABLE: "127.0.0.1, 10.0.0.2"}
    ) == ["127.0.0.1", "10.0.0.2"]
    with pytest.raises(net.DiscoveryConfigError, match="'eth0' is not an IPv4"):
        net.configured_interfaces({net.INTERFACES_VARIABLE: "eth0"})


def test_a_server_on_one_address_is_announced_there_only() -> None:
    assert net.listening_plan("127.0.0.1", None) == (["127.0.0.1"], ["127.0.0.1"])
    assert net.listening_plan("10.0.0.5", ["127.0.0.1"]) == (
        ["10.0.0.5"],
        ["10.0.0.5"],
    )


def test_a_server_on_all_addresses_uses_the_configured_ones() -> None:
    assert net.listening_plan("0.0.0.0", ["127.0.0.1"]) == (
        ["127.0.0.1"],
        ["127.0.0.1"],
    )


def test_a_server_on_all_addresses_is_announced_with_the_machines(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(net.ifaddr, "get_adapters", lambda: ADAPTERS)
    assert net.listening_plan("0.0.0.0", None) == (
        None,
        ["192.168.1.20", "172.17.0.1"],
    )
    monkeypatch.setattr(net.ifaddr, "get_adapters", lambda: ADAPTERS[:1])
    assert net.listening_plan("::", None) == (None, ["127.0.0.1"])


def test_a_server_on_one_ipv6_address_is_not_announced() -> None:
    with pytest.raises(net.DiscoveryConfigError, match="only IPv4"):
        net.listening_plan("::1", None)


def test_best_first_keeps_order_among_equals() -> None:
    networks = [ipaddress.IPv4Network("10.0.0.0/8")]
    assert net.best_first(["1.2.3.4", "10.0.0.9", "5.6.7.8", "10.1.1.1"], networks) == [
        "10.0.0.9",
        "10.1.1.1",
        "1.2.3.4",
        "5.6.7.8",
    ]


def test_instance_names_are_one_label() -> None:
    assert instance_name("pc-12.school.lan") == "pc-12 school lan"
    assert len(instance_name("x" * 200).encode()) <= 59
    assert instance_name("\x1b\n") == "chatproto"
    # Unique to the machine and port, the name cut to leave room for them.
    assert instance_name("lab", "pc-12", 4000) == "lab (pc-12:4000)"
    long = instance_name("x" * 200, "pc.12", 4000)
    assert long.endswith(" (pc-12:4000)") and len(long.encode()) <= 59
