"""One capture of one URL in a fresh headless Chromium.

`Capture` is an async context manager that owns its browser and returns a `CaptureResult`; page
failures (timeouts, DNS errors, HTTP errors) are recorded in the result, never raised.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import os
import secrets
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote_to_bytes, urlsplit

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

from crawler import process_tree
from crawler.browser import find_chromium
from crawler.egress import EgressPolicy, EgressProxy
from crawler.traffic import Exchange, TrafficRecorder
from crawler.warc import warc_bytes

# Playwright's own `--disable-features` (playwright-core `chromiumSwitches.ts`). Chromium reads only
# the last `--disable-features`, which is ours, so ours repeats them: without them the browser asked
# clients2.google.com for the time (NetworkTimeServiceQuerying) each time it started.
PLAYWRIGHT_DISABLED_FEATURES = (
    "AvoidUnnecessaryBeforeUnloadCheckSync",
    "DestroyProfileOnBrowserClose",
    "HttpsUpgrades",
    "HttpsFirstBalancedModeAutoEnable",
    "LensOverlay",
    "MediaRouter",
    "PaintHolding",
    "ThirdPartyStoragePartitioning",
    "AvoidCorsURLLoaderRestartOnRedirect",
    "TcpPortRandomizationWin",
    "OptimizationHints",
    "NetworkTimeServiceQuerying",
    "AimEnabled",
    "PreconnectToSearch",
    "msForceBrowserSignIn",
    "msEdgeUpdateLaunchServicesPreferredVersion",
)
# Ours: no translation or autofill servers, and no HTTPS upgrades (they add fake redirects).
HOTLINE_DISABLED_FEATURES = (
    "Translate",
    "AutofillServerCommunication",
    "HttpsFirstModeV2ForTypicallySecureUsers",
)
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
    # A script that allocates without end crashes its tab at this heap size, not the machine.
    "--js-flags=--max-old-space-size=512",
    # The on-device AI model manifest is fetched from update.googleapis.com at every start, with
    # --disable-component-update or without, and no feature switch stops it (Chromium 156); read
    # from an empty file instead, it needs no network.
    "--optimization-guide-manifest-override=/dev/null",
    "--disable-features="
    + ",".join(dict.fromkeys((*PLAYWRIGHT_DISABLED_FEATURES, *HOTLINE_DISABLED_FEATURES))),
]
MAX_HTML_CHARS = 10_000_000
# Seconds for late bodies and for closing the context; after a timeout the page may be hung.
PATIENCE_S = 5.0
HUNG_PATIENCE_S = 1.5
MAX_TEXT_CHARS = 2_000_000
SERIALIZE_HTML = """(limit) => {
  const doctype = document.doctype ? '<!DOCTYPE ' + document.doctype.name + '>\\n' : '';
  return (doctype + (document.documentElement ? document.documentElement.outerHTML : ''))
    .slice(0, limit);
}"""
VISIBLE_TEXT = "(limit) => (document.body ? document.body.innerText : '').slice(0, limit)"
# Images inlined as data: URIs never cross the network, so they are read from the page itself.
DATA_IMAGES = """([count, bytes]) => Array.from(document.images)
  .map((img) => img.currentSrc || img.src)
  .filter((src) => src.startsWith('data:image/') && src.length < bytes * 1.4 + 100)
  .slice(0, count)"""


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
    max_requests: int = 1000  # logged and kept in the WARC; more are counted, not kept
    max_frames: int = 20


@dataclass(slots=True)
class CapturedImage:
    url: str
    data: bytes
    content_type: str | None


@dataclass(slots=True)
class CapturedFrame:
    url: str
    html: str


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
    frames: list[CapturedFrame] = field(default_factory=list)
    data_images: list[CapturedImage] = field(default_factory=list)
    exchanges: list[Exchange] = field(default_factory=list)
    dropped_requests: int = 0
    warc: bytes | None = None
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
            "frames": [{"url": f.url[:4000], "chars": len(f.html)} for f in self.frames],
            "requests": [exchange.log_entry() for exchange in self.exchanges],
            "requests_not_logged": self.dropped_requests,
            "egress_policy": self.egress_policy,
            "egress": self.egress,
        }


class Capture:
    """A browser for captures; each `run` gets a fresh context and its own egress point.

    No shared state between captures: an in-memory context each, downloads refused, dialogs
    dismissed, popups closed, service workers blocked. The browser has its own temporary HOME and
    profile, is recycled after `recycle_after` captures and after any crash, and a watchdog kills
    it when its processes grow past `memory_limit_mb`. `host_map` pins names to the sandbox web;
    `allow_private` opens networks on purpose.
    """

    def __init__(
        self,
        *,
        limits: CaptureLimits | None = None,
        chromium_path: str | None = None,
        host_map: dict[str, str] | None = None,
        host_map_only: bool = False,
        allow_private: tuple[str, ...] = (),
        recycle_after: int = 50,
        memory_limit_mb: int = 2048,
    ) -> None:
        self.limits = limits or CaptureLimits()
        self.chromium_path = chromium_path
        self.policy = EgressPolicy.build(allow_private, host_map, host_map_only)
        self.recycle_after = max(1, recycle_after)
        self.memory_limit = memory_limit_mb * 1024 * 1024
        self.launches = 0
        self.peak_rss = 0
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None
        self._home: tempfile.TemporaryDirectory[str] | None = None
        self._marker = ""
        self._runs = 0

    async def __aenter__(self) -> Capture:
        self._playwright = await async_playwright().start()
        try:
            await self._launch()
        except BaseException:
            await self._playwright.stop()
            raise
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._retire()
        if self._playwright is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._playwright.stop(), 10)

    async def _launch(self) -> None:
        assert self._playwright is not None
        self._marker = f"--hotline-browser={secrets.token_hex(8)}"
        # Chromium's singleton socket lives under TMPDIR and its path may not pass 107 bytes.
        parent = tempfile.gettempdir()
        self._home = tempfile.TemporaryDirectory(
            prefix="hotline-browser-",
            dir=parent if len(parent) <= 40 else "/tmp",  # noqa: S108
        )
        home = self._home.name
        env: dict[str, str | float | bool] = {
            **os.environ,
            "HOME": home,
            "XDG_CONFIG_HOME": f"{home}/.config",
            "XDG_CACHE_HOME": f"{home}/.cache",
            "TMPDIR": home,
        }
        self._browser = await self._playwright.chromium.launch(
            executable_path=find_chromium(self.chromium_path),
            args=[*CHROMIUM_ARGS, self._marker],
            env=env,
            downloads_path=f"{home}/downloads",
            # Playwright turns the popup blocker off by default; hostile pages open popups in loops.
            ignore_default_args=["--disable-popup-blocking"],
            timeout=30_000,
            handle_sigint=False,
            handle_sigterm=False,
            handle_sighup=False,
        )
        self._runs = 0
        self.launches += 1

    def browser_processes(self) -> list[int]:
        """This browser's processes (main, zygotes, renderers, GPU, network service)."""
        return process_tree.tree(process_tree.find_marked(self._marker)) if self._marker else []

    async def _retire(self, *, force: bool = False) -> None:
        """Close the browser (kill it when `force` or when it does not close) and its HOME."""
        browser, self._browser = self._browser, None
        if browser is not None and not force:
            with contextlib.suppress(Exception):  # one that will not close is killed below
                await asyncio.wait_for(browser.close(), 10)
        process_tree.kill(self.browser_processes())  # whatever is left still bears our marker
        self._marker = ""
        if self._home is not None:
            self._home.cleanup()
            self._home = None

    async def run(self, url: str) -> CaptureResult:
        """Visit `url` within the wall-clock limit; always returns a result."""
        assert self._playwright is not None, "use 'async with Capture() as capture'"
        if self._browser is None or not self._browser.is_connected():
            await self._retire(force=True)
            await self._launch()
        elif self._runs >= self.recycle_after:
            await self._retire()
            await self._launch()
        assert self._browser is not None
        self._runs += 1
        result = CaptureResult(requested_url=url, started_at=datetime.now(UTC))
        result.browser_version = f"Chromium {self._browser.version}"
        result.egress_policy = self.policy.describe()
        limits = self.limits
        watchdog = asyncio.ensure_future(self._watch(result))
        context: BrowserContext | None = None
        async with EgressProxy(
            self.policy, max_bytes=limits.max_transfer_bytes, max_connections=limits.max_connections
        ) as proxy:
            recorder: TrafficRecorder | None = None
            try:
                context = await self._fresh_context(proxy.url)
                recorder = TrafficRecorder(
                    context, max_bytes=limits.max_total_bytes, max_requests=limits.max_requests
                )
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
                # After the wall clock a hung renderer may not answer: brief waits, then kill.
                patience = HUNG_PATIENCE_S if result.outcome == "timeout" else PATIENCE_S
                if recorder is not None:
                    with contextlib.suppress(Exception):
                        await recorder.finish(patience)  # late bodies, before the context goes
                watchdog.cancel()
                await self._close_context(context, patience)
                result.finished_at = datetime.now(UTC)
            record_egress(proxy, result)
        if recorder is not None:
            result.exchanges = recorder.exchanges
            result.dropped_requests = recorder.dropped
            _keep_images(result, limits)
        result.warc = warc_bytes(result.exchanges, warcinfo(result))
        if result.stopped_by and result.stopped_by.startswith("browser memory"):
            result.outcome, result.should_retry = "browser_error", False
            result.error = f"the browser was killed: {result.stopped_by}"
        return result

    async def _fresh_context(self, proxy_url: str) -> BrowserContext:
        """A new context; a browser that died since the last capture is replaced first."""
        try:
            return await self._new_context(proxy_url)
        except PlaywrightError:
            await self._retire(force=True)
            await self._launch()
            return await self._new_context(proxy_url)

    async def _close_context(self, context: BrowserContext | None, patience: float) -> None:
        """Close the capture's context; a browser that does not answer is killed and replaced."""
        if context is None:
            return
        try:
            await asyncio.wait_for(context.close(), patience)
        except Exception:
            await self._retire(force=True)

    async def _watch(self, result: CaptureResult) -> None:
        """Kill the browser when its processes together grow past the memory limit."""
        while True:
            await asyncio.sleep(0.5)
            pids = self.browser_processes()
            rss = process_tree.memory_bytes(pids)
            self.peak_rss = max(self.peak_rss, rss)
            if rss > self.memory_limit:
                limit_mb = self.memory_limit // 2**20
                result.stopped_by = f"browser memory {rss // 2**20} MB over {limit_mb} MB"
                process_tree.kill(pids)
                return

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

        def answered(response: Response) -> None:
            # the status even when the load never finishes (drip, endless body)
            if response.request.is_navigation_request() and response.frame == page.main_frame:
                result.http_status = response.status

        page.on("response", answered)
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
            if "crash" in (result.error or "").lower():  # a memory bomb would crash it again
                result.outcome, result.should_retry = "browser_error", False
                result.stopped_by = result.stopped_by or "the page crashed (out of memory?)"
            return
        if response is not None:
            await _record_response(response, result)
        await _settle(page, deadline)
        await self._record_page(page, result, deadline)
        await self._record_frames(page, result)

    async def _record_frames(self, page: Page, result: CaptureResult) -> None:
        """The HTML of every child frame (iframes, nested ones too), up to `max_frames`."""
        for frame in page.frames[1 : self.limits.max_frames + 1]:
            with contextlib.suppress(PlaywrightError):
                html = await asyncio.wait_for(frame.content(), 3)
                result.frames.append(CapturedFrame(frame.url, html[:MAX_HTML_CHARS]))

    async def _record_page(self, page: Page, result: CaptureResult, deadline: float) -> None:
        """Screenshot first (a huge DOM may not survive serializing), then title, HTML, text.

        HTML and text are cut inside the page, so a 200 MB document never crosses to Python whole.
        """
        result.final_url = page.url
        result.screenshot = await self._screenshot(page, deadline)
        budget = max(1.0, min(10.0, deadline - time.monotonic()))
        with contextlib.suppress(PlaywrightError, TimeoutError):
            result.title = (await asyncio.wait_for(page.title(), budget))[:2000]
        with contextlib.suppress(PlaywrightError, TimeoutError):
            html = await asyncio.wait_for(page.evaluate(SERIALIZE_HTML, MAX_HTML_CHARS), budget)
            result.html = str(html)
        with contextlib.suppress(PlaywrightError, TimeoutError):
            text = await asyncio.wait_for(page.evaluate(VISIBLE_TEXT, MAX_TEXT_CHARS), budget)
            result.text = str(text)
        with contextlib.suppress(PlaywrightError, TimeoutError, ValueError):
            found = await asyncio.wait_for(
                page.evaluate(DATA_IMAGES, [self.limits.max_images, self.limits.max_image_bytes]),
                budget,
            )
            _keep_data_images(found, result)

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


