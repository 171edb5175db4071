"""The egress policy's address rules: what a capture may never reach, IPv4 and IPv6."""

from __future__ import annotations

import asyncio
import ipaddress

import pytest

from crawler.egress import EgressPolicy, Unresolved, refusal

REFUSED = [
    "0.0.0.0",
    "0.1.2.3",
    "10.0.0.1",
    "10.255.255.255",
    "100.64.0.1",  # carrier-grade NAT
    "100.127.255.254",
    "127.0.0.1",
    "127.10.20.30",
    "169.254.169.254",  # cloud metadata
    "169.254.0.1",
    "172.16.0.1",
    "172.31.255.255",
    "192.0.0.8",
    "192.0.2.10",  # documentation
    "192.168.1.1",
    "198.18.0.1",  # benchmarking
    "198.51.100.7",
    "203.0.113.9",
    "224.0.0.1",  # multicast
    "239.255.255.250",
    "240.0.0.1",  # reserved
    "255.255.255.255",
    "::",
    "::1",
    "fe80::1",
    "fc00::1",
    "fd12:3456::1",
    "ff02::1",
    "2001:db8::1",  # documentation
    "::ffff:127.0.0.1",  # IPv4-mapped
    "::ffff:10.0.0.1",
    "::ffff:169.254.169.254",
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
    "64:ff9b::7f00:1",
    "2002:7f00:1::1",  # 6to4 of 127.0.0.1
    "2002:a00:1::1",  # 6to4 of 10.0.0.1
    "100::1",  # discard-only
]
PUBLIC = ["8.8.8.8", "1.1.1.1", "95.56.234.1", "2.133.0.1", "2a00:1450:4001::1", "::ffff:8.8.8.8"]


@pytest.mark.parametrize("address", REFUSED)
def test_non_public_addresses_are_refused(address: str) -> None:
    assert refusal(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_pass(address: str) -> None:
    assert refusal(ipaddress.ip_address(address)) is None


def test_metadata_refusal_says_why() -> None:
    reason = refusal(ipaddress.ip_address("169.254.169.254"))
    assert reason is not None and "link-local" in reason
    mapped = refusal(ipaddress.ip_address("::ffff:169.254.169.254"))
    assert mapped is not None and "inside" in mapped


def test_an_operator_allow_list_opens_only_its_networks() -> None:
    policy = EgressPolicy.build(allow=["10.20.0.0/16"])
    assert policy.check(ipaddress.ip_address("10.20.3.4")) is None
    assert policy.check(ipaddress.ip_address("10.21.0.1")) is not None
    assert policy.check(ipaddress.ip_address("127.0.0.1")) is not None


def test_pins_answer_without_dns_and_pins_only_refuses_other_names() -> None:
    policy = EgressPolicy.build(host_map={"Sandbox.KZ": "127.0.0.1:8080"}, pins_only=True)
    assert asyncio.run(policy.resolve("sandbox.kz.", 443)) == ([("127.0.0.1", 8080)], [])
    with pytest.raises(Unresolved):
        asyncio.run(policy.resolve("example.com", 80))


def test_ip_literals_are_checked_like_resolved_names() -> None:
    policy = EgressPolicy.build()
    allowed, refused = asyncio.run(policy.resolve("[::ffff:127.0.0.1]", 80))
    assert allowed == [] and "inside" in refused[0]
    allowed, refused = asyncio.run(policy.resolve("8.8.8.8", 80))
    assert allowed == [("8.8.8.8", 80)] and refused == []


def test_bad_allow_list_entries_are_rejected() -> None:
    with pytest.raises(ValueError):
        EgressPolicy.build(allow=["not-a-network"])
