"""One capture of one URL in a fresh headless Chromium.

`Capture` is an async context manager that owns its browser and returns a `CaptureResult`; page
failures (timeouts, DNS errors, HTTP errors) are recorded in the result, never raised.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from playwright.async_api import (
    Browser,
    BrowserContext,
    FloatRect,
    Frame,
    Page,
    Playwright,
    Request,
    Response,
    async_playwright,
)
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import TimeoutError as PlaywrightTimeout

from crawler.browser import find_chromium
from crawler.egress import EgressPolicy, EgressProxy

CHROMIUM_ARGS = [
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--no-first-run",
    "--mute-audio",
    "--disable-quic",
    # All traffic goes through the egress point; the browser itself may resolve no name and may
    # send no UDP (WebRTC) around it.
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
    "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
    "--webrtc-ip-handling-policy=disable_non_proxied_udp",
    "--disable-dns-prefetch",
    "--disable-features=Translate,MediaRouter,OptimizationHints,AutofillServerCommunication,"
    "HttpsUpgrades,HttpsFirstBalancedModeAutoEnable,HttpsFirstModeV2ForTypicallySecureUsers",
]
MAX_HTML_CHARS = 10_000_000
MAX_TEXT_CHARS = 2_000_000


@dataclass(frozen=True, slots=True)
class CaptureLimits:
    timeout_s: float = 45.0
    max_image_bytes: int = 10 * 1024 * 1024
    max_images: int = 50
    max_total_bytes: int = 60 * 1024 * 1024
    viewport: tuple[int, int] = (1280, 900)
    max_screenshot_height: int = 12000
    max_transfer_bytes: int = 200 * 1024 * 1024  # everything received through the egress point
    max_connections: int = 600
    max_navigations: int = 20  # main-frame navigations: HTTP, meta-refresh and script redirects


@dataclass(slots=True)
class CapturedImage:
    url: str
    data: bytes
    content_type: str | None


@dataclass(slots=True)
class CaptureResult:
    """What the browser saw; `outcome` is ok, timeout, refused, network_error or browser_error.

    `stopped_by` names the limit that cut the capture short, if any; what arrived before is kept.
    """

    requested_url: str
    started_at: datetime
    finished_at: datetime | None = None
    final_url: str | None = None
    http_status: int | None = None
    title: str | None = None
    text: str | None = None
    html: str | None = None
    screenshot: bytes | None = None
    redirect_chain: list[dict[str, Any]] = field(default_factory=list)
    navigations: list[str] = field(default_factory=list)
    server_ip: str | None = None
    images: list[CapturedImage] = field(default_factory=list)
    skipped_images: list[dict[str, Any]] = field(default_factory=list)
    browser_version: str | None = None
    egress_policy: dict[str, Any] = field(default_factory=dict)
    egress: list[dict[str, Any]] = field(default_factory=list)
    stopped_by: str | None = None
    outcome: str = "ok"
    error: str | None = None
    should_retry: bool = False

    @property
    def refused(self) -> list[dict[str, Any]]:
        """Connections the egress point refused (private addresses, other schemes, …)."""
        return [event for event in self.egress if event["decision"] == "refused"]

    def manifest(self) -> dict[str, Any]:
        """The JSON-able facts of the capture, without the bytes."""
        return {
            "requested_url": self.requested_url,
            "final_url": self.final_url,
            "http_status": self.http_status,
            "title": self.title,
            "redirect_chain": self.redirect_chain,
            "navigations": self.navigations,
            "server_ip": self.server_ip,
            "browser_version": self.browser_version,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "outcome": self.outcome,
            "error": self.error,
            "should_retry": self.should_retry,
            "images": [{"url": i.url, "bytes": len(i.data)} for i in self.images],
            "skipped_images": self.skipped_images,
            "stopped_by": self.stopped_by,
            "egress_policy": self.egress_policy,
            "egress": self.egress,
        }


class Capture:
    """A browser for captures; each `run` gets a fresh context and its own egress point.

    No shared profile, downloads refused, dialogs dismissed, popups closed, service workers
    blocked. `host_map` pins names to the sandbox web; `allow_private` opens networks on purpose.
    """

    def __init__(
        self,
        *,
        limits: CaptureLimits | None = None,
        chromium_path: str | None = None,
        host_map: dict[str, str] | None = None,
        host_map_only: bool = False,
        allow_private: tuple[str, ...] = (),
    ) -> None:
        self.limits = limits or CaptureLimits()
        self.chromium_path = chromium_path
        self.policy = EgressPolicy.build(allow_private, host_map, host_map_only)
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None

    async def __aenter__(self) -> Capture:
        args = list(CHROMIUM_ARGS)
        self._playwright = await async_playwright().start()
        try:
            self._browser = await self._playwright.chromium.launch(
                executable_path=find_chromium(self.chromium_path),
                args=args,
                timeout=30_000,
                handle_sigint=False,
                handle_sigterm=False,
                handle_sighup=False,
            )
        except BaseException:
            await self._playwright.stop()
            raise
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._browser is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._browser.close(), 10)
        if self._playwright is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._playwright.stop(), 10)

    async def run(self, url: str) -> CaptureResult:
        """Visit `url` within the wall-clock limit; always returns a result."""
        assert self._browser is not None, "use 'async with Capture() as capture'"
        result = CaptureResult(requested_url=url, started_at=datetime.now(UTC))
        result.browser_version = f"Chromium {self._browser.version}"
        result.egress_policy = self.policy.describe()
        limits = self.limits
        async with EgressProxy(
            self.policy, max_bytes=limits.max_transfer_bytes, max_connections=limits.max_connections
        ) as proxy:
            context = await self._new_context(proxy.url)
            try:
                await asyncio.wait_for(self._visit(context, url, result), limits.timeout_s)
            except TimeoutError:
                result.outcome, result.should_retry = "timeout", True
                result.error = f"capture stopped after its limit of {limits.timeout_s:g} s"
                result.stopped_by = (
                    result.stopped_by or f"wall-clock limit of {limits.timeout_s:g} s"
                )
            except PlaywrightError as exc:
                result.outcome, result.error = "browser_error", _first_line(exc)
                result.should_retry = True
            finally:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(context.close(), 5)
                result.finished_at = datetime.now(UTC)
            _record_egress(proxy, result)
        return result

    async def _new_context(self, proxy_url: str) -> BrowserContext:
        assert self._browser is not None
        width, height = self.limits.viewport
        context = await self._browser.new_context(
            proxy={"server": proxy_url, "bypass": "<-loopback>"},
            accept_downloads=False,
            service_workers="block",
            ignore_https_errors=True,
            viewport={"width": width, "height": height},
            user_agent=_desktop_user_agent(self._browser.version),
            permissions=[],
            locale="ru-RU",
            timezone_id="Asia/Almaty",
        )
        return context

    async def _visit(self, context: BrowserContext, url: str, result: CaptureResult) -> None:
        page = await context.new_page()
        context.on("page", lambda popup: asyncio.ensure_future(_close_quietly(popup, page)))
        page.on("dialog", lambda dialog: asyncio.ensure_future(dialog.dismiss()))
        collector = _ImageCollector(self.limits, result)
        page.on("response", collector.on_response)
        limit = self.limits.max_navigations
        stopping: set[asyncio.Future[None]] = set()

        def navigated(frame: Frame) -> None:
            if frame != page.main_frame:
                return
            result.navigations.append(frame.url)
            if len(result.navigations) > limit and result.stopped_by is None:
                result.stopped_by = f"more than {limit} navigations (a redirect loop?)"
                stopping.add(asyncio.ensure_future(_refuse_everything(context)))

        page.on("framenavigated", navigated)
        deadline = time.monotonic() + self.limits.timeout_s
        try:
            response = await page.goto(url, wait_until="load", timeout=_ms_left(deadline, 0.6))
        except PlaywrightTimeout:
            response = None
            result.outcome, result.should_retry = "timeout", True
            result.error = "page did not finish loading in time; recorded what had arrived"
        except PlaywrightError as exc:
            result.outcome, result.error = "network_error", _first_line(exc)
            result.should_retry = "ERR_NAME_NOT_RESOLVED" not in (result.error or "")
            return
        if response is not None:
            await _record_response(response, result)
        await _settle(page, deadline)
        await self._record_page(page, result, deadline)
        await collector.finish(max(1.0, min(5.0, deadline - time.monotonic())))

    async def _record_page(self, page: Page, result: CaptureResult, deadline: float) -> None:
        result.final_url = page.url
        with contextlib.suppress(PlaywrightError):
            result.title = (await page.title())[:2000]
        with contextlib.suppress(PlaywrightError):
            result.html = (await page.content())[:MAX_HTML_CHARS]
        with contextlib.suppress(PlaywrightError):
            text = await page.evaluate("() => document.body ? document.body.innerText : ''")
            result.text = str(text)[:MAX_TEXT_CHARS]
        result.screenshot = await self._screenshot(page, deadline)

    async def _screenshot(self, page: Page, deadline: float) -> bytes | None:
        width, _ = self.limits.viewport
        try:
            height = int(
                await page.evaluate(
                    "() => Math.max(document.documentElement.scrollHeight,"
                    " document.body ? document.body.scrollHeight : 0)"
                )
            )
        except (PlaywrightError, TypeError, ValueError):
            height = self.limits.viewport[1]
        clip: FloatRect | None = None
        if height > self.limits.max_screenshot_height:
            clip = {"x": 0, "y": 0, "width": width, "height": self.limits.max_screenshot_height}
        try:
            return await page.screenshot(
                full_page=True,
                clip=clip,
                type="png",
                timeout=_ms_left(deadline, 1.0),
            )
        except PlaywrightError:
            return None


class _ImageCollector:
    """Keeps image responses within the count and byte limits; records what it skipped."""

    def __init__(self, limits: CaptureLimits, result: CaptureResult) -> None:
        self.limits = limits
        self.result = result
        self.total = 0
        self.pending: set[asyncio.Task[None]] = set()
        self.seen: set[str] = set()

    def on_response(self, response: Response) -> None:
        if response.request.resource_type != "image" or response.url.startswith("data:"):
            return
        if response.url in self.seen:
            return
        self.seen.add(response.url)
        task = asyncio.ensure_future(self._fetch(response))
        self.pending.add(task)
        task.add_done_callback(self.pending.discard)

    async def _fetch(self, response: Response) -> None:
        skipped = self.result.skipped_images
        if len(self.result.images) >= self.limits.max_images:
            skipped.append({"url": response.url, "reason": "image count limit"})
            return
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.limits.max_image_bytes:
            skipped.append({"url": response.url, "reason": f"declared {declared} bytes"})
            return
        try:
            body = await response.body()
        except PlaywrightError as exc:
            skipped.append({"url": response.url, "reason": _first_line(exc)})
            return
        if len(body) > self.limits.max_image_bytes:
            skipped.append({"url": response.url, "reason": f"{len(body)} bytes, over the limit"})
            return
        if self.total + len(body) > self.limits.max_total_bytes:
            skipped.append({"url": response.url, "reason": "capture byte limit"})
            return
        if len(self.result.images) >= self.limits.max_images:
            skipped.append({"url": response.url, "reason": "image count limit"})
            return
        self.total += len(body)
        content_type = response.headers.get("content-type")
        self.result.images.append(CapturedImage(response.url, body, content_type))

    async def finish(self, timeout: float) -> None:
        if self.pending:
            await asyncio.wait(set(self.pending), timeout=timeout)
        for task in list(self.pending):
            task.cancel()


async def _record_response(response: Response, result: CaptureResult) -> None:
    result.http_status = response.status
    chain: list[dict[str, Any]] = []
    request: Request | None = response.request.redirected_from
    hops: list[Request] = []
    while request is not None:
        hops.append(request)
        request = request.redirected_from
    for hop in reversed(hops):
        hop_response = await hop.response()
        chain.append(
            {
                "url": hop.url,
                "status": hop_response.status if hop_response else None,
                "location": hop_response.headers.get("location") if hop_response else None,
            }
        )
    chain.append({"url": response.url, "status": response.status, "location": None})
    result.redirect_chain = chain


def _record_egress(proxy: EgressProxy, result: CaptureResult) -> None:
    """What left through the egress point; a refused main address makes the outcome `refused`."""
    result.egress = [event.as_dict() for event in proxy.events]
    if proxy.limit_hit:
        result.stopped_by = result.stopped_by or proxy.limit_hit
    result.server_ip = proxy.address_of(result.final_url or result.requested_url)
    host = urlsplit(result.requested_url).hostname or ""
    first = next(iter(proxy.events_for(result.requested_url)), None)
    if first is None or first.decision == "allowed" or result.server_ip is not None:
        return
    result.http_status = None  # the status was the egress point's, not the site's
    if first.decision == "refused":
        result.outcome, result.should_retry = "refused", False
        result.error = f"the egress point refused {host}: {first.reason}"
    elif first.decision == "unresolved":
        result.outcome, result.should_retry = "network_error", False
        result.error = f"ERR_NAME_NOT_RESOLVED: {first.reason}"
    else:
        result.outcome, result.should_retry = "network_error", True
        result.error = f"could not connect to {host}: {first.reason}"


async def _refuse_everything(context: BrowserContext) -> None:
    """Stop a capture that keeps navigating: every further request fails, the page stays."""
    with contextlib.suppress(PlaywrightError):
        await context.route("**/*", lambda route: route.abort("blockedbyclient"))


async def _settle(page: Page, deadline: float) -> None:
    """Scroll once so lazy images load, then wait briefly for the network to go quiet."""
    with contextlib.suppress(PlaywrightError):
        await page.evaluate(
            "() => window.scrollTo(0, document.body ? document.body.scrollHeight : 0)"
        )
    with contextlib.suppress(PlaywrightError):
        await page.wait_for_load_state("networkidle", timeout=min(3000, _ms_left(deadline, 0.3)))
    with contextlib.suppress(PlaywrightError):
        await page.evaluate("() => window.scrollTo(0, 0)")


async def _close_quietly(popup: Page, main: Page) -> None:
    if popup != main:
        with contextlib.suppress(PlaywrightError):
            await popup.close()


def _ms_left(deadline: float, share: float) -> float:
    return max(500.0, (deadline - time.monotonic()) * share * 1000)


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:500]


def _desktop_user_agent(version: str) -> str:
    return (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        f"Chrome/{version} Safari/537.36"
    )


def capture_url(url: str, **options: Any) -> CaptureResult:
    """Synchronous helper for workers and the CLI: one browser, one capture."""

    async def run() -> CaptureResult:
        async with Capture(**options) as capture:
            return await capture.run(url)

    return asyncio.run(run())
