"""Enrichment without the network: public suffixes, IDN, jurisdiction, directory, IP databases.

A guard makes any socket use fail, so these tests prove the local look-ups send nothing.
"""

from __future__ import annotations

import ipaddress
import json
import socket
import struct
from collections.abc import Iterator
from pathlib import Path

import pytest

from crawler.enrichment import (
    Directory,
    DirectoryError,
    DomainError,
    EnrichOptions,
    IpInfoError,
    decide,
    describe_host,
    describe_url,
    enrich,
    lookup_ip,
    to_ascii,
    to_unicode,
)
from crawler.enrichment.ipinfo import bundled_database_info


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"network use in an offline test: {args[1:]!r}")

    for name in ("connect", "connect_ex", "sendto", "sendmsg"):
        monkeypatch.setattr(socket.socket, name, refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "gethostbyname", refuse)
    monkeypatch.setattr(socket, "gethostbyaddr", refuse)
    yield


# --- public suffixes and IDN ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "registrable", "suffix", "unicode_host", "is_kz"),
    [
        ("a.b.example.co.uk", "example.co.uk", "co.uk", "a.b.example.co.uk", False),
        ("shop.kz", "shop.kz", "kz", "shop.kz", True),
        ("WWW.Shop.KZ.", "shop.kz", "kz", "www.shop.kz", True),
        ("x.gov.kz", "x.gov.kz", "gov.kz", "x.gov.kz", True),
        ("xn--80ao21a", None, "xn--80ao21a", "қаз", True),
        ("dükkan.қаз", "xn--dkkan-kva.xn--80ao21a", "xn--80ao21a", "dükkan.қаз", True),
        (
            "xn--dkkan-kva.xn--80ao21a",
            "xn--dkkan-kva.xn--80ao21a",
            "xn--80ao21a",
            "dükkan.қаз",
            True,
        ),
        ("мысал.kz", "xn--80awbu3c.kz", "kz", "мысал.kz", True),
        ("kz.example.com", "example.com", "com", "kz.example.com", False),
        ("shop.kz.ru", "kz.ru", "ru", "shop.kz.ru", False),
    ],
)
def test_registrable_domain_and_suffix(
    host: str, registrable: str | None, suffix: str, unicode_host: str, is_kz: bool
) -> None:
    info = describe_host(host)
    assert info.registrable_domain == registrable
    assert info.public_suffix == suffix
    assert info.host_unicode == unicode_host
    assert info.is_kz is is_kz
    assert info.is_ip is False


def test_platform_suffixes_are_named_but_the_registrable_domain_is_icann() -> None:
    info = describe_host("someone.github.io")
    assert info.registrable_domain == "github.io"
    assert info.hosted_under == "github.io"
    assert describe_host("example.kz").hosted_under is None


@pytest.mark.parametrize(
    ("url", "ip"),
    [
        ("http://95.59.12.3/page", "95.59.12.3"),
        ("https://[2001:db8::1]:8443/x", "2001:db8::1"),
        ("http://[::ffff:10.0.0.1]/", "::ffff:a00:1"),
    ],
)
def test_ip_hosts_have_no_domain(url: str, ip: str) -> None:
    info = describe_url(url)
    assert info.is_ip and info.host == ip
    assert info.registrable_domain is None and info.public_suffix is None and not info.is_kz


def test_idn_both_ways() -> None:
    assert to_ascii("қаз") == "xn--80ao21a"
    assert to_unicode("xn--80ao21a") == "қаз"
    assert to_ascii("ДҮККАН.Қаз") == "xn--80ahsaq49d.xn--80ao21a"  # = IDNA 2003 codec
    assert to_unicode(to_ascii("дүкен.қаз")) == "дүкен.қаз"
    assert to_unicode("xn--broken-label-zzz.kz") == "xn--broken-label-zzz.kz"


def test_urls_are_read_like_a_browser_reads_them() -> None:
    assert describe_url("https://Shop.KZ:8443/a?b#c").host == "shop.kz"
    assert describe_url("shop.kz/path").registrable_domain == "shop.kz"
    assert describe_url("http://user@dükkan.қаз/").host == "xn--dkkan-kva.xn--80ao21a"


