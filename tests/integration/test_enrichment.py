"""The enrichment against local stand-ins for the internet: DNS (UDP), RDAP (HTTP), WHOIS (TCP).

Every server listens on 127.0.0.1; RDAP is reached through the egress proxy by a pinned name and
WHOIS by a pinned name checked with the policy. A guard fails any connection that is not loopback.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import socket
import socketserver
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset
import pytest

from crawler.egress import EgressPolicy
from crawler.enrichment import EnrichOptions, enrich

pytestmark = pytest.mark.integration

STOP = threading.Event()  # releases the silent servers at the end of the module

ZONE: dict[tuple[str, str], list[str]] = {
    ("shop.hotline-test.kz", "A"): ["92.46.0.10"],
    ("shop.hotline-test.kz", "AAAA"): [],
    ("hotline-test.kz", "NS"): ["ns2.hotline-test.kz.", "ns1.hotline-test.kz."],
    ("hotline-test.kz", "MX"): ["20 mx2.hotline-test.kz.", "10 mx1.hotline-test.kz."],
    ("www.shop-example.co.uk", "A"): ["8.8.8.8"],
    ("shop-example.co.uk", "NS"): ["ns.shop-example.co.uk."],
    ("broken-json.kz", "A"): ["92.46.0.11"],
    ("huge-whois.kz", "A"): ["92.46.0.12"],
}
SILENT_NAMES = {"silent-test.kz"}

WHOIS_KZ = """Whois Server for the KZ top level domain name.
This server is maintained by KazNIC Organization, a ccTLD manager for Kazakhstan Republic.

Domain Name............: hotline-test.kz

Organization Using Domain Name
Name...................: Test Owner
Organization Name......: Test Owner LLP
Street Address.........: 1 Test street
City...................: Almaty
Country................: KZ

Administrative Contact/Agent
NIC Handle.............: TEST-1
Name...................: Test Admin
Email Address..........: owner@hotline-test.kz

Nameserver in listed order

Primary server.........: ns1.hotline-test.kz
Primary ip address.....: 92.46.0.2

Domain created: 2020-01-02 00:00:00 (GMT+0:00)
Last modified : 2024-05-06 07:08:09 (GMT+0:00)
Domain status : ok - normal state

Registar created: PS.KZ
Current Registar: HOSTER.KZ
"""

WHOIS_GTLD = """   Domain Name: SHOP-EXAMPLE.CO.UK
   Registrar WHOIS Server: whois.registrar.example
   Registrar URL: http://registrar.example
   Registrar: Example Registrar, Inc.
   Registrar IANA ID: 9999
   Registrar Abuse Contact Email: abuse@registrar.example
   Registrar Abuse Contact Phone: +1.5555550100
   Registrant Email: REDACTED FOR PRIVACY
