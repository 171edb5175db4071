"""Rendering sweep pages in a browser: scrapy-playwright for requests that ask for it
(`meta["playwright"]`), Scrapy's plain HTTP for every other one, and `needs_render`, which tells
an app shell (a page whose text a script writes) from a page plain HTTP reads whole.

The browser is the captures' Chromium with the captures' flags; every request it makes leaves
through the sweep's egress point, loopback included (`<-loopback>`), so the egress policy that
holds for captures holds for rendered pages too. Modes: `never` (plain HTTP only, no browser),
`when-needed` (an app shell is fetched once more in the browser), `always` (every page in the
browser; pictures stay plain).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
from typing import Any

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page
from playwright.async_api import Request as BrowserRequest
from scrapy import Request
from scrapy.exceptions import IgnoreRequest
from scrapy.http import HtmlResponse, Response
from scrapy_playwright.page import PageMethod

from crawler.browser import find_chromium
from crawler.capture import CHROMIUM_ARGS
from crawler.light_fetch import page_text

RENDER_MODES = ("never", "when-needed", "always")
HANDLER = "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler"
CONTEXT = "sweep"
PAGES_AT_ONCE = 4  # open tabs in the sweep's one browser context
SETTLE_MS = 3000  # after `load`, how long a page may keep fetching its content (network idle)
SHORT_TEXT = 200  # visible characters; fewer, with scripts on the page, and it is an app shell
# What a sweep never reads: media, fonts and push channels. Documents, scripts, xhr/fetch,
# stylesheets and images load as usual.
ABORTED_TYPES = frozenset(
    {"media", "font", "texttrack", "eventsource", "websocket", "manifest", "ping", "other"}
)
CONTEXT_OPTIONS: dict[str, Any] = {
    "accept_downloads": False,
    "service_workers": "block",
    "ignore_https_errors": True,
    "viewport": {"width": 1280, "height": 900},
    "permissions": [],
    "locale": "ru-RU",
    "timezone_id": "Asia/Almaty",
}

_SCRIPT = re.compile(r"<script\b", re.IGNORECASE)
_NOSCRIPT = re.compile(r"<noscript\b[^>]*>(.*?)</noscript>", re.IGNORECASE | re.DOTALL)
_ASKS_FOR_JS = re.compile(r"javascript|\bJS\b", re.IGNORECASE)
_EMPTY_ROOT = re.compile(
    r"<div\b[^>]*\bid\s*=\s*[\"']?(?:app|root|__next|__nuxt|svelte|main-app|application)"
    r"[\"']?[^>]*>\s*</div>",
    re.IGNORECASE,
)


def render_settings(
    egress_url: str, *, timeout_s: float, chromium_path: str | None = None
) -> dict[str, Any]:
    """Scrapy settings that add the browser to a sweep. Scrapy 2.13+ already installs the
    asyncio reactor scrapy-playwright needs; requests without `meta["playwright"]` still go
    through Scrapy's plain HTTP/1.1 handler (the browser handler hands them on)."""
    return {
        "DOWNLOAD_HANDLERS": {"http": HANDLER, "https": HANDLER},
        "PLAYWRIGHT_BROWSER_TYPE": "chromium",
        "PLAYWRIGHT_LAUNCH_OPTIONS": {
            "executable_path": find_chromium(
                chromium_path or os.environ.get("HOTLINE_CHROMIUM_PATH")
            ),
            "headless": True,
            "args": CHROMIUM_ARGS,
            # Playwright turns the popup blocker off by default; hostile pages open popups.
            "ignore_default_args": ["--disable-popup-blocking"],
            "timeout": 30_000,
            "handle_sigint": False,  # Scrapy's shutdown closes the browser
            "handle_sigterm": False,
            "handle_sighup": False,
        },
        "PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT": timeout_s * 1000,
        "PLAYWRIGHT_DOWNLOAD_TIMEOUT": 5_000,  # downloads are refused; do not wait for one
        "PLAYWRIGHT_MAX_CONTEXTS": 1,
        "PLAYWRIGHT_MAX_PAGES_PER_CONTEXT": PAGES_AT_ONCE,
        "PLAYWRIGHT_ABORT_REQUEST": "crawler.sweep.render.abort_request",
        "DOWNLOADER_MIDDLEWARES": {"crawler.sweep.render.Rendering": 545},
    }


