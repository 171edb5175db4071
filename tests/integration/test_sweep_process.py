"""One sweep process (`python -m crawler.sweep.run`) against the sandbox web: pages and their
pictures come out as JSON lines, robots.txt is asked through the egress point like everything
else, foreign hosts are left alone, and the page budget holds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crawler import sandbox_kaznet as kaznet
from crawler.sandbox import SandboxWeb
from crawler.sandbox_kaznet import SandboxKaznet
from tests.script_pages import sweep as run_sweep

pytestmark = pytest.mark.integration


def sweep(web: SandboxWeb, out: Path, *seeds: str, extra: tuple[str, ...] = ()) -> list[dict]:  # type: ignore[type-arg]
    rows, _ = run_sweep(web.host_map, out, *seeds, extra=extra)
    return rows


def test_a_sweep_fetches_kaznet_pages_and_pictures_through_the_egress(tmp_path: Path) -> None:
    with SandboxWeb() as web:
        rows = sweep(
            web,
            tmp_path / "a.jsonl",
            "http://zhasyl-bazar.kz/",
            "http://dala-news.kz/",
            "http://lucky-jackpot-casino.com/",  # a foreign seed is out of scope too
        )
        hits = list(web.hits)
    pages = {r["url"] for r in rows if r["kind"] == "page"}
    pictures = [r for r in rows if r["kind"] == "picture"]
    assert pages == {"http://zhasyl-bazar.kz/", "http://dala-news.kz/"}
    assert pictures and all(len(p["sha256"]) == 64 and p["bytes"] > 0 for p in pictures)
    assert {p["page_url"] for p in pictures} <= pages
    assert ("zhasyl-bazar.kz", "/robots.txt") in hits  # asked, and through the egress point
    assert not any(host.endswith(".com") for host, _ in hits)
    stats = json.loads((tmp_path / "a.stats.json").read_text())
    assert stats["hotline/skipped"]["out of scope"] == 1
    assert stats["hotline/pages_asked"] == 2


def test_the_page_budget_holds(tmp_path: Path) -> None:
    with SandboxWeb() as web:
        seeds = [f"http://{host}/" for host in web.host_map if host.endswith(".kz")]
        rows = sweep(web, tmp_path / "b.jsonl", *seeds, extra=("--max-pages", "2"))
    assert len([r for r in rows if r["kind"] == "page"]) == 2
    stats = json.loads((tmp_path / "b.stats.json").read_text())
    assert stats["hotline/skipped"]["sweep page budget"] == len(seeds) - 2


def test_a_sweep_from_the_confirmed_case_reaches_its_kaznet_mirrors(tmp_path: Path) -> None:
    with SandboxKaznet() as web:
        rows = sweep(
            web,  # type: ignore[arg-type]
            tmp_path / "c.jsonl",
            kaznet.CASE_URL,
            extra=("--max-depth", "3", "--max-pages", "400", "--per-host-concurrency", "4"),
        )
        hits = list(web.hits)
    pages = {r["url"] for r in rows if r["kind"] == "page"}
    assert {mirror.url for mirror in kaznet.MIRRORS_IN_SCOPE} <= pages
    assert kaznet.MIRROR_BEHIND_ROBOTS.url not in pages  # robots.txt says no
    assert not any(h[1].startswith("/private/") for h in hits if h[0] == "aq-zhol.kz")
    fetched_hosts = {host for host, *_ in hits}
    assert not fetched_hosts & set(kaznet.FOREIGN_HOSTS)
    mirror_pictures = {m.image for m in kaznet.MIRRORS_IN_SCOPE}
    seen_pictures = {r["url"].rsplit("/", 1)[-1] for r in rows if r["kind"] == "picture"}
    assert mirror_pictures <= seen_pictures


def test_the_per_host_budget_and_depth_hold(tmp_path: Path) -> None:
    with SandboxKaznet() as web:
        rows = sweep(
            web,  # type: ignore[arg-type]
            tmp_path / "d.jsonl",
            *kaznet.SEED_URLS,
            extra=("--max-pages-per-host", "3", "--max-depth", "1"),
        )
    pages = [r for r in rows if r["kind"] == "page"]
    per_host: dict[str, int] = {}
    for page in pages:
        host = page["url"].split("/")[2]
        per_host[host] = per_host.get(host, 0) + 1
    assert pages and max(per_host.values()) <= 3
    assert max(page["depth"] for page in pages) <= 1
    stats = json.loads((tmp_path / "d.stats.json").read_text())
    assert stats["hotline/skipped"]["host page budget"] > 0