"""


def _entity(roles: list[str], name: str, email: str | None = None, **extra: Any) -> dict[str, Any]:
    card: list[list[Any]] = [["version", {}, "text", "4.0"], ["fn", {}, "text", name]]
    if email:
        card.append(["email", {}, "text", email])
    return {"objectClassName": "entity", "roles": roles, "vcardArray": ["vcard", card], **extra}


RDAP: dict[str, object] = {
    "/rdap/domain/hotline-test.kz": {
        "objectClassName": "domain",
        "ldhName": "hotline-test.kz",
        "handle": "D-1",
        "events": [{"eventAction": "registration", "eventDate": "2020-01-02T00:00:00Z"}],
        "entities": [
            _entity(
                ["registrar"],
                "Test Registrar LLP",
                entities=[_entity(["abuse"], "Abuse desk", "abuse@registrar.hotline-test.kz")],
            ),
            _entity(["registrant"], "Test Owner LLP"),
        ],
    },
    "/rdap/domain/shop-example.co.uk": {
        "objectClassName": "domain",
        "ldhName": "shop-example.co.uk",
        "entities": [_entity(["registrar"], "Example Registrar, Inc.")],
    },
    "/ip/92.46.0.10": {
        "objectClassName": "ip network",
        "handle": "92.46.0.0 - 92.46.0.255",
        "name": "TEST-KZ-NET",
        "country": "KZ",
        "startAddress": "92.46.0.0",
        "endAddress": "92.46.0.255",
        "entities": [_entity(["abuse"], "Abuse", "abuse@isp-net.hotline-test.kz")],
    },
    "/ip/8.8.8.8": {
        "objectClassName": "ip network",
        "name": "TEST-US-NET",
        "country": "US",
        "entities": [_entity(["abuse", "technical"], "Abuse", "abuse@net.example")],
    },
}


class _Rdap(BaseHTTPRequestHandler):
    seen: ClassVar[list[tuple[str, str]]] = []

    def do_GET(self) -> None:
        self.seen.append((self.headers.get("Host", ""), self.path))
        if self.path.startswith("/rdap/slow-rdap/"):
            STOP.wait(20)
            return
        if self.path == "/rdap/domain/broken-json.kz":
            body, status = b'{"objectClassName": "domain", "ldhName": ', 200
        elif self.path in RDAP:
            body, status = json.dumps(RDAP[self.path]).encode(), 200
        else:
            body, status = b'{"errorCode": 404, "title": "Not Found"}', 404
        self.send_response(status)
        self.send_header("Content-Type", "application/rdap+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


class _Whois(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        query = self.rfile.readline(1000).decode().strip().lower()
        try:
            if query == "silent-test.kz":
                STOP.wait(20)
            elif query == "huge-whois.kz":
                block = ("Current Registar: HOSTER.KZ\n" + "x" * 1000 + "\n").encode()
                for _ in range(5000):  # 5 MB unless the client hangs up first
                    self.wfile.write(block)
            elif query == "hotline-test.kz":
                self.wfile.write(WHOIS_KZ.encode())
            elif query == "shop-example.co.uk":
                self.wfile.write(WHOIS_GTLD.encode())
            else:
                self.wfile.write(b"*** Nothing found for this query.\n")
        except OSError:
            pass


class _FakeDns:
    """A UDP nameserver built from dnspython's message API; silent for SILENT_NAMES."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        names = {name for name, _ in ZONE}
        while not STOP.is_set():
            try:
                wire, peer = self.sock.recvfrom(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            query = dns.message.from_wire(wire)
            question = query.question[0]
            name = question.name.to_text(omit_final_dot=True).lower()
            if name in SILENT_NAMES:
                continue
            response = dns.message.make_response(query)
            rdtype = dns.rdatatype.to_text(question.rdtype)
            records = ZONE.get((name, rdtype), [])
            if records:
                rrset = dns.rrset.from_text(name + ".", 300, "IN", rdtype, *records)
                response.answer.append(rrset)
            elif name not in names:
                response.set_rcode(dns.rcode.NXDOMAIN)
            self.sock.sendto(response.to_wire(), peer)


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    original_connect, original_sendto = socket.socket.connect, socket.socket.sendto
    original_getaddrinfo = socket.getaddrinfo

    def is_loopback(host: object) -> bool:
        if host == "localhost":
            return True
        try:
            return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
        except ValueError:
            return False

    def connect(self: socket.socket, address: Any) -> None:
        assert self.family == socket.AF_UNIX or is_loopback(address[0]), address
        return original_connect(self, address)

    def sendto(self: socket.socket, data: bytes, *args: Any) -> int:
        assert is_loopback(args[-1][0]), args
        return original_sendto(self, data, *args)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        assert host is None or is_loopback(host), f"name lookup for {host!r}"
        return original_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "sendto", sendto)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, int]]:
    STOP.clear()
    fake_dns = _FakeDns()
    rdap = ThreadingHTTPServer(("127.0.0.1", 0), _Rdap)
    rdap.daemon_threads = True
    socketserver.ThreadingTCPServer.allow_reuse_address = True
    whois = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Whois)
    whois.daemon_threads = True
    for server in (rdap, whois):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    yield {"dns": fake_dns.port, "rdap": rdap.server_address[1], "whois": whois.server_address[1]}
    STOP.set()
    for server in (rdap, whois):
        server.shutdown()
        server.server_close()
    fake_dns.sock.close()


def _options(servers: dict[str, int], **changes: Any) -> EnrichOptions:
    policy = EgressPolicy.build(
        host_map={
            "rdap.test-registry.kz": f"127.0.0.1:{servers['rdap']}",
            "whois.test-registry.kz": f"127.0.0.1:{servers['whois']}",
        },
        pins_only=True,
    )
    settings: dict[str, Any] = {
        "egress_policy": policy,
        "dns_servers": ("127.0.0.1",),
        "dns_port": servers["dns"],
        "rdap_ip_bases": ("http://rdap.test-registry.kz/",),
        "rdap_bases": {"uk": "http://rdap.test-registry.kz/rdap/"},
        "whois_server": "whois.test-registry.kz",
        "dns_timeout": 1.0,
        "rdap_timeout": 1.5,
        "whois_timeout": 1.5,
        "total_timeout": 5.0,
    }
    settings.update(changes)
    return EnrichOptions(**settings)