def _keep_data_images(found: object, result: CaptureResult) -> None:
    """Decode the page's data: URI images (base64 or percent-encoded) into captured images."""
    if not isinstance(found, list):
        return
    for uri in dict.fromkeys(u for u in found if isinstance(u, str)):
        header, _, payload = uri.partition(",")
        kind = header[5:].split(";")[0] or "image/unknown"
        try:
            data = (
                base64.b64decode(payload, validate=False)
                if header.endswith(";base64")
                else unquote_to_bytes(payload)
            )
        except (ValueError, binascii.Error):
            result.skipped_images.append({"url": uri[:120], "reason": "undecodable data: URI"})
            continue
        if data:
            result.data_images.append(CapturedImage(uri[:200], data, kind))


def _keep_images(result: CaptureResult, limits: CaptureLimits) -> None:
    """The page's images among the traffic, within the count and byte limits; skips say why."""
    seen: set[str] = set()
    total = 0
    for exchange in result.exchanges:
        if exchange.resource_type != "image" or exchange.url in seen or exchange.status is None:
            continue
        if not 200 <= exchange.status < 300:
            continue
        seen.add(exchange.url)
        skip = None
        declared = exchange.response_headers.get("content-length", "")
        if len(result.images) >= limits.max_images:
            skip = "image count limit"
        elif declared.isdigit() and int(declared) > limits.max_image_bytes:
            skip = f"declared {declared} bytes"
        elif exchange.body is None:
            skip = exchange.body_note or "no body"
        elif len(exchange.body) > limits.max_image_bytes:
            skip = f"{len(exchange.body)} bytes, over the limit"
        elif total + len(exchange.body) > limits.max_total_bytes:
            skip = "capture byte limit"
        if skip:
            result.skipped_images.append({"url": exchange.url, "reason": skip})
            continue
        assert exchange.body is not None
        total += len(exchange.body)
        kind = exchange.response_headers.get("content-type")
        result.images.append(CapturedImage(exchange.url, exchange.body, kind))
    for image in result.data_images:
        if len(result.images) >= limits.max_images:
            result.skipped_images.append({"url": image.url[:120], "reason": "image count limit"})
        elif total + len(image.data) <= limits.max_total_bytes:
            total += len(image.data)
            result.images.append(image)


def warcinfo(result: CaptureResult) -> dict[str, Any]:
    return {
        "software": "Kaznet Hotline Triage capture (Playwright)",
        "browser": result.browser_version,
        "format": "WARC File Format 1.1",
        "requested-url": result.requested_url,
        "started-at": result.started_at.isoformat(),
        "finished-at": result.finished_at.isoformat() if result.finished_at else None,
        "outcome": result.outcome,
        "egress-policy": result.egress_policy.get("refused"),
        "allowed-networks": ", ".join(result.egress_policy.get("allowed_networks", [])) or "none",
        "note": "bodies as decoded by the browser; original encodings in X-Hotline-Original-*",
    }


def record_egress(proxy: EgressProxy, result: CaptureResult) -> None:
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
