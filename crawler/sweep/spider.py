"""The sweep spider: from seed URLs, fetch Kaznet pages and their pictures breadth-first within
the sweep's budgets, and hand every page and picture on as plain data (`PageItem`,
`PictureItem`). What to make of them (hashes, the text model, known material, new cases) is the
caller's item pipeline; this module never imports `triage_api`.

Budgets: pages in all (`max_pages`), pages per host (`max_pages_per_host`), links followed from
a seed (`max_depth`; a page's pictures are not a hop), pictures per page, and a time limit
(`CLOSESPIDER_TIMEOUT`). Every request, robots.txt included, leaves through the egress point
(`EgressRouting`). Several processes may share one sweep through a Redis frontier
(`crawler.sweep.frontier`): they then admit pages against the budgets together.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urldefrag, urlsplit

import scrapy
from scrapy.http import HtmlResponse, Response

from crawler.light_fetch import page_text
from crawler.sweep.render import RENDER_MODES, needs_render
from crawler.sweep.scope import Scope

log = logging.getLogger(__name__)
MAX_HTML_CHARS = 2_000_000
_BUDGET_WORDS = {"budget": "sweep page budget", "host": "host page budget"}

Memory = Callable[[str], "list[str] | None"]
"""The links of a page an earlier sweep fetched within the revisit window, else None."""


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
    rendered: bool = False  # read from the browser's DOM, not the plain HTML


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
        memory: Memory | None = None,
        render: str = "never",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.seeds = list(dict.fromkeys(seeds))
        self.scope = scope
        self.budget = budget or Budget()
        self.memory = memory
        if render not in RENDER_MODES:
            raise ValueError(f"render is one of {', '.join(RENDER_MODES)}, not {render!r}")
        self.render = render
        # `always`: pages through the browser from the first fetch (pictures stay plain).
        self._always = {"playwright": True, "rendered": True} if render == "always" else {}
        self.frontier: Any = None  # a shared frontier's scheduler sets it when the crawl opens
        self.pages_asked = 0
        self.per_host: Counter[str] = Counter()
        # Pages asked for, with the fewest hops from a seed found so far: a link seen again is not
        # counted, but a page found again by a shorter path has its links followed again.
        self.asked: dict[str, int] = {}
        self.links: dict[str, list[str]] = {}  # links of the pages read (budgets bound it)
        self.skipped: Counter[str] = Counter()  # why links were not followed

    def _restore(self) -> None:
        """A sweep in one process keeps its queue in its job directory, and Scrapy keeps
        `self.state` there too (the spider-state extension): the hops, links and budget counts
        live in it, so a sweep carried on after a stop goes on as if it had not stopped (without
        them a page found closer after the stop had its links dropped as seen)."""
        state = getattr(self, "state", None)
        if state is None:
            return
        self.asked = state.setdefault("asked", self.asked)
        self.links = state.setdefault("links", self.links)
        self.per_host = state.setdefault("per_host", self.per_host)
        self.pages_asked = sum(self.per_host.values())  # each page asked counts on its host

    async def start(self) -> AsyncIterator[scrapy.Request]:
        self._restore()
        for seed in self.seeds:
            for request in self._follow(seed, seed, depth=0, remembered=False):
                yield request

    def on_finished(self, request: scrapy.Request | None) -> None:
        """Called once a request's callback has run; a shared frontier replaces it."""

    def failed(self, failure: Any) -> None:
        """Errback: a request that got no answer (refused, timed out, robots.txt) is finished."""
        request = getattr(failure, "request", None)
        self.skipped[f"failed: {type(failure.value).__name__}"] += 1
        if request is not None:
            self.on_finished(request)

    def parse(self, response: Response) -> Iterator[Any]:
        yield from self._finishing(self._read_page, response)

    def picture(self, response: Response) -> Iterator[PictureItem]:
        yield from self._finishing(self._read_picture, response)

    def _finishing(self, read: Callable[[Response], Iterator[Any]], response: Response) -> Any:
        """A page this code fails to read is logged and finished all the same: a request left
        unfinished would hold a shared frontier open for ever."""
        try:
            yield from read(response)
        except Exception:
            log.exception("sweep could not read %s", response.url)
            self.skipped["not read: error"] += 1
            self.on_finished(response.request)

    def _read_page(self, response: Response) -> Iterator[Any]:
        seed = response.meta.get("seed", response.url)
        depth = int(response.meta.get("hop", 0))
        if not isinstance(response, HtmlResponse):
            self.skipped["not a page"] += 1
            self.on_finished(response.request)
            return
        if self._wants_browser(response):  # an app shell: once more, in the browser, uncounted
            yield scrapy.Request(
                response.url,
                callback=self.parse,
                errback=self.failed,
                meta={"seed": seed, "hop": depth, "playwright": True, "rendered": True},
                dont_filter=True,
            )
            self.on_finished(response.request)
            return
        html = response.text[:MAX_HTML_CHARS]
        title, text = page_text(html)
        links = _absolute(response, response.css("a::attr(href)").getall())
        depth = self._read(response, links, depth)
        pictures = _absolute(response, response.css("img::attr(src)").getall())
        pictures = [p for p in pictures if self.scope.allows(p)][
            : self.budget.max_pictures_per_page
        ]
        yield PageItem(
            response.url,
            response.status,
            depth,
            seed,
            title,
            text,
            html,
            links,
            pictures,
            rendered=bool(response.meta.get("playwright")),
        )
        for picture in pictures:
            yield scrapy.Request(
                picture,
                callback=self.picture,
                errback=self.failed,
                meta={"page": response.url, "seed": seed},
                priority=10,  # pictures before further pages: a page's evidence stays together
            )
        for link in links:
            yield from self._follow(link, seed, depth=depth + 1)
        self.on_finished(response.request)

    def _wants_browser(self, response: Response) -> bool:
        """`when-needed`: a plain page that looks like an app shell and had no browser turn."""
        return (
            self.render == "when-needed"
            and not response.meta.get("rendered")
            and needs_render(response)
        )

    def _read_picture(self, response: Response) -> Iterator[PictureItem]:
        body = response.body
        if len(body) > self.budget.max_picture_bytes:
            self.skipped["picture too large"] += 1
        else:
            kind = response.headers.get("Content-Type")
            yield PictureItem(
                response.url,
                response.meta.get("page", ""),
                body,
                kind.decode("latin-1") if kind else None,
            )
        self.on_finished(response.request)

    def _follow(
        self, url: str, seed: str, *, depth: int, remembered: bool = True
    ) -> Iterator[scrapy.Request]:
        """The request for a page, or, for a page an earlier sweep fetched lately, the requests
        for its links as that sweep found them (the page itself is not fetched again)."""
        pending = [(url, depth)]
        while pending:
            url, depth = pending.pop()
            allowed, _ = self.scope.why(url)
            if not allowed:
                self.skipped["out of scope"] += 1
                continue
            if self.asked.get(url, depth + 1) <= depth:
                continue
            if depth > self.budget.max_depth:
                self.skipped["depth"] += 1
                continue
            links = self.memory(url) if remembered and self.memory else None
            request = scrapy.Request(
                url,
                callback=self.parse,
                errback=self.failed,
                meta={"seed": seed, "hop": depth} | self._always,
            )
            answer = self._admit(request, fetch=links is None)
            if answer == "closer":
                # Found by a shorter path than before: its links, as read (if it was read yet;
                # if not, it is read at the better hop count), are followed again from here.
                links = self._links_of(url)
                if links is not None:
                    self.skipped["found closer: links followed again"] += 1
                    pending.extend((link, depth + 1) for link in reversed(links))
                continue
            if answer != "ok":
                continue
            if links is None:
                if self.frontier is None:  # a shared frontier queued it as it admitted it
                    yield request
                continue
            self.skipped["swept lately: links followed"] += 1
            pending.extend((link, depth + 1) for link in reversed(links))

    def _read(self, response: Response, links: list[str], depth: int) -> int:
        """Keep a page's links (a shorter path found later follows them from here) and return
        the fewest hops it is known at. Links first, then the hops: with another process
        finding a shorter path meanwhile, one of the two sees the other's write."""
        asked = response.meta.get("redirect_urls", [response.url])[0]
        if self.frontier is not None:
            self.frontier.keep_links(asked, links)
            best = self.frontier.hops(asked)
        else:
            self.links[asked] = links
            best = self.asked.get(asked)
        return depth if best is None else min(depth, best)

    def _links_of(self, url: str) -> list[str] | None:
        if self.frontier is not None:
            found: list[str] | None = self.frontier.links_of(url)
            return found
        return self.links.get(url)

    def _admit(self, request: scrapy.Request, *, fetch: bool) -> str:
        """'ok', 'closer' (asked before, now found by a shorter path), 'seen', 'budget' or
        'host'. A page is counted against the budgets when first asked for (a page that then
        fails still counts: errs on fetching less). Processes sharing a frontier count together
        in Redis, where a page to fetch is queued in the same step."""
        host = (urlsplit(request.url).hostname or "").lower()
        answer = self._budget_answer(request, host, fetch)
        if answer in ("budget", "host"):
            self.skipped[_BUDGET_WORDS[answer]] += 1
        if answer in ("ok", "closer"):
            self.asked[request.url] = int(request.meta["hop"])
        if answer == "ok":
            self.pages_asked += 1
            self.per_host[host] += 1
        return answer

    def _budget_answer(self, request: scrapy.Request, host: str, fetch: bool) -> str:
        """'ok', 'closer', 'seen', 'budget' or 'host'."""
        budget = self.budget
        if self.frontier is not None:
            return str(
                self.frontier.admit(
                    request, host, budget.max_pages, budget.max_pages_per_host, queue=fetch
                )
            )
        if request.url in self.asked:
            return "closer"  # `_follow` let it through: a shorter path than before
        if self.pages_asked >= budget.max_pages:
            return "budget"
        if self.per_host[host] >= budget.max_pages_per_host:
            return "host"
        return "ok"


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
