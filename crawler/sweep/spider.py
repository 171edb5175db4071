"""The sweep spider: from seed URLs, fetch Kaznet pages and their pictures breadth-first within
the sweep's budgets, and hand every page and picture on as plain data (`PageItem`,
`PictureItem`). What to make of them (hashes, the text model, known material, new cases) is the
caller's item pipeline; this module never imports `triage_api`.

Budgets: pages in all (`max_pages`), pages per host (`max_pages_per_host`), links followed from
a seed (`max_depth`; a page's pictures are not a hop), pictures per page, and a time limit
(`CLOSESPIDER_TIMEOUT`). Every
request, robots.txt included, leaves through the egress point (`EgressRouting`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urldefrag, urlsplit

import scrapy
from scrapy.http import HtmlResponse, Response

from crawler.light_fetch import page_text
from crawler.sweep.scope import Scope

MAX_HTML_CHARS = 2_000_000


@dataclass
class PageItem:
    url: str
    status: int
    depth: int
    seed: str
    title: str | None
    text: str
    html: str
    links: list[str] = field(default_factory=list)
    pictures: list[str] = field(default_factory=list)


@dataclass
class PictureItem:
    url: str
    page_url: str
    data: bytes
    content_type: str | None


@dataclass
class Budget:
    max_pages: int = 1000
    max_pages_per_host: int = 200
    max_depth: int = 4
    max_pictures_per_page: int = 20
    max_picture_bytes: int = 10 * 1024 * 1024


class SweepSpider(scrapy.Spider):
    name = "kaznet-sweep"

    def __init__(
        self,
        seeds: list[str],
        scope: Scope,
        budget: Budget | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.seeds = list(dict.fromkeys(seeds))
        self.scope = scope
        self.budget = budget or Budget()
        self.pages_asked = 0
        self.per_host: Counter[str] = Counter()
        self.asked: set[str] = set()  # pages asked for once: a link seen again is not counted
        self.skipped: Counter[str] = Counter()  # why links were not followed

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for seed in self.seeds:
            request = self._page_request(seed, seed, depth=0)
            if request is not None:
                yield request

    def parse(self, response: Response) -> Iterator[Any]:
        seed = response.meta.get("seed", response.url)
        depth = int(response.meta.get("hop", 0))
        if not isinstance(response, HtmlResponse):
            self.skipped["not a page"] += 1
            return
        html = response.text[:MAX_HTML_CHARS]
        title, text = page_text(html)
        links = _absolute(response, response.css("a::attr(href)").getall())
        pictures = _absolute(response, response.css("img::attr(src)").getall())
        pictures = [p for p in pictures if self.scope.allows(p)][
            : self.budget.max_pictures_per_page
        ]
        yield PageItem(
            response.url, response.status, depth, seed, title, text, html, links, pictures
        )
        for picture in pictures:
            yield scrapy.Request(
                picture,
                callback=self.picture,
                meta={"page": response.url, "seed": seed},
                priority=10,  # pictures before further pages: a page's evidence stays together
            )
        for link in links:
            request = self._page_request(link, seed, depth=depth + 1)
            if request is not None:
                yield request

    def picture(self, response: Response) -> Iterator[PictureItem]:
        body = response.body
        if len(body) > self.budget.max_picture_bytes:
            self.skipped["picture too large"] += 1
            return
        kind = response.headers.get("Content-Type")
        yield PictureItem(
            response.url,
            response.meta.get("page", ""),
            body,
            kind.decode("latin-1") if kind else None,
        )

    def _page_request(self, url: str, seed: str, *, depth: int) -> scrapy.Request | None:
        allowed, _ = self.scope.why(url)
        if not allowed:
            self.skipped["out of scope"] += 1
            return None
        host = (urlsplit(url).hostname or "").lower()
        if url in self.asked:
            return None
        if depth > self.budget.max_depth:
            self.skipped["depth"] += 1
            return None
        if self.pages_asked >= self.budget.max_pages:
            self.skipped["sweep page budget"] += 1
            return None
        if self.per_host[host] >= self.budget.max_pages_per_host:
            self.skipped["host page budget"] += 1
            return None
        # Counted when first asked for; a page that then fails still counts (errs on fetching less).
        self.asked.add(url)
        self.pages_asked += 1
        self.per_host[host] += 1
        return scrapy.Request(url, callback=self.parse, meta={"seed": seed, "hop": depth})


def _absolute(response: Response, hrefs: list[str]) -> list[str]:
    found: list[str] = []
    for href in hrefs:
        href = href.strip()
        if not href or href.startswith(("javascript:", "mailto:", "tel:", "data:", "#")):
            continue
        url = urldefrag(response.urljoin(href))[0]
        if urlsplit(url).scheme in ("http", "https"):
            found.append(url)
    return list(dict.fromkeys(found))


class EgressRouting:
    """Downloader middleware: every request (robots.txt too) goes through the egress point."""

    def __init__(self, proxy_url: str) -> None:
        self.proxy_url = proxy_url

    @classmethod
    def from_crawler(cls, crawler: Any) -> EgressRouting:
        return cls(crawler.settings["HOTLINE_EGRESS_URL"])

    def process_request(self, request: scrapy.Request, spider: scrapy.Spider | None = None) -> None:
        request.meta["proxy"] = self.proxy_url
