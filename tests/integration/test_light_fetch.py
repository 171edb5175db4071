"""The light fetch: same result type as a browser capture, same egress point, bounded time."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from crawler.capture import CaptureLimits
from crawler.light_fetch import fetch_url
from crawler.sandbox import SandboxWeb

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def web() -> Iterator[SandboxWeb]:
    with SandboxWeb() as sandbox:
        yield sandbox


def test_a_light_fetch_follows_redirects_and_reads_the_page(web: SandboxWeb) -> None:
    result = fetch_url("http://kitap-alemi.kz/old-page", host_map=web.host_map, host_map_only=True)
    assert result.outcome == "ok" and result.http_status == 200
    assert result.final_url == "http://kitap-alemi.kz/"
    assert [hop["status"] for hop in result.redirect_chain] == [302, 200]
    assert result.title == "Кітап әлемі — кітап дүкені"
    assert "Абай" in (result.text or "") and "<script" not in (result.text or "")
    assert result.screenshot is None and result.images == []
    assert result.server_ip == "127.0.0.1"
    assert result.warc and result.manifest()["requests"][0]["status"] == 302


def test_unknown_names_and_error_pages_are_recorded(web: SandboxWeb) -> None:
    missing = fetch_url("http://no-such-host.kz/", host_map=web.host_map, host_map_only=True)
    assert missing.outcome == "network_error" and not missing.should_retry
    gone = fetch_url("http://zhabyq-sait.kz/", host_map=web.host_map, host_map_only=True)
    assert gone.outcome == "ok" and gone.http_status == 404


def test_a_server_that_never_answers_ends_within_the_limit(web: SandboxWeb) -> None:
    started = time.monotonic()
    result = fetch_url(
        "http://slow.kz/hold/light-never?s=60",
        host_map=web.host_map,
        host_map_only=True,
        limits=CaptureLimits(timeout_s=3),
    )
    assert result.outcome == "timeout" and result.should_retry
    assert time.monotonic() - started < 3 + 5
