"""Rendering in sweeps: which plain pages are app shells (`needs_render`), the settings that add
the browser, the middleware that guards and falls back, and how the spider asks for the browser
in each mode."""

from __future__ import annotations

import asyncio
import os
from types import SimpleNamespace

import pytest
import scrapy
from scrapy.exceptions import IgnoreRequest
from scrapy.http import HtmlResponse, TextResponse
from scrapy.settings import Settings

from crawler import sandbox_apps as apps
from crawler import sandbox_kaznet as kaznet
from crawler.sweep.render import (
    ABORTED_TYPES,
    CONTEXT_OPTIONS,
    Rendering,
    abort_request,
    browser_meta,
    needs_render,
    render_settings,
)
from crawler.sweep.scope import Scope
from crawler.sweep.spider import PageItem, SweepSpider

SHOP = "http://shop.kz/"


def page(body: str, *, status: int = 200, meta: dict[str, object] | None = None) -> HtmlResponse:
    request = scrapy.Request(SHOP, meta=meta or {"seed": SHOP, "hop": 0})
    return HtmlResponse(SHOP, status=status, body=body.encode(), encoding="utf-8", request=request)


def shell(inner: str) -> str:
    return f"<!doctype html><html><head><title>Shop</title></head><body>{inner}</body></html>"


LONG_TEXT = "<p>" + "Свежие новости города и области, погода и афиша на неделю. " * 10 + "</p>"


@pytest.mark.parametrize(
    "body",
    [
        shell('<div id="app"></div><script src="/static/app.js"></script>'),
        shell("<div id='root'>  </div><script>render()</script>"),
        shell('<div id="__next"></div><script src="/_next/main.js"></script>'),
        shell(
            "<header>Shop</header><noscript>You need to enable JavaScript to run this app."
            '</noscript><script src="/bundle.js"></script>'
        ),
        shell("<noscript>Включите JavaScript</noscript><script>start()</script>"),
        shell('<script src="/loader.js"></script>'),  # scripts and not a word of text
    ],
)
def test_app_shells_need_the_browser(body: str) -> None:
    assert needs_render(page(body))


@pytest.mark.parametrize(
    "body",
    [
        shell("<h1>Shop</h1><p>Tea and thermoses.</p>"),  # short, but no script at all
        shell(LONG_TEXT + '<div id="app"></div><script src="/widget.js"></script>'),
        shell(LONG_TEXT + "<noscript>Please enable JavaScript.</noscript><script></script>"),
        shell(
            "<h1>Shop</h1><p>Tea and thermoses.</p><script src='/analytics.js'></script>"
            "<noscript><img src='/pixel.gif'></noscript>"
        ),
        shell('<div id="app"><h1>Server-rendered</h1></div><script src="/hydrate.js"></script>'),
        "",
    ],
)
def test_pages_plain_http_reads_whole_do_not(body: str) -> None:
    assert not needs_render(page(body))


def test_error_pages_and_other_content_are_never_rendered() -> None:
    body = shell('<div id="app"></div><script src="/app.js"></script>')
    assert not needs_render(page(body, status=404))
    text = TextResponse(SHOP, body=b"<script></script>", encoding="utf-8")
    assert not needs_render(text)


def test_the_sandbox_shop_front_is_an_app_shell_and_its_items_are_not() -> None:
    kind, body = apps.answer(apps.APP_URL) or ("", b"")
    assert kind.startswith("text/html") and needs_render(page(body.decode()))
    assert all(line not in body.decode() for line in apps.APP_TEXT)  # only the script has them
    for url in apps.APP_ITEMS:
        assert not needs_render(page((apps.answer(url) or ("", b""))[1].decode()))
    for url in list(kaznet.PAGES)[:40]:
        assert not needs_render(page(kaznet.render(kaznet.PAGES[url]).decode()))


def test_the_browser_settings_route_it_through_the_egress_point() -> None:
    settings = render_settings("http://127.0.0.1:9999", timeout_s=12)
    handler = "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler"
    assert settings["DOWNLOAD_HANDLERS"] == {"http": handler, "https": handler}
    launch = settings["PLAYWRIGHT_LAUNCH_OPTIONS"]
    assert "proxy" not in launch  # the browser's own requests end at the host-resolver rules
    context = browser_meta("http://127.0.0.1:9999")["playwright_context_kwargs"]
    assert context["proxy"] == {"server": "http://127.0.0.1:9999", "bypass": "<-loopback>"}
    assert launch["headless"] and os.access(launch["executable_path"], os.X_OK)
    assert any(arg.startswith("--host-resolver-rules=MAP * ~NOTFOUND") for arg in launch["args"])
    assert settings["PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT"] == 12_000
    assert settings["PLAYWRIGHT_MAX_CONTEXTS"] == 1
    assert CONTEXT_OPTIONS["accept_downloads"] is False
    assert CONTEXT_OPTIONS["service_workers"] == "block"
    # scrapy-playwright needs the asyncio reactor: Scrapy's own default since 2.13.
    assert "TWISTED_REACTOR" not in settings
    assert Settings()["TWISTED_REACTOR"].endswith("AsyncioSelectorReactor")