def test_a_kz_site_found_by_dns_on_a_kazakh_network(servers: dict[str, int]) -> None:
    result = enrich("https://shop.hotline-test.kz/catalog?id=1", None, _options(servers))
    data = result.as_dict()
    json.dumps(data)
    assert data["errors"] == []
    assert data["dns"] == {
        "a": ["92.46.0.10"],
        "aaaa": [],
        "ns": ["ns1.hotline-test.kz", "ns2.hotline-test.kz"],
        "mx": [
            {"preference": 10, "exchange": "mx1.hotline-test.kz"},
            {"preference": 20, "exchange": "mx2.hotline-test.kz"},
        ],
    }
    assert (data["ip"], data["ip_source"]) == ("92.46.0.10", "dns")
    assert (data["country"], data["as_org"]) == ("KZ", "JSC Kazakhtelecom")
    assert data["jurisdiction"] == "kaznet" and ".kz" in data["jurisdiction_reason"]
    assert data["hosting_provider"] == "JSC Kazakhtelecom"
    assert data["hosting_provider_source"] == "directory"
    # the directory has no address for this provider: the network's RDAP abuse contact is used
    assert data["abuse_contact"] == "abuse@isp-net.hotline-test.kz"
    assert (data["abuse_contact_source"], data["abuse_contact_for"]) == ("rdap", "hosting")
    assert data["rdap"]["ip"]["name"] == "TEST-KZ-NET"
    assert "rdap_domain (no RDAP service known for .kz)" in data["skipped"]
    assert (data["registrar"], data["registrar_source"]) == ("HOSTER.KZ", "whois")
    assert data["registrar_entry"]["id"] == "hoster-kz"
    assert data["whois"]["contact_emails"] == ["owner@hotline-test.kz"]
    assert data["whois"]["address"] == "127.0.0.1" and not data["whois"]["truncated"]
    assert ("rdap.test-registry.kz", "/ip/92.46.0.10") in _Rdap.seen  # through the egress proxy


def test_a_registry_rdap_service_is_preferred_for_the_registrar(servers: dict[str, int]) -> None:
    options = _options(servers, rdap_bases={"kz": "http://rdap.test-registry.kz/rdap/"})
    result = enrich("http://shop.hotline-test.kz/", "92.46.0.10", options)
    assert result.errors == []
    assert result.ip_source == "capture"
    assert (result.registrar, result.registrar_source) == ("Test Registrar LLP", "rdap")
    assert result.rdap_domain is not None
    assert result.rdap_domain.abuse_emails == ["abuse@registrar.hotline-test.kz"]
    assert result.rdap_domain.registrant == "Test Owner LLP"
    assert result.rdap_domain.events == {"registration": "2020-01-02T00:00:00Z"}


def test_a_foreign_site(servers: dict[str, int]) -> None:
    result = enrich("http://www.shop-example.co.uk/", "8.8.8.8", _options(servers))
    data = result.as_dict()
    assert data["errors"] == []
    assert data["registrable_domain"] == "shop-example.co.uk"
    assert data["public_suffix"] == "co.uk"
    assert data["dns"]["a"] == ["8.8.8.8"] and data["dns"]["ns"] == ["ns.shop-example.co.uk"]
    assert data["jurisdiction"] == "foreign" and data["country"] == "US"
    assert "United States (US)" in data["jurisdiction_reason"]
    assert (data["hosting_provider"], data["hosting_provider_source"]) == ("GOOGLE", "ip database")
    assert data["abuse_contact"] == "abuse@net.example"
    assert (data["registrar"], data["registrar_source"]) == ("Example Registrar, Inc.", "rdap")
    assert data["whois"]["abuse_emails"] == ["abuse@registrar.example"]
    assert data["whois"]["contact_emails"] == []  # "REDACTED FOR PRIVACY" is no address


def test_silent_servers_end_within_their_timeouts(servers: dict[str, int]) -> None:
    options = _options(
        servers,
        rdap_bases={"kz": "http://rdap.test-registry.kz/rdap/slow-rdap/"},
        dns_timeout=1.0,
        rdap_timeout=1.0,
        whois_timeout=1.0,
    )
    started = time.monotonic()
    result = enrich("http://silent-test.kz/", None, options)
    elapsed = time.monotonic() - started
    assert elapsed < 3.0
    assert {e.source for e in result.errors} == {"dns", "rdap_domain", "whois"}
    assert all("1 s" in e.error for e in result.errors), result.errors
    assert result.jurisdiction == "kaznet"  # what needs no network is still filled
    assert result.domain is not None and result.domain.registrable_domain == "silent-test.kz"


