"""Nothing a capture does reaches a refused address: watched at the egress point and at a canary.

A canary listener on loopback stands in for a private service: the browser is steered to it by
redirects, images, scripts and direct navigation, and it must never see a connection, while the
egress point's log names each refusal. Runs inside a loopback-only network namespace.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from crawler.capture import CaptureLimits, CaptureResult, capture_url
from crawler.egress import EgressPolicy, EgressProxy
from crawler.hostile_web import HOSTILE_PAGES, HostilePage, HostileWeb
from crawler.light_fetch import fetch_url

pytestmark = pytest.mark.integration


class Canary:
    """A listener that counts every connection made to it; the tests want zero."""

    def __init__(self, family: int = socket.AF_INET, host: str = "127.0.0.1") -> None:
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.bind((host, 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\nConnection: close\r\n\r\ncanary")
            conn.close()

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def canary() -> Iterator[Canary]:
    listener = Canary()
    yield listener
    listener.close()


@pytest.fixture
def canary6() -> Iterator[Canary]:
    listener = Canary(socket.AF_INET6, "::1")
    yield listener
    listener.close()


def _trap_pages(canary: int, canary6: int) -> dict[str, tuple[int, dict[str, str], str]]:
    private = "http://10.0.0.1/pixel.png"
    metadata = "http://169.254.169.254/latest/meta-data/"
    return {
        "/to-canary": (302, {"Location": f"http://127.0.0.1:{canary}/secret"}, ""),
        "/to-canary6": (302, {"Location": f"http://[::1]:{canary6}/secret"}, ""),
        "/to-mapped": (302, {"Location": f"http://[::ffff:127.0.0.1]:{canary}/secret"}, ""),
        "/to-localhost": (302, {"Location": f"http://localhost:{canary}/"}, ""),
        "/to-metadata": (302, {"Location": metadata}, ""),
        "/to-file": (302, {"Location": "file:///etc/passwd"}, ""),
        "/sneaky": (
            200,
            {},
            f"<h1>Ordinary shop</h1><img src='{private}'>"
            f"<img src='http://127.0.0.1:{canary}/img.png'>"
            f"<iframe src='https://[::1]:{canary6}/'></iframe>"
            "<script>"
            f"fetch('{metadata}').catch(() => null);"
            f"fetch('http://127.0.0.1:{canary}/api').catch(() => null);"
            f"new WebSocket('ws://127.0.0.1:{canary}/ws');"
            f"navigator.sendBeacon('http://192.168.0.1:{canary}/beacon', 'x');"
            "</script>",
        ),
    }


@pytest.fixture
def trap(canary: Canary, canary6: Canary) -> Iterator[dict[str, str]]:
    """A hostile site, pinned as trap.kz; returns the host map for the capture."""
    pages = _trap_pages(canary.port, canary6.port)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            return

        def do_GET(self) -> None:
            status, headers, body = pages.get(self.path, (404, {}, "not here"))
            data = body.encode()
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield {"trap.kz": f"127.0.0.1:{server.server_address[1]}"}
    server.shutdown()
    server.server_close()


def _capture(url: str, host_map: dict[str, str], **options: object) -> CaptureResult:
    return capture_url(
        url,
        host_map=host_map,
        limits=CaptureLimits(timeout_s=15),
        **options,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("target", ["127.0.0.1", "[::1]", "[::ffff:127.0.0.1]", "localhost"])
def test_direct_navigation_to_loopback_is_refused(
    target: str, canary: Canary, canary6: Canary
) -> None:
    port = canary6.port if target == "[::1]" else canary.port
    result = _capture(f"http://{target}:{port}/", {})
    assert result.outcome == "refused", result.error
    assert result.should_retry is False
    assert result.refused and canary.connections == 0 and canary6.connections == 0


@pytest.mark.parametrize(
    "path", ["/to-canary", "/to-canary6", "/to-mapped", "/to-localhost", "/to-metadata"]
)
def test_redirects_to_refused_addresses_stop_at_the_egress_point(
    path: str, trap: dict[str, str], canary: Canary, canary6: Canary
) -> None:
    result = _capture(f"http://trap.kz{path}", trap)
    assert result.refused, result.egress
    assert result.text is None or "canary" not in result.text
    assert canary.connections == 0 and canary6.connections == 0


@pytest.mark.parametrize("path", ["/to-canary", "/to-canary6", "/to-metadata", "/to-file"])
def test_the_light_fetch_meets_the_same_policy(
    path: str, trap: dict[str, str], canary: Canary, canary6: Canary
) -> None:
    result = fetch_url(f"http://trap.kz{path}", host_map=trap, limits=CaptureLimits(timeout_s=10))
    assert result.refused or (result.stopped_by or "").startswith("redirect to a refused scheme")
    assert canary.connections == 0 and canary6.connections == 0
    assert "root:" not in (result.text or "")


def test_a_redirect_to_a_file_url_reads_no_file(trap: dict[str, str]) -> None:
    result = _capture("http://trap.kz/to-file", trap)
    assert "root:" not in (result.html or "") and "root:" not in (result.text or "")
    assert not (result.final_url or "").startswith("file:")


def test_subresources_scripts_and_beacons_to_private_addresses_are_refused(
    trap: dict[str, str], canary: Canary, canary6: Canary
) -> None:
    result = _capture("http://trap.kz/sneaky", trap)
    assert result.outcome == "ok" and "Ordinary shop" in (result.text or "")
    refused_hosts = {event["host"].strip("[]") for event in result.refused}
    assert {"10.0.0.1", "169.254.169.254", "127.0.0.1"} <= refused_hosts
    assert canary.connections == 0 and canary6.connections == 0
    assert result.server_ip == "127.0.0.1"  # the pinned trap.kz itself was allowed


def test_an_allow_listed_network_is_reachable(canary: Canary) -> None:
    """The check above can fail: with loopback allow-listed, the canary is reached."""
    result = _capture(f"http://127.0.0.1:{canary.port}/", {}, allow_private=("127.0.0.0/8",))
    assert result.outcome == "ok" and "canary" in (result.text or "")
    assert canary.connections >= 1


def test_the_egress_point_refuses_plain_clients_too(canary: Canary) -> None:
    """A light fetch (httpx, or raw requests) through the same proxy meets the same policy."""

    async def raw(proxy_url: str, request: bytes) -> bytes:
        host, port = proxy_url.rsplit("/", 1)[-1].split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(request)
        answer = await asyncio.wait_for(reader.read(), 10)
        writer.close()
        return answer

    async def fetch() -> tuple[list[int], list[bytes], list[str]]:
        async with EgressProxy(EgressPolicy.build()) as proxy:
            statuses = []
            async with httpx.AsyncClient(proxy=proxy.url, timeout=10) as client:
                for url in (
                    f"http://127.0.0.1:{canary.port}/",
                    "http://169.254.169.254/latest/meta-data/",
                ):
                    statuses.append((await client.get(url)).status_code)
                with pytest.raises(httpx.ProxyError):
                    await client.get(f"https://127.0.0.1:{canary.port}/")
            answers = [
                await raw(proxy.url, b"GET http://[fe80::1]/ HTTP/1.1\r\nHost: x\r\n\r\n"),
                await raw(proxy.url, b"CONNECT [::1]:%d HTTP/1.1\r\n\r\n" % canary.port),
                await raw(proxy.url, b"GET ftp://files.kz/a HTTP/1.1\r\n\r\n"),
                await raw(proxy.url, b"GET http://[::1 HTTP/1.1\r\n\r\n"),
            ]
            return statuses, answers, [event.decision for event in proxy.events]

    statuses, answers, decisions = asyncio.run(fetch())
    assert statuses == [403, 403]
    assert [answer.split(b" ", 2)[1] for answer in answers] == [b"403", b"403", b"403", b"400"]
    assert decisions == ["refused"] * 7
    assert canary.connections == 0


def test_a_name_is_checked_once_and_the_checked_address_is_used(canary: Canary) -> None:
    """DNS rebinding: the proxy connects to the address it checked, never resolving twice."""
    answers = iter(["8.8.8.8", "127.0.0.1"])
    calls: list[str] = []

    class Rebinding(EgressPolicy):
        async def resolve(self, host: str, port: int) -> tuple[list[tuple[str, int]], list[str]]:
            calls.append(host)
            answer = next(answers)
            return [(answer, canary.port)] if self.check(
                ipaddress.ip_address(answer)
            ) is None else [], [answer]

    async def fetch() -> list[str]:
        async with EgressProxy(Rebinding()) as proxy:
            async with httpx.AsyncClient(proxy=proxy.url, timeout=15) as client:
                response = await client.get("http://rebind.kz/")
                assert response.status_code == 502  # 8.8.8.8 is unreachable in the namespace
            return [event.decision for event in proxy.events]

    assert asyncio.run(fetch()) == ["failed"]
    assert calls == ["rebind.kz"] and canary.connections == 0


REFUSED_PAGES = [page for page in HOSTILE_PAGES if page.refused_target]


@pytest.fixture(scope="module")
def hostile() -> Iterator[HostileWeb]:
    with HostileWeb() as web:
        yield web


@pytest.mark.parametrize("page", REFUSED_PAGES, ids=[page.name for page in REFUSED_PAGES])
def test_hostile_pages_aiming_at_private_addresses_are_refused(
    page: HostilePage, hostile: HostileWeb
) -> None:
    result = _capture(page.url, hostile.host_map)
    refused = {event["host"].strip("[]") for event in result.refused}
    assert refused & {"10.0.0.1", "169.254.169.254"}, (page.name, result.egress)
    allowed = {event["address"] for event in result.egress if event["decision"] == "allowed"}
    assert allowed <= {"127.0.0.1"}  # only the pinned hostile host itself