@pytest.mark.parametrize("bad", ["http:///nohost", "a..b.kz", "x" * 300 + ".kz", ""])
def test_unreadable_hosts_raise_a_clear_domain_error(bad: str) -> None:
    with pytest.raises(DomainError):
        describe_url(bad)


# --- jurisdiction ----------------------------------------------------------------------------


def test_kz_and_kaz_domains_are_kaznet_wherever_they_are_hosted() -> None:
    kz = decide(tld="kz", ip="8.8.8.8", country="US")
    assert kz.verdict == "kaznet" and ".kz" in kz.reason
    kaz = decide(tld="xn--80ao21a", ip=None, country=None)
    assert kaz.verdict == "kaznet" and ".қаз" in kaz.reason


def test_a_server_in_kazakhstan_makes_a_foreign_domain_kaznet() -> None:
    verdict = decide(tld="com", ip="92.46.0.1", country="kz", country_name="Kazakhstan")
    assert verdict.verdict == "kaznet"
    assert "92.46.0.1 is in Kazakhstan" in verdict.reason


def test_foreign_names_the_country() -> None:
    verdict = decide(tld="ru", ip="77.88.8.8", country="RU", country_name="Russia")
    assert (verdict.verdict, verdict.country) == ("foreign", "RU")
    assert "Russia (RU)" in verdict.reason


def test_unknown_says_why() -> None:
    no_ip = decide(tld="com", ip=None, country=None)
    assert no_ip.verdict == "unknown" and "address is unknown" in no_ip.reason
    private = decide(tld="com", ip="10.1.2.3", country=None, ip_note="private address")
    assert private.verdict == "unknown" and "private address" in private.reason


# --- the hosting directory -------------------------------------------------------------------


def test_directory_lookups_by_asn_range_org_and_registrar() -> None:
    directory = Directory.load()
    assert directory.by_asn(9198).id == "kazakhtelecom"
    assert directory.by_asn(48716).id == "ps-kz"
    assert directory.by_asn(64512) is None
    assert directory.by_ip("195.210.47.200").id == "ps-kz"
    assert directory.by_ip("8.8.8.8") is None
    assert directory.by_as_org("JSC KAZAKHTELECOM").id == "kazakhtelecom"
    assert directory.by_registrar("HOSTER.KZ").id == "hoster-kz"
    assert directory.by_registrar("ps.kz").id == "ps-kz"
    assert directory.by_registrar("Kcell JSC") is None  # not a registrar
    match = directory.match_network(ip="195.210.46.9", asn=None, as_org="Something Else")
    assert match is not None and (match.provider.id, match.by) == ("ps-kz", "ip range")


def test_shipped_directory_invents_no_contacts() -> None:
    for provider in Directory.load().providers:
        assert provider.country == "KZ"
        assert provider.source, provider.id
        if provider.abuse_contact is None:
            assert "fill in" in (provider.note or "") or "registry" in provider.roles, provider.id


def test_operator_file_extends_and_overrides(tmp_path: Path) -> None:
    path = tmp_path / "hosting.json"
    path.write_text(
        json.dumps(
            {
                "providers": [
                    {"id": "kazakhtelecom", "abuse_contact": "abuse@example.test"},
                    {"id": "kcell", "remove": True},
                    {
                        "id": "sandbox-host",
                        "name": "Sandbox Hosting LLP",
                        "roles": ["hosting", "registrar"],
                        "asns": [64500],
                        "ip_ranges": ["203.0.113.0/24", "2001:db8:1::/48"],
                        "registrar_names": ["SANDBOX-REG"],
                        "abuse_contact": "abuse@sandbox.test",
                    },
                ]
            }
        ),
        encoding="utf-8",
    )
    directory = Directory.load(path)
    telecom = directory.by_asn(9198)
    assert telecom.abuse_contact == "abuse@example.test"
    assert telecom.website == "https://telecom.kz"  # the fields not given stay
    assert directory.by_asn(29355) is None
    assert directory.by_ip("2001:db8:1::5").id == "sandbox-host"
    assert directory.by_asn(64500).id == "sandbox-host"
    assert directory.by_registrar("sandbox-reg").id == "sandbox-host"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"providers": {}}', "providers"),
        ('{"providers": [{"name": "x"}]}', '"id"'),
        ('{"providers": [{"id": "a", "name": "A", "asns": ["9198"]}]}', "asns"),
        ('{"providers": [{"id": "a", "name": "A", "ip_ranges": ["300.1.0.0/16"]}]}', "ip_ranges"),
        ('{"providers": [{"id": "a", "name": "A", "roles": ["bakery"]}]}', "roles"),
    ],
)
def test_a_bad_operator_file_says_what_is_wrong(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DirectoryError, match=message):
        Directory.load(path)
    with pytest.raises(DirectoryError, match="cannot read"):
        Directory.load(tmp_path / "missing.json")