def test_the_total_budget_bounds_everything(servers: dict[str, int]) -> None:
    options = _options(
        servers,
        rdap_bases={"kz": "http://rdap.test-registry.kz/rdap/slow-rdap/"},
        dns_timeout=8.0,
        rdap_timeout=8.0,
        whois_timeout=8.0,
        total_timeout=1.5,
    )
    started = time.monotonic()
    result = enrich("http://silent-test.kz/", None, options)
    assert time.monotonic() - started < 3.0
    budget = [e for e in result.errors if "total budget of 1.5 s" in e.error]
    assert {e.source for e in budget} == {"dns", "rdap_domain", "whois"}


def test_a_huge_whois_answer_is_capped(servers: dict[str, int]) -> None:
    options = _options(servers, whois_max_bytes=64 * 1024)
    result = enrich("http://huge-whois.kz/", None, options)
    assert result.whois is not None
    assert result.whois.truncated
    assert len(result.whois.text) <= 64 * 1024
    assert result.registrar == "HOSTER.KZ"
    assert len(result.as_dict()["whois"]["text"]) <= 4000  # type: ignore[index]


def test_malformed_rdap_json_is_an_error_not_a_crash(servers: dict[str, int]) -> None:
    options = _options(servers, rdap_bases={"kz": "http://rdap.test-registry.kz/rdap/"})
    result = enrich("http://broken-json.kz/", None, options)
    assert [e.source for e in result.errors] == ["rdap_domain"]
    assert "not valid JSON" in result.errors[0].error
    assert result.dns.a == ["92.46.0.11"] and result.country == "KZ"
    assert result.rdap_ip is None  # unknown to the fake registry (404): no data, no error


def test_unknown_names_and_refused_addresses_are_recorded(servers: dict[str, int]) -> None:
    options = _options(
        servers,
        rdap_ip_bases=None,  # the real registries: the pinned-only policy refuses them
        whois_server=f"127.0.0.1:{servers['whois']}",  # not pinned: refused
    )
    result = enrich("http://no-such-site.kz/", "92.46.0.1", options)
    errors = {e.source: e.error for e in result.errors}
    assert "NXDOMAIN" in errors["dns"]
    assert "127.0.0.1 is not on the sandbox map" in errors["whois"]
    assert "rdap.db.ripe.net" in errors["rdap_ip"] and "not on the sandbox map" in errors["rdap_ip"]
    assert result.jurisdiction == "kaznet" and result.hosting_provider == "JSC Kazakhtelecom"


def test_enrich_works_inside_a_running_event_loop(servers: dict[str, int]) -> None:
    async def inside() -> str:
        return enrich("http://shop.hotline-test.kz/", "92.46.0.10", _options(servers)).jurisdiction

    assert asyncio.run(inside()) == "kaznet"


def test_whois_connects_only_where_the_policy_allows(servers: dict[str, int]) -> None:
    local = {"disabled_sources": frozenset({"dns", "rdap_domain", "rdap_ip"})}
    server = f"127.0.0.1:{servers['whois']}"
    refused = enrich(
        "http://hotline-test.kz/",
        None,
        _options(servers, egress_policy=EgressPolicy.build(), whois_server=server, **local),
    )
    assert [e.source for e in refused.errors] == ["whois"]
    assert "refused by the egress policy (127.0.0.1: loopback address)" in refused.errors[0].error
    opened = enrich(
        "http://hotline-test.kz/",
        None,
        _options(
            servers,
            egress_policy=EgressPolicy.build(allow=["127.0.0.1/32"]),
            whois_server=server,
            **local,
        ),
    )
    assert opened.errors == [] and opened.registrar == "HOSTER.KZ"
    assert opened.skipped[0] == "dns" and opened.skipped[1].startswith("rdap_domain")


def test_a_stuck_system_resolver_does_not_hold_the_enrichment(
    servers: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    def stuck(*args: Any, **kwargs: Any) -> Any:
        STOP.wait(4)
        raise socket.gaierror("gave up")

    monkeypatch.setattr(socket, "getaddrinfo", stuck)
    options = _options(
        servers,
        egress_policy=EgressPolicy.build(),
        whois_server="whois.stuck-resolver.test",
        disabled_sources=frozenset({"dns", "rdap_domain", "rdap_ip"}),
        whois_timeout=8.0,
        total_timeout=1.0,
    )
    started = time.monotonic()
    result = enrich("http://hotline-test.kz/", None, options)
    assert time.monotonic() - started < 2.0
    assert "total budget of 1 s" in result.errors_of("whois")[0]
