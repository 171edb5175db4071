"""The stop check of a sweep process: once asked, it takes no new request, waits for those in
flight, then closes the spider once; a check that fails (the database not answering) leaves the
sweep running."""

from __future__ import annotations

from typing import Any

import pytest
from scrapy.exceptions import NotConfigured
from scrapy.settings import Settings

from crawler.sweep import halt
from crawler.sweep.halt import REASON, Halt
from crawler.sweep.handles import hand


class _Slot:
    def __init__(self) -> None:
        self.responses = 0

    def is_idle(self) -> bool:
        return self.responses == 0


class _Crawler:
    """What the extension touches of Scrapy's crawler, engine, downloader and scraper."""

    def __init__(self, settings: dict[str, Any]) -> None:
        self.settings = Settings(settings)
        self.closed: list[str] = []
        self.paused = False
        self.active: set[str] = set()
        self.signals = self.engine = self.downloader = self.scraper = self
        self.slot = _Slot()

    def connect(self, receiver: Any, signal: Any) -> None:
        pass

    def pause(self) -> None:
        self.paused = True

    def close_spider_async(self, *, reason: str) -> None:
        self.closed.append(reason)


def test_no_check_no_extension() -> None:
    with pytest.raises(NotConfigured):
        Halt.from_crawler(_Crawler({}))


def test_asked_it_lets_the_requests_in_flight_finish_then_closes_once() -> None:
    answers: list[Any] = [False, RuntimeError("database gone"), True]

    def asked() -> bool:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return bool(answer)

    crawler = _Crawler({"HOTLINE_HALT": hand(asked)})
    crawler.active = {"http://a.kz/1"}
    crawler.slot.responses = 1
    stopper = Halt.from_crawler(crawler)
    spider = object()
    stopper._opened(spider)
    try:
        stopper._check()
        stopper._check()  # the check failed: still at work
        assert not crawler.paused and crawler.closed == []
        stopper._check()
        assert crawler.paused and crawler.closed == []  # in flight: waits
        crawler.active.clear()
        stopper._drain()
        assert crawler.closed == []  # a response is still being read
        crawler.slot.responses = 0
        stopper._drain()
        assert crawler.closed == [REASON] and not stopper._poll.running
    finally:
        stopper._closed(spider)


def test_a_request_that_never_ends_does_not_keep_the_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    crawler = _Crawler({"HOTLINE_HALT": hand(lambda: True)})
    crawler.active = {"http://slow.kz/"}
    stopper = Halt.from_crawler(crawler)
    stopper._opened(object())
    try:
        stopper._check()
        stopper._drain()
        assert crawler.closed == []
        monkeypatch.setattr(halt.time, "monotonic", lambda: stopper.deadline + 1)
        stopper._drain()
        assert crawler.closed == [REASON]
    finally:
        stopper._closed(object())