# --- IP → AS and country, offline ------------------------------------------------------------


@pytest.mark.parametrize(
    ("ip", "country", "org"),
    [
        ("8.8.8.8", "US", "GOOGLE"),
        ("::ffff:8.8.8.8", "US", "GOOGLE"),
        ("2001:4860:4860::8888", "US", "GOOGLE"),
        ("1.1.1.1", None, "CLOUDFLARENET"),
        ("92.46.0.1", "KZ", "JSC Kazakhtelecom"),
        ("77.88.8.8", "RU", "YANDEX LLC"),
    ],
)
def test_public_ips_get_country_and_as_organisation(ip: str, country: str | None, org: str) -> None:
    info = lookup_ip(ip)
    assert info.public
    if country:
        assert info.country == country
    assert info.as_org == org
    assert ipaddress.ip_address(info.ip) in ipaddress.ip_network(info.as_network)
    assert "geoip2fast" in (info.source or "")
    assert info.asn is None and "AS number unknown" in (info.note or "")


@pytest.mark.parametrize(
    "ip",
    [
        "10.0.0.1",
        "127.0.0.1",
        "192.168.1.10",
        "169.254.169.254",
        "::1",
        "fd00::1",
        "::ffff:10.0.0.1",
    ],
)
def test_private_ips_get_no_data_and_say_so(ip: str) -> None:
    info = lookup_ip(ip)
    assert not info.public
    assert (info.asn, info.as_org, info.country, info.source) == (None, None, None, None)
    assert "not on the public internet" in (info.note or "")


def test_invalid_ip_is_an_error() -> None:
    with pytest.raises(IpInfoError, match="not an IP address"):
        lookup_ip("999.1.1.1")


def test_bundled_database_names_its_data() -> None:
    assert "GeoLite2" in bundled_database_info()


def _mmdb_value(value: object) -> bytes:
    """MaxMind DB data section encoding for the few types a tiny test database needs."""

    def control(kind: int, size: int) -> bytes:
        assert size < 285
        code, extra = (size, b"") if size < 29 else (29, bytes([size - 29]))
        head = bytes([(kind << 5) | code]) if kind <= 7 else bytes([code, kind - 7])
        return head + extra

    if isinstance(value, tuple):  # ("u16" | "u32" | "u64", number)
        width, number = value
        raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
        return control({"u16": 5, "u32": 6, "u64": 9}[width], len(raw)) + raw
    if isinstance(value, str):
        raw = value.encode()
        return control(2, len(raw)) + raw
    if isinstance(value, list):
        return control(11, len(value)) + b"".join(_mmdb_value(v) for v in value)
    assert isinstance(value, dict)
    body = b"".join(_mmdb_value(k) + _mmdb_value(v) for k, v in value.items())
    return control(7, len(value)) + body


def write_mmdb(path: Path, networks: dict[str, dict[str, object]], kind: str) -> None:
    """A valid IPv4 MaxMind DB (24-bit records) holding `networks`."""
    data, offsets = b"", {}
    for cidr, record in networks.items():
        offsets[cidr] = len(data)
        data += _mmdb_value(record)
    nodes: list[list[object]] = [[None, None]]
    for cidr in networks:
        net = ipaddress.ip_network(cidr)
        bits = format(int(net.network_address), "032b")[: net.prefixlen]
        node = 0
        for i, bit in enumerate(bits):
            side = int(bit)
            if i == len(bits) - 1:
                nodes[node][side] = ("data", offsets[cidr])
            else:
                if nodes[node][side] is None:
                    nodes.append([None, None])
                    nodes[node][side] = ("node", len(nodes) - 1)
                node = nodes[node][side][1]  # type: ignore[index]
    count = len(nodes)

    def record(value: object) -> int:
        if value is None:
            return count
        kind_, number = value  # type: ignore[misc]
        return number if kind_ == "node" else count + 16 + number

    tree = b"".join(
        struct.pack(">I", record(left))[1:] + struct.pack(">I", record(right))[1:]
        for left, right in nodes
    )
    metadata = {
        "binary_format_major_version": ("u16", 2),
        "binary_format_minor_version": ("u16", 0),
        "build_epoch": ("u64", 1700000000),
        "database_type": kind,
        "description": {"en": "hotline test database"},
        "ip_version": ("u16", 4),
        "languages": ["en"],
        "node_count": ("u32", count),
        "record_size": ("u16", 24),
    }
    blob = tree + b"\x00" * 16 + data + b"\xab\xcd\xefMaxMind.com" + _mmdb_value(metadata)
    path.write_bytes(blob)


