"""Hops from a seed: a page first reached by a long path, at the depth limit, and found again by
a shorter one has its links (kept as read) followed from the shorter path, so they come into
reach; the page is not fetched, counted or handed on twice. A page queued at a long path and
read after a shorter one was found is read at the shorter. Without this, which mirrors a sweep
found depended on which host answered first."""

from __future__ import annotations

import asyncio
from typing import Any

import scrapy
from scrapy.http import HtmlResponse

from crawler.sweep.scope import Scope
from crawler.sweep.spider import Budget, PageItem, SweepSpider

SEED = "http://seed.kz/"


def page(url: str, links: list[str], meta: dict[str, Any]) -> HtmlResponse:
    anchors = "".join(f'<a href="{link}">{link}</a>' for link in links)
    body = f"<html><head><title>{url}</title></head><body><p>Текст страницы.</p>{anchors}</body>"
    request = scrapy.Request(url, meta=meta)
    return HtmlResponse(url, body=(body + "</html>").encode(), encoding="utf-8", request=request)


def requests(output: list[Any]) -> dict[str, scrapy.Request]:
    return {item.url: item for item in output if isinstance(item, scrapy.Request)}


def test_a_page_found_again_closer_to_the_seed_has_its_links_followed() -> None:
    spider = SweepSpider(seeds=[SEED], scope=Scope(), budget=Budget(max_depth=3))
    assert [request.url for request in asyncio.run(_started(spider))] == [SEED]
    hop0 = {"seed": SEED, "hop": 0}
    found = requests(list(spider.parse(page(SEED, ["http://a.kz/", "http://near.kz/"], hop0))))
    a, near = found["http://a.kz/"], found["http://near.kz/"]

    # The long way answers first: seed → a → b → mirror (hop 3, the limit); its link is cut.
    b = requests(list(spider.parse(page(a.url, ["http://b.kz/"], a.meta))))["http://b.kz/"]
    mirror = requests(list(spider.parse(page(b.url, ["http://mirror.kz/"], b.meta))))
    mirror_request = mirror["http://mirror.kz/"]
    assert mirror_request.meta["hop"] == 3
    output = list(
        spider.parse(page(mirror_request.url, ["http://beyond.kz/"], mirror_request.meta))
    )
    assert [type(item) for item in output] == [PageItem] and spider.skipped["depth"] == 1

    # Then the short way: seed → near → mirror (hop 2): its links, as read, followed from here;
    # the mirror is not fetched, handed on or counted again.
    output = list(spider.parse(page(near.url, ["http://mirror.kz/"], near.meta)))
    assert "http://mirror.kz/" not in requests(output)
    assert requests(output)["http://beyond.kz/"].meta["hop"] == 3
    assert spider.pages_asked == 6  # seed, a, near, b, mirror, beyond

    # Found a third time, no closer: nothing more.
    assert not requests(list(spider.parse(page(near.url, ["http://mirror.kz/"], near.meta))))


async def _started(spider: SweepSpider) -> list[scrapy.Request]:
    return [request async for request in spider.start()]


def test_a_page_read_after_a_shorter_path_was_found_is_read_at_it() -> None:
    spider = SweepSpider(seeds=[SEED], scope=Scope(), budget=Budget(max_depth=2))
    hop0 = {"seed": SEED, "hop": 0}
    a = requests(list(spider.parse(page(SEED, ["http://a.kz/"], hop0))))["http://a.kz/"]
    queued = requests(list(spider.parse(page(a.url, ["http://b.kz/"], a.meta))))["http://b.kz/"]
    assert queued.meta["hop"] == 2
    # Before b answers, a page at hop 0 links to it: b is known at hop 1 now.
    list(spider.parse(page(SEED, ["http://b.kz/"], hop0)))
    output = list(spider.parse(page(queued.url, ["http://c.kz/"], queued.meta)))
    assert requests(output)["http://c.kz/"].meta["hop"] == 2  # read at hop 1, not 2
    assert [item.depth for item in output if isinstance(item, PageItem)] == [1]


def test_a_page_the_spider_fails_to_read_is_finished_all_the_same() -> None:
    """Otherwise its request stays held and a shared frontier never drains."""
    spider = SweepSpider(seeds=[SEED], scope=Scope())
    finished: list[str] = []
    spider.on_finished = lambda request: finished.append(request.url if request else "")  # type: ignore[method-assign]

    def broken(response: object, links: object, depth: int) -> int:
        raise RuntimeError("a bug in reading")

    spider._read = broken  # type: ignore[method-assign]
    output = list(spider.parse(page(SEED, ["http://a.kz/"], {"seed": SEED, "hop": 0})))
    assert output == [] and finished == [SEED] and spider.skipped["not read: error"] == 1
