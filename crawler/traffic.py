"""Every request a capture's page made, with its response, for the WARC and the request log.

Bodies are kept as the browser received them after decoding (gzip/br undone), within a byte budget;
what was not kept says why. Failed requests (refused by the egress point, aborted) are logged too.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from playwright.async_api import BrowserContext, Request
from playwright.async_api import Error as PlaywrightError


@dataclass(slots=True)
class Exchange:
    url: str
    method: str
    resource_type: str
    at: datetime
    request_headers: dict[str, str] = field(default_factory=dict)
    request_body: bytes | None = None
    status: int | None = None
    status_text: str = ""
    response_headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    body_note: str | None = None  # why the body is missing
    failure: str | None = None

    def log_entry(self) -> dict[str, Any]:
        """The request log line (the HAR-like record in `capture.json`), without bytes."""
        return {
            "url": self.url[:4000],
            "method": self.method,
            "type": self.resource_type,
            "at": self.at.isoformat(),
            "status": self.status,
            "mime": self.response_headers.get("content-type"),
            "bytes": len(self.body) if self.body is not None else None,
            "sha256": hashlib.sha256(self.body).hexdigest() if self.body is not None else None,
            "body_note": self.body_note,
            "failure": self.failure,
        }


class TrafficRecorder:
    """Listens on a browser context; `finish()` waits (bounded) for bodies still arriving."""

    def __init__(self, context: BrowserContext, *, max_bytes: int, max_requests: int) -> None:
        self.exchanges: list[Exchange] = []
        self.max_bytes, self.max_requests = max_bytes, max_requests
        self.kept_bytes = 0
        self.dropped = 0
        self._pending: set[asyncio.Task[None]] = set()
        context.on("requestfinished", self._finished)
        context.on("requestfailed", self._failed)

    def _start(self, request: Request) -> Exchange | None:
        if request.url.startswith("data:"):
            return None
        if len(self.exchanges) >= self.max_requests:
            self.dropped += 1
            return None
        exchange = Exchange(request.url, request.method, request.resource_type, datetime.now(UTC))
        self.exchanges.append(exchange)
        return exchange

    def _finished(self, request: Request) -> None:
        exchange = self._start(request)
        if exchange is not None:
            task = asyncio.ensure_future(self._fill(request, exchange))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)

    def _failed(self, request: Request) -> None:
        exchange = self._start(request)
        if exchange is not None:
            exchange.failure = (request.failure or "failed")[:500]

    async def _fill(self, request: Request, exchange: Exchange) -> None:
        try:
            exchange.request_headers = await request.all_headers()
            exchange.request_body = request.post_data_buffer
            response = await request.response()
            if response is None:
                exchange.body_note = "no response"
                return
            exchange.status, exchange.status_text = response.status, response.status_text
            exchange.response_headers = await response.all_headers()
            if 300 <= response.status < 400 and "location" in exchange.response_headers:
                exchange.body_note = "redirect"
                return
            declared = exchange.response_headers.get("content-length", "")
            if declared.isdigit() and self.kept_bytes + int(declared) > self.max_bytes:
                exchange.body_note = f"not kept: capture byte limit ({declared} bytes declared)"
                return
            body = await response.body()
        except PlaywrightError as exc:
            exchange.body_note = f"not available: {str(exc).splitlines()[0][:200]}"
            return
        if self.kept_bytes + len(body) > self.max_bytes:
            exchange.body_note = f"not kept: capture byte limit ({len(body)} bytes)"
            return
        self.kept_bytes += len(body)
        exchange.body = body

    async def finish(self, timeout: float) -> None:
        if self._pending:
            await asyncio.wait(set(self._pending), timeout=timeout)
        for task in list(self._pending):
            task.cancel()
