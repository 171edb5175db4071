"""Sweeps that render pages in the browser (`--render`), against the sandbox Kaznet's script-built
shop front: plain sweeps never see what only its script links to; `when-needed` renders the app
shell once (one page of the budget) and follows its links; `always` renders every page while
pictures stay plain. The browser reaches even loopback only through the egress point."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from crawler import sandbox_apps as apps
from crawler.sandbox_kaznet import SandboxKaznet
from tests.script_pages import SHOP_HOST, SHOP_TEXT, Canary, ScriptShop, sweep

pytestmark = pytest.mark.integration

ITEMS = set(apps.APP_ITEMS)
ONE_HOP = ("--max-depth", "1")


def pages_of(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {row["url"]: row for row in rows if row["kind"] == "page"}


def test_a_plain_sweep_does_not_reach_pages_only_a_script_links(tmp_path: Path) -> None:
    with SandboxKaznet() as web:
        rows, stats = sweep(web.host_map, tmp_path / "never.jsonl", apps.APP_URL, extra=ONE_HOP)
        hits = list(web.hits)
    pages = pages_of(rows)
    assert set(pages) == {apps.APP_URL}
    shell = pages[apps.APP_URL]
    assert shell["rendered"] is False and shell["links"] == [] and shell["text"] == ""
    assert not {path for _, path in hits} & {"/app/item/1", "/app/item/2", "/app/api/showcase.json"}
    assert not any(key.startswith("playwright/") for key in stats)  # no browser at all


def test_when_needed_renders_the_app_shell_once_and_follows_its_script_links(
    tmp_path: Path,
) -> None:
    with SandboxKaznet() as web:
        rows, stats = sweep(
            web.host_map,
            tmp_path / "needed.jsonl",
            apps.APP_URL,
            extra=(*ONE_HOP, "--render", "when-needed"),
        )
        hits = list(web.hits)
    pages = pages_of(rows)
    assert set(pages) == {apps.APP_URL, *ITEMS}
    shell = pages[apps.APP_URL]
    assert shell["rendered"] is True
    assert all(line in shell["text"] for line in apps.APP_TEXT)
    assert set(shell["links"]) == ITEMS
    assert shell["pictures"] == [f"http://{apps.APP_HOST}/img/{apps.APP_IMAGE}"]
    for url, (name, text) in apps.APP_ITEMS.items():
        assert pages[url]["rendered"] is False and text in pages[url]["text"], name
    pictures = [row for row in rows if row["kind"] == "picture"]
    assert [p["url"] for p in pictures] == shell["pictures"] and pictures[0]["bytes"] > 0
    assert stats["hotline/pages_asked"] == 3  # the shell counted once, though fetched twice
    assert stats["playwright/page_count"] == 1  # only the shell went through the browser
    assert [path for _, path in hits].count("/app/") == 2
    assert ("tehno-bazar.kz", "/app/api/showcase.json") in hits  # the script's fetch


def test_always_renders_every_page_and_keeps_pictures_plain(tmp_path: Path) -> None:
    with SandboxKaznet() as web:
        rows, stats = sweep(
            web.host_map,
            tmp_path / "always.jsonl",
            apps.APP_URL,
            extra=(*ONE_HOP, "--render", "always"),
        )
    pages = pages_of(rows)
    assert set(pages) == {apps.APP_URL, *ITEMS}
    assert all(page["rendered"] for page in pages.values())
    assert stats["playwright/page_count"] == 3 and stats["hotline/pages_asked"] == 3
    assert [row["kind"] for row in rows].count("picture") == 1  # fetched by Scrapy, not the tab


def test_the_browser_reaches_loopback_only_through_the_egress_point(tmp_path: Path) -> None:
    """Chromium skips proxies for loopback unless told `<-loopback>`; the canary would see it."""
    canary = Canary()
    targets = [f"http://127.0.0.1:{canary.port}/api", f"http://localhost:{canary.port}/a.png"]
    try:
        with ScriptShop(targets) as shop:
            rows, stats = sweep(
                shop.host_map,
                tmp_path / "loop.jsonl",
                f"http://{SHOP_HOST}/",
                extra=("--render", "when-needed"),
            )
    finally:
        canary.close()
    shell = pages_of(rows)[f"http://{SHOP_HOST}/"]
    assert shell["rendered"] is True and SHOP_TEXT in shell["text"]
    assert canary.connections == 0
    assert {"127.0.0.1", "localhost"} <= set(stats["hotline/egress_turned_away"])


def test_a_page_the_browser_cannot_render_is_fetched_plain(tmp_path: Path) -> None:
    """A download is refused in the browser; the page falls back to plain HTTP, once."""
    with ScriptShop([]) as shop:
        rows, stats = sweep(
            shop.host_map,
            tmp_path / "file.jsonl",
            f"http://{SHOP_HOST}/file",
            extra=("--render", "always"),
        )
        hits = list(shop.hits)
    assert rows == []
    assert stats["hotline/render_failed"] == 1
    assert stats["hotline/skipped"] == {"not a page": 1}
    assert hits.count("/file") == 2  # the browser's try, then plain HTTP
