"""A warm browser for workers: reused, recycled, replaced after a crash, killed when it grows."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from crawler import process_tree
from crawler.capture import CaptureLimits
from crawler.capture_host import CaptureHost
from crawler.sandbox import SandboxWeb

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def web() -> Iterator[SandboxWeb]:
    with SandboxWeb() as sandbox:
        yield sandbox


def _host(web: SandboxWeb, **options: object) -> CaptureHost:
    return CaptureHost(
        host_map=web.host_map,
        host_map_only=True,
        limits=CaptureLimits(timeout_s=15),
        **options,
    )


def _browser_descendants() -> list[int]:
    mine = process_tree.tree([os.getpid()])
    return [
        pid
        for pid in mine
        if pid != os.getpid() and b"chrom" in _cmdline(pid) and b"--type=" not in _cmdline(pid)
    ]


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def test_one_browser_serves_many_captures_and_is_recycled(web: SandboxWeb) -> None:
    host = _host(web, recycle_after=2)
    try:
        urls = ["http://zhasyl-bazar.kz/", "http://dala-news.kz/", "http://kitap-alemi.kz/"]
        results = [host.capture(url) for url in urls]
        assert [r.outcome for r in results] == ["ok", "ok", "ok"]
        assert host._capture is not None and host._capture.launches == 2
        assert host._capture.peak_rss > 0
        home = host._capture._home
        assert home is not None and Path(home.name).is_dir()
    finally:
        host.close()
    assert not Path(home.name).exists()  # the browser's HOME and profile went with it
    assert _browser_descendants() == []


def test_a_crashed_browser_is_replaced_for_the_next_capture(web: SandboxWeb) -> None:
    host = _host(web)
    try:
        assert host.capture("http://zhasyl-bazar.kz/").outcome == "ok"
        assert host._capture is not None
        process_tree.kill(host._capture.browser_processes())
        after = host.capture("http://dala-news.kz/")
        assert after.outcome == "ok", after.error
        assert host._capture.launches == 2
    finally:
        host.close()
    assert _browser_descendants() == []


def test_the_watchdog_kills_a_browser_past_its_memory_limit(web: SandboxWeb) -> None:
    host = _host(web, memory_limit_mb=40)  # any real page is over this
    try:
        result = host.capture("http://ortaq-forum.kz/")
        assert result.outcome == "browser_error" and result.should_retry is False
        assert result.stopped_by is not None and "browser memory" in result.stopped_by
    finally:
        host.close()
    assert _browser_descendants() == []
