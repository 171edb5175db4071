"""Per-client limit on filed reports: in memory for one process, in Redis when shared."""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Protocol


class RateLimiter(Protocol):
    def allow(self, client: str) -> bool: ...


class MemoryRateLimiter:
    """Sliding window per client; enough for the embedded single-process server."""

    def __init__(self, limit: int, window_s: float) -> None:
        self.limit, self.window_s = limit, window_s
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, client: str) -> bool:
        now = time.monotonic()
        with self._lock:
            if len(self._hits) > 100_000:
                self._hits.clear()
            hits = self._hits.setdefault(client, deque())
            while hits and hits[0] <= now - self.window_s:
                hits.popleft()
            if len(hits) >= self.limit:
                return False
            hits.append(now)
            return True


class RedisRateLimiter:
    """Fixed window counter shared by every API process; fails open if Redis is unreachable."""

    def __init__(self, url: str, limit: int, window_s: int) -> None:
        import redis

        self.client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self.limit, self.window_s = limit, max(1, int(window_s))

    def allow(self, client: str) -> bool:
        import redis

        window = int(time.time() // self.window_s)
        key = f"hotline:ratelimit:{client}:{window}"
        try:
            pipe = self.client.pipeline(transaction=False)  # one round trip; no MULTI needed
            pipe.incr(key)
            pipe.expire(key, self.window_s + 1)
            count, _ = pipe.execute()
        except redis.RedisError:
            return True
        return int(count) <= self.limit
