"""A warm browser for a worker process that captures one URL after another.

Starting Chromium costs about a second, more than half of a sandbox capture. A `CaptureHost` keeps
one `Capture` (and so one browser, recycled after N captures or any crash) in an event loop on a
background thread; blocking callers such as Celery tasks hand it URLs. If the loop itself stops
answering, the browser is killed and the next capture starts a new one.
"""

from __future__ import annotations

import asyncio
import atexit
import threading
from datetime import UTC, datetime
from typing import Any

from crawler import process_tree
from crawler.capture import Capture, CaptureResult

GRACE_S = 30.0  # beyond the capture's own limit, for browser start and teardown


class CaptureHost:
    def __init__(self, **options: Any) -> None:
        self.options = options
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._capture: Capture | None = None
        self._lock = threading.Lock()

    def capture(self, url: str) -> CaptureResult:
        """One capture; always returns a result, even when the browser or the loop hangs."""
        with self._lock:
            future = asyncio.run_coroutine_threadsafe(self._run(url), self._loop)
            limit = self._limit()
            try:
                return future.result(limit)
            except TimeoutError:
                future.cancel()
                self._kill_browser()
                result = CaptureResult(requested_url=url, started_at=datetime.now(UTC))
                result.outcome, result.should_retry = "browser_error", True
                result.error = f"the browser stopped answering for {limit:g} s and was killed"
                result.finished_at = datetime.now(UTC)
                return result

    def _limit(self) -> float:
        limits = self.options.get("limits")
        return float(getattr(limits, "timeout_s", 45.0)) + GRACE_S

    async def _run(self, url: str) -> CaptureResult:
        if self._capture is None:
            capture = Capture(**self.options)
            await capture.__aenter__()
            self._capture = capture
        return await self._capture.run(url)

    def _kill_browser(self) -> None:
        if self._capture is not None:
            process_tree.kill(self._capture.browser_processes())

    def close(self) -> None:
        """Close the browser and stop the loop; safe to call twice."""
        if self._loop.is_closed():
            return
        if self._capture is not None:
            capture, self._capture = self._capture, None
            future = asyncio.run_coroutine_threadsafe(
                capture.__aexit__(None, None, None), self._loop
            )
            try:
                future.result(20)
            except Exception:
                process_tree.kill(capture.browser_processes())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        if not self._thread.is_alive():
            self._loop.close()


_hosts: dict[str, CaptureHost] = {}
_hosts_lock = threading.Lock()


def shared_host(**options: Any) -> CaptureHost:
    """The process's host for these options (new options, e.g. another host map: another host)."""
    key = repr(sorted(options.items()))
    with _hosts_lock:
        host = _hosts.get(key)
        if host is None:
            host = _hosts[key] = CaptureHost(**options)
        return host


def close_hosts() -> None:
    """Close every browser this process keeps warm (worker shutdown, interpreter exit)."""
    with _hosts_lock:
        hosts = list(_hosts.values())
        _hosts.clear()
    for host in hosts:
        host.close()


atexit.register(close_hosts)
