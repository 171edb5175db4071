"""Stopping a sweep process when an operator asks: a check the caller gives, polled on the
reactor's clock. Once asked, the process takes no new request, lets those in flight finish (their
pages are read and the links they find are queued), then closes the spider. A request dropped in
flight would be lost to a sweep resumed from its job directory (its URL already seen), and
fetched twice by one resumed from a shared frontier; so a stopped sweep can be carried on later
and loses nothing."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from scrapy import signals
from scrapy.exceptions import NotConfigured
from scrapy.utils.defer import deferred_from_coro
from twisted.internet.task import LoopingCall

from crawler.sweep.handles import handed

log = logging.getLogger(__name__)

POLL_S = 2.0
DRAIN_POLL_S = 0.2
DRAIN_S = 90.0  # the longest a stopping process waits for its requests in flight
REASON = "stop requested"  # the spider's finish reason when asked to stop

StopCheck = Callable[[], bool]


class Halt:
    """Scrapy extension (setting HOTLINE_HALT: the key of a `StopCheck`)."""

    def __init__(self, crawler: Any, asked: StopCheck) -> None:
        self.crawler, self.asked = crawler, asked
        self.spider: Any = None
        self.deadline = 0.0
        self._poll = LoopingCall(self._check)
        self._closing: Any = None
        crawler.signals.connect(self._opened, signal=signals.spider_opened)
        crawler.signals.connect(self._closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Any) -> Halt:
        key = crawler.settings.get("HOTLINE_HALT")
        if not key:
            raise NotConfigured("no stop check")
        return cls(crawler, handed(key))

    def _opened(self, spider: Any) -> None:
        self.spider = spider
        self._poll.start(POLL_S, now=False)

    def _closed(self, spider: Any) -> None:
        if self._poll.running:
            self._poll.stop()

    def _check(self) -> None:
        try:
            asked = self.asked()
        except Exception:  # a database that does not answer now must not end the sweep
            log.exception("could not tell whether the sweep was asked to stop; asking again")
            return
        if asked:
            log.warning("sweep asked to stop: no new requests; finishing those in flight")
            self._poll.stop()
            self.crawler.engine.pause()
            self.deadline = time.monotonic() + DRAIN_S
            self._poll = LoopingCall(self._drain)
            self._poll.start(DRAIN_POLL_S, now=True)

    def _drain(self) -> None:
        engine = self.crawler.engine
        slot = engine.scraper.slot
        busy = bool(engine.downloader.active) or (slot is not None and not slot.is_idle())
        if busy and time.monotonic() < self.deadline:
            return
        if busy:
            log.warning("sweep stopping with requests still in flight after %.0f s", DRAIN_S)
        self._poll.stop()
        # Kept: a Deferred nobody holds may be collected before the spider has closed.
        self._closing = deferred_from_coro(engine.close_spider_async(reason=REASON))
