"""Chromium asks for nothing of its own while it captures or renders a plain page: no component
update check (update.googleapis.com), no network-time query (clients2.google.com/time), nothing
through the egress point but the page's hosts. It did all of these within a second of starting.

Chromium holds some of its requests back while it believes it is offline, so here it is made to
look online: a veth pair with a documentation address, both ends inside this loopback-only
namespace and no route beyond them, so still no packet can leave the machine.

One request is allowed for now: `accounts.google.com/ListAccounts`, which no switch stops in
Chromium 156 (Playwright's `SkipListAccountsWithoutGaiaCookies` is not in it). A capture's browser
sends it around its per-context egress point, where the host-resolver rules end it; a sweep's
browser has its egress point per context too, so nothing of the browser's own reaches it.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from crawler import capture
from crawler.capture import Capture, CaptureLimits, CaptureResult
from crawler.sandbox import SandboxWeb
from tests.netns.conftest import only_loopback
from tests.script_pages import sweep

pytestmark = pytest.mark.integration

PAGE = "http://kitap-alemi.kz/"
HELD_PAGE = "http://slow.kz/hold/quiet-sweep?s=4"  # keeps the sweep's browser up a few seconds
SETTLE_S = 6.0  # the browser's own requests came within 1 s of its start, retries within 5 s
LIST_ACCOUNTS = "https://accounts.google.com/ListAccounts"
LINK = "hq-quiet0"


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=10)


@pytest.fixture(scope="module")
def looks_online() -> Iterator[None]:
    """A link Chromium counts as a network, inside the namespace only (TEST-NET-1, no route)."""
    assert only_loopback(), "a link is added only inside a loopback-only network namespace"
    _ip("link", "add", LINK, "type", "veth", "peer", "name", "hq-quiet1")
    try:
        _ip("addr", "add", "192.0.2.2/24", "dev", LINK)
        _ip("link", "set", "hq-quiet1", "up")
        _ip("link", "set", LINK, "up")
        yield
    finally:
        _ip("link", "del", LINK)


@pytest.fixture(scope="module")
def web() -> Iterator[SandboxWeb]:
    with SandboxWeb() as sandbox:
        yield sandbox


def _requested_urls(netlog: Path) -> set[str]:
    """Every http(s) URL in the browser's net log (read as text: a log cut short still counts)."""
    return set(re.findall(r'"(?:url|original_url)":"(https?://[^"]+)"', netlog.read_text()))


def test_a_capture_sends_nothing_of_the_browsers_own(
    looks_online: None, web: SandboxWeb, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    netlog = tmp_path / "netlog.json"
    args = [*capture.CHROMIUM_ARGS, f"--log-net-log={netlog}"]
    monkeypatch.setattr(capture, "CHROMIUM_ARGS", args)

    async def visit() -> CaptureResult:
        limits = CaptureLimits(timeout_s=20)
        async with Capture(host_map=web.host_map, host_map_only=True, limits=limits) as browser:
            result = await browser.run(PAGE)
            await asyncio.sleep(SETTLE_S)  # a worker's warm browser lives on between captures
            return result

    result = asyncio.run(visit())
    assert result.outcome == "ok", result.error
    assert {event["host"] for event in result.egress} == {"kitap-alemi.kz"}
    asked = _requested_urls(netlog)
    assert PAGE in asked  # the log saw the page, so it saw the rest too
    own = {url for url in asked if urlsplit(url).hostname not in web.host_map}
    assert {url for url in own if not url.startswith(LIST_ACCOUNTS)} == set()


@pytest.fixture(scope="module")
def swept(
    looks_online: None, web: SandboxWeb, tmp_path_factory: pytest.TempPathFactory
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    out = tmp_path_factory.mktemp("quiet") / "always.jsonl"
    return sweep(web.host_map, out, PAGE, HELD_PAGE, extra=("--render", "always"))


def test_a_rendering_sweep_sends_nothing_of_the_browsers_own(
    swept: tuple[list[dict[str, Any]], dict[str, Any]],
) -> None:
    rows, stats = swept
    rendered = {row["url"] for row in rows if row["kind"] == "page" and row["rendered"]}
    assert {PAGE, HELD_PAGE} <= rendered
    assert stats["hotline/egress_refused"] == 0
    turned_away = set(stats["hotline/egress_turned_away"])  # off the host map: not the pages'
    assert turned_away == set()
