"""The egress point for a whole sweep: the captures' proxy (`crawler/egress.py`), run on an event
loop of its own in a background thread, so Scrapy's downloader (and anything else that speaks
HTTP through a proxy) leaves through the same policy: DNS resolved there, private and reserved
addresses refused, the sandbox host map honoured.
"""

from __future__ import annotations

import asyncio
import threading
from types import TracebackType

from crawler.egress import EgressPolicy, EgressProxy

SWEEP_BYTES = 20 * 1024**3  # a sweep's transfer budget; pages and politeness bound it first
SWEEP_CONNECTIONS = 10_000_000


class EgressPoint:
    """`with EgressPoint(policy) as point:` then send requests through `point.url`."""

    def __init__(self, policy: EgressPolicy, *, max_bytes: int = SWEEP_BYTES) -> None:
        self.policy = policy
        self.max_bytes = max_bytes
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True, name="egress")
        self._proxy: EgressProxy | None = None

    @property
    def url(self) -> str:
        assert self._proxy is not None, "use 'with EgressPoint(policy) as point'"
        return self._proxy.url

    @property
    def proxy(self) -> EgressProxy:
        assert self._proxy is not None
        return self._proxy

    def __enter__(self) -> EgressPoint:
        self._thread.start()
        proxy = EgressProxy(
            self.policy, max_bytes=self.max_bytes, max_connections=SWEEP_CONNECTIONS
        )
        asyncio.run_coroutine_threadsafe(proxy.__aenter__(), self._loop).result(10)
        self._proxy = proxy
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._proxy is not None:
            asyncio.run_coroutine_threadsafe(self._proxy.close(), self._loop).result(15)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()
