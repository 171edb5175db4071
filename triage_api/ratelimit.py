"""Per-client limits (reports filed, sign-in attempts): in memory for one process, in Redis when
shared."""

from __future__ import annotations

import secrets
import threading
import time
from collections import deque
from typing import Protocol


class RateLimiter(Protocol):
    def allow(self, client: str) -> bool:
        """Count one more hit for the client; False (and not counted) when over the limit."""

    def spent(self, client: str) -> bool:
        """Whether the client is at the limit now, without counting a hit (failures-only limits
        such as sign-in check first and count only what failed)."""


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
            hits = self._recent(client, now)
            if len(hits) >= self.limit:
                return False
            hits.append(now)
            return True

    def spent(self, client: str) -> bool:
        with self._lock:
            return len(self._recent(client, time.monotonic())) >= self.limit

    def _recent(self, client: str, now: float) -> deque[float]:
        hits = self._hits.setdefault(client, deque())
        while hits and hits[0] <= now - self.window_s:
            hits.popleft()
        return hits


class RedisRateLimiter:
    """Sliding window shared by every API process (one Lua call); fails open without Redis.

    A fixed per-minute counter would let a client send twice the limit across a minute boundary
    and would make the limit flicker for honest reporters; the window slides like the in-memory one.
    """

    SCRIPT = """
    redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1] - ARGV[2])
    if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[3]) then
        redis.call('ZADD', KEYS[1], ARGV[1], ARGV[4])
        redis.call('PEXPIRE', KEYS[1], ARGV[2])
        return 1
    end
    return 0
    """

    def __init__(self, url: str, limit: int, window_s: float) -> None:
        import redis

        self.client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self.limit, self.window_ms = limit, max(1, int(window_s * 1000))
        self._allow = self.client.register_script(self.SCRIPT)

    def allow(self, client: str) -> bool:
        import redis

        now_ms = int(time.time() * 1000)
        key = f"hotline:ratelimit:{client}"
        member = f"{now_ms}-{secrets.token_hex(4)}"
        try:
            allowed = self._allow(keys=[key], args=[now_ms, self.window_ms, self.limit, member])
        except redis.RedisError:
            return True
        return bool(allowed)

    def spent(self, client: str) -> bool:
        import redis

        now_ms = int(time.time() * 1000)
        key = f"hotline:ratelimit:{client}"
        try:
            count = self.client.zcount(key, now_ms - self.window_ms + 1, "+inf")
        except redis.RedisError:
            return False
        return int(count) >= self.limit


def limiter_for(url: str | None, limit: int, window_s: float) -> RateLimiter:
    """Shared through Redis when `url` is set (every API process counts together), else in
    this process's memory."""
    return RedisRateLimiter(url, limit, window_s) if url else MemoryRateLimiter(limit, window_s)