def context_options(egress_url: str) -> dict[str, Any]:
    """The sweep's browser context. The egress point is the context's proxy, not the browser's:
    Chromium's own requests (it asks accounts.google.com at start, whatever the switches) then
    go around it into the host-resolver rules, which end them, as in captures."""
    return CONTEXT_OPTIONS | {"proxy": {"server": egress_url, "bypass": "<-loopback>"}}


def browser_meta(egress_url: str) -> dict[str, Any]:
    """How the browser loads a page: the sweep's context, popups closed, time to settle."""
    return {
        "playwright_context": CONTEXT,
        "playwright_context_kwargs": context_options(egress_url),
        "playwright_page_init_callback": "crawler.sweep.render.prepare",
        "playwright_page_methods": [PageMethod(settle)],
    }


def abort_request(request: BrowserRequest) -> bool:
    return request.resource_type in ABORTED_TYPES


async def prepare(page: Page, request: Request) -> None:
    """Popups are closed at once (dialogs Playwright dismisses by itself)."""
    page.on("popup", lambda popup: asyncio.ensure_future(popup.close()))


async def settle(page: Page) -> None:
    """Let a page's scripts fetch and write its content: network idle, at most SETTLE_MS."""
    with contextlib.suppress(PlaywrightError):  # still busy: take what is written by now
        await page.wait_for_load_state("networkidle", timeout=SETTLE_MS)


def needs_render(response: Response) -> bool:
    """True when a plain page looks like an app shell: scripts and almost no visible text, with
    a `<noscript>` asking for JavaScript, an empty root element (`<div id="app"></div>`), or no
    text at all. Conservative: a page with real text is read as it is."""
    if not isinstance(response, HtmlResponse) or response.status != 200:
        return False
    html = response.text
    if not _SCRIPT.search(html):
        return False
    _, text = page_text(html)
    if len(text) >= SHORT_TEXT:
        return False
    asks_for_js = any(_ASKS_FOR_JS.search(block) for block in _NOSCRIPT.findall(html))
    return asks_for_js or bool(_EMPTY_ROOT.search(html)) or not text.strip()


class Rendering:
    """Downloader middleware for pages the spider sends to the browser (`meta["playwright"]`):
    every one gets the sweep's hardened context and page set-up here, so a request that lost
    its meta on the way (a shared frontier keeps a few keys) is no less guarded. A page the
    browser could not render (crash, timeout, browser error) is fetched once more over plain
    HTTP; `meta["rendered"]` stays set, so the spider does not ask for the browser again."""

    def __init__(self, stats: Any, egress_url: str) -> None:
        self.stats, self.egress_url = stats, egress_url

    @classmethod
    def from_crawler(cls, crawler: Any) -> Rendering:
        return cls(crawler.stats, crawler.settings["HOTLINE_EGRESS_URL"])

    def process_request(self, request: Request, spider: Any = None) -> None:
        if request.meta.get("playwright"):
            request.meta.update(browser_meta(self.egress_url))

    def process_exception(
        self, request: Request, exception: Exception, spider: Any = None
    ) -> Request | None:
        if not request.meta.get("playwright") or isinstance(exception, IgnoreRequest):
            return None
        if self.stats is not None:
            self.stats.inc_value("hotline/render_failed")
        meta = {k: v for k, v in request.meta.items() if not k.startswith("playwright")}
        return request.replace(meta=meta | {"rendered": True}, dont_filter=True)
