"""Both limiters slide the same window: `allow` counts a hit, `spent` only looks."""

from __future__ import annotations

import secrets
import time

import pytest

from triage_api.ratelimit import MemoryRateLimiter, RateLimiter, RedisRateLimiter

pytestmark = pytest.mark.integration


@pytest.fixture(params=["memory", "redis"])
def limiter(request: pytest.FixtureRequest) -> RateLimiter:
    if request.param == "memory":
        return MemoryRateLimiter(3, 60)
    return RedisRateLimiter(request.getfixturevalue("redis_server"), 3, 60)


def test_spent_looks_without_counting(limiter: RateLimiter) -> None:
    client = f"test:{secrets.token_hex(4)}"
    assert not any(limiter.spent(client) for _ in range(10))
    assert [limiter.allow(client) for _ in range(4)] == [True, True, True, False]
    assert limiter.spent(client)
    assert not limiter.spent(f"{client}:other")


def test_a_window_that_has_passed_frees_the_client() -> None:
    limiter = MemoryRateLimiter(2, 0.05)
    assert limiter.allow("a") and limiter.allow("a") and limiter.spent("a")
    time.sleep(0.1)
    assert not limiter.spent("a") and limiter.allow("a")
