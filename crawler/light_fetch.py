"""The light fetch: one page over plain HTTP, through the same egress point and limits.

For rechecks ("is it still there?") and pages that need no browser. It produces the same
`CaptureResult` as a browser capture, without screenshot, rendered DOM or images, in a fraction of
the time. Redirects are followed here, one hop at a time, so each hop meets the egress policy.
"""

from __future__ import annotations

import asyncio
import re
import time
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from crawler.capture import CaptureLimits, CaptureResult, record_egress, warcinfo
from crawler.egress import EgressPolicy, EgressProxy
from crawler.traffic import Exchange
from crawler.warc import warc_bytes

USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) KaznetHotline/1.0 (recheck)"
MAX_BODY_CHARS = 10_000_000


class _TextAndTitle(HTMLParser):
    """Visible text and the title, skipping scripts and styles; tolerant of broken HTML."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title: list[str] = []
        self._skip = 0
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in ("script", "style", "noscript", "template"):
            self._skip += 1
        elif tag == "title":
            self._in_title = True

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "noscript", "template") and self._skip:
            self._skip -= 1
        elif tag == "title":
            self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title.append(data)
        elif not self._skip and data.strip():
            self.parts.append(data.strip())


async def light_fetch(
    url: str, *, policy: EgressPolicy | None = None, limits: CaptureLimits | None = None
) -> CaptureResult:
    """Fetch `url` within the wall-clock limit; always returns a result."""
    policy = policy or EgressPolicy()
    limits = limits or CaptureLimits()
    result = CaptureResult(requested_url=url, started_at=datetime.now(UTC))
    result.browser_version = f"httpx {httpx.__version__} (light fetch)"
    result.egress_policy = policy.describe()
    async with EgressProxy(
        policy, max_bytes=limits.max_transfer_bytes, max_connections=limits.max_connections
    ) as proxy:
        try:
            await asyncio.wait_for(_follow(url, proxy.url, limits, result), limits.timeout_s)
        except TimeoutError:
            result.outcome, result.should_retry = "timeout", True
            result.error = f"fetch stopped after its limit of {limits.timeout_s:g} s"
            result.stopped_by = f"wall-clock limit of {limits.timeout_s:g} s"
        except httpx.HTTPError as exc:
            result.outcome, result.should_retry = "network_error", True
            result.error = f"{type(exc).__name__}: {exc}"[:500]
        result.finished_at = datetime.now(UTC)
        record_egress(proxy, result)
    result.warc = warc_bytes(result.exchanges, warcinfo(result))
    return result


async def _follow(url: str, proxy_url: str, limits: CaptureLimits, result: CaptureResult) -> None:
    async with httpx.AsyncClient(
        proxy=proxy_url,
        verify=False,  # noqa: S501 - hostile sites: what is served matters, not who signed it
        follow_redirects=False,
        timeout=httpx.Timeout(min(30.0, limits.timeout_s)),
        headers={"User-Agent": USER_AGENT, "Accept": "text/html,*/*;q=0.8"},
    ) as client:
        current = url
        for _ in range(limits.max_navigations + 1):
            exchange = await _one(client, current, limits, result)
            result.navigations.append(current)
            location = exchange.response_headers.get("location")
            status = exchange.status or 0
            result.redirect_chain.append(
                {"url": current, "status": status, "location": location if location else None}
            )
            if 300 <= status < 400 and location:
                target = urljoin(current, location)
                if urlsplit(target).scheme not in ("http", "https"):
                    result.stopped_by = f"redirect to a refused scheme: {target[:200]}"
                    break
                current = target
                continue
            _record_document(exchange, result)
            return
        else:
            result.stopped_by = f"more than {limits.max_navigations} redirects"
        result.final_url = current
        result.http_status = result.redirect_chain[-1]["status"] if result.redirect_chain else None


async def _one(
    client: httpx.AsyncClient, url: str, limits: CaptureLimits, result: CaptureResult
) -> Exchange:
    exchange = Exchange(url, "GET", "document", datetime.now(UTC))
    result.exchanges.append(exchange)
    async with client.stream("GET", url) as response:
        exchange.status, exchange.status_text = response.status_code, response.reason_phrase
        exchange.request_headers = dict(response.request.headers)
        exchange.response_headers = {k.lower(): v for k, v in response.headers.items()}
        body = bytearray()
        started = time.monotonic()
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) > limits.max_total_bytes:
                exchange.body_note = f"cut at the capture byte limit ({limits.max_total_bytes})"
                result.stopped_by = f"body over {limits.max_total_bytes} bytes"
                break
            if time.monotonic() - started > limits.timeout_s:
                break
        exchange.body = bytes(body)
    return exchange


def _record_document(exchange: Exchange, result: CaptureResult) -> None:
    result.final_url, result.http_status = exchange.url, exchange.status
    kind = exchange.response_headers.get("content-type", "")
    if exchange.body is None or not re.search(r"html|text|xml", kind or "text/html"):
        return
    charset = re.search(r"charset=([\w.:-]+)", kind)
    try:
        html = exchange.body.decode(charset.group(1) if charset else "utf-8", "replace")
    except LookupError:
        html = exchange.body.decode("utf-8", "replace")
    result.html = html[:MAX_BODY_CHARS]
    result.title, result.text = page_text(result.html)


def page_text(html: str) -> tuple[str | None, str]:
    """Title and visible text of an HTML document as the light fetch reads them, so a page
    stored earlier can be compared with what a recheck reads now, word for word."""
    parser = _TextAndTitle()
    try:
        parser.feed(html[:MAX_BODY_CHARS])
        parser.close()
    except (AssertionError, ValueError):  # HTMLParser on very broken markup
        pass
    title = " ".join("".join(parser.title).split())[:2000] or None
    return title, "\n".join(parser.parts)[:2_000_000]


async def light_fetch_many(
    urls: list[str],
    *,
    policy: EgressPolicy | None = None,
    limits: CaptureLimits | None = None,
    concurrency: int = 16,
) -> list[CaptureResult]:
    """Fetch many pages at once (rechecks come in batches); results in the order of `urls`.
    Each fetch still has its own egress point and limits."""
    gate = asyncio.Semaphore(max(1, concurrency))

    async def one(url: str) -> CaptureResult:
        async with gate:
            return await light_fetch(url, policy=policy, limits=limits)

    return list(await asyncio.gather(*(one(url) for url in urls)))


def fetch_url(url: str, **options: Any) -> CaptureResult:
    """Synchronous helper (rechecks, the CLI's `--light`)."""
    policy = EgressPolicy.build(
        options.pop("allow_private", ()),
        options.pop("host_map", None),
        options.pop("host_map_only", False),
    )
    return asyncio.run(light_fetch(url, policy=policy, limits=options.pop("limits", None)))