def test_operator_mmdb_files_give_as_number_and_win(tmp_path: Path) -> None:
    asn_db, country_db = tmp_path / "asn.mmdb", tmp_path / "country.mmdb"
    write_mmdb(
        asn_db,
        {
            "92.46.0.0/15": {
                "autonomous_system_number": ("u32", 9198),
                "autonomous_system_organization": "JSC Kazakhtelecom",
            }
        },
        "GeoLite2-ASN",
    )
    write_mmdb(
        country_db,
        {"8.8.8.0/24": {"country": {"iso_code": "KZ", "names": {"en": "Kazakhstan"}}}},
        "GeoLite2-Country",
    )
    info = lookup_ip("92.46.1.2", asn_mmdb=asn_db, country_mmdb=country_db)
    assert (info.asn, info.as_org, info.as_network) == (9198, "JSC Kazakhtelecom", "92.46.0.0/15")
    assert info.country == "KZ"  # the mmdb has nothing here: the bundled data fills it
    assert "asn.mmdb" in (info.source or "") and info.note is None
    moved = lookup_ip("8.8.8.8", asn_mmdb=asn_db, country_mmdb=country_db)
    assert moved.country == "KZ" and moved.as_org == "GOOGLE"
    v6 = lookup_ip("2001:4860:4860::8888", asn_mmdb=asn_db, country_mmdb=country_db)
    assert v6.country == "US"  # an IPv4-only file is skipped for IPv6
    only_files = lookup_ip("92.46.1.2", asn_mmdb=asn_db, use_bundled=False)
    assert only_files.asn == 9198 and only_files.country is None


def test_a_broken_mmdb_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.mmdb"
    path.write_bytes(b"not a database")
    with pytest.raises(IpInfoError, match=r"broken\.mmdb"):
        lookup_ip("8.8.8.8", asn_mmdb=path)


# --- the whole enrichment, offline -----------------------------------------------------------


def test_offline_enrichment_of_a_kz_site_on_a_kazakh_network() -> None:
    result = enrich("https://Дүкен.kz/catalog", "92.46.0.1", EnrichOptions(offline=True))
    data = result.as_dict()
    json.dumps(data)
    assert data["host_unicode"] == "дүкен.kz"
    assert data["registrable_domain"] == "xn--d1acon18c.kz"
    assert data["jurisdiction"] == "kaznet"
    assert data["country"] == "KZ" and data["as_org"] == "JSC Kazakhtelecom"
    assert data["hosting_provider"] == "JSC Kazakhtelecom"
    assert data["hosting_provider_source"] == "directory"
    assert data["directory_match"] == "AS organisation"
    assert data["abuse_contact"] is None  # the shipped directory has none to give
    assert data["errors"] == []
    assert "dns (offline)" in data["skipped"]
    assert data["looked_up_at"].endswith("+00:00")


def test_offline_enrichment_of_a_foreign_site_and_of_bad_input() -> None:
    foreign = enrich("http://www.example.co.uk/", "8.8.8.8", EnrichOptions(offline=True))
    assert foreign.jurisdiction == "foreign" and foreign.country == "US"
    assert "United States (US)" in foreign.jurisdiction_reason
    assert foreign.hosting_provider == "GOOGLE"
    assert foreign.hosting_provider_source == "ip database"
    broken = enrich("http://a..b/", "not-an-ip", EnrichOptions(offline=True))
    assert {e.source for e in broken.errors} == {"domain", "ipinfo"}
    assert broken.jurisdiction == "unknown"
    json.dumps(broken.as_dict())