def test_media_fonts_and_push_channels_are_aborted_pages_and_pictures_load() -> None:
    for kind in ("media", "font", "websocket", "eventsource"):
        assert abort_request(SimpleNamespace(resource_type=kind))  # type: ignore[arg-type]
    for kind in ("document", "script", "xhr", "fetch", "image", "stylesheet"):
        assert kind not in ABORTED_TYPES
        assert not abort_request(SimpleNamespace(resource_type=kind))  # type: ignore[arg-type]


def test_browser_requests_get_the_guarded_context_and_fall_back_to_plain_http() -> None:
    stats = SimpleNamespace(counts={})
    stats.inc_value = lambda key: stats.counts.__setitem__(key, stats.counts.get(key, 0) + 1)
    middleware = Rendering(stats, "http://127.0.0.1:9999")
    plain = scrapy.Request(SHOP, meta={"seed": SHOP})
    middleware.process_request(plain)
    assert not any(key.startswith("playwright") for key in plain.meta)
    browser = scrapy.Request(SHOP, meta={"seed": SHOP, "playwright": True, "rendered": True})
    middleware.process_request(browser)
    context = browser.meta["playwright_context_kwargs"]
    assert context == CONTEXT_OPTIONS | {
        "proxy": {"server": "http://127.0.0.1:9999", "bypass": "<-loopback>"}
    }
    assert browser.meta["playwright_page_methods"]

    again = middleware.process_exception(browser, RuntimeError("Target crashed"))
    assert again is not None and again.dont_filter and again.url == SHOP
    assert not any(key.startswith("playwright") for key in again.meta)
    assert again.meta["rendered"] is True and again.meta["seed"] == SHOP
    assert stats.counts == {"hotline/render_failed": 1}
    assert middleware.process_exception(again, RuntimeError("plain failure")) is None
    assert middleware.process_exception(browser, IgnoreRequest()) is None


def spider(render: str) -> SweepSpider:
    return SweepSpider(seeds=[SHOP], scope=Scope(), render=render)


async def _start(sweep: SweepSpider) -> list[scrapy.Request]:
    return [request async for request in sweep.start()]


def test_always_sends_pages_to_the_browser_and_never_does_not() -> None:
    (first,) = asyncio.run(_start(spider("always")))
    assert first.meta["playwright"] is True
    (first,) = asyncio.run(_start(spider("never")))
    assert "playwright" not in first.meta
    with pytest.raises(ValueError, match="when-needed"):
        spider("sometimes")


def test_when_needed_asks_once_more_in_the_browser_without_counting_the_page_again() -> None:
    sweep = spider("when-needed")
    asyncio.run(_start(sweep))
    assert sweep.pages_asked == 1
    body = shell('<div id="app"></div><script src="/app.js"></script>')
    (again,) = list(sweep.parse(page(body)))
    assert isinstance(again, scrapy.Request) and again.dont_filter and again.url == SHOP
    assert again.meta["playwright"] is True and again.meta["rendered"] is True
    rendered = shell('<div id="app"><p>Tea and thermoses.</p><a href="/tea">Tea</a></div>')
    found = list(sweep.parse(page(rendered, meta=dict(again.meta))))
    item = found[0]
    assert isinstance(item, PageItem) and item.rendered and item.text == "Tea and thermoses.\nTea"
    assert [r.url for r in found[1:]] == ["http://shop.kz/tea"]
    assert sweep.pages_asked == 2  # the seed once, and the link


def test_a_page_the_browser_gave_up_on_is_read_as_it_is() -> None:
    sweep = spider("when-needed")
    body = shell('<div id="app"></div><script src="/app.js"></script>')
    (item,) = list(sweep.parse(page(body, meta={"seed": SHOP, "hop": 0, "rendered": True})))
    assert isinstance(item, PageItem) and not item.rendered
