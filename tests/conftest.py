"""Shared fixtures: a private data dir per session, real PostgreSQL and Redis when reachable.

With HOTLINE_TEST_REQUIRE_SERVICES=1 (as in CI) a missing service fails the tests instead of
skipping them, so a green run always means both engines were exercised.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

_DATA = Path(tempfile.mkdtemp(prefix="hotline-test-"))
os.environ["HOTLINE_DATA_DIR"] = str(_DATA)
for _name in ("HOTLINE_DATABASE_URL", "HOTLINE_BROKER_URL", "HOTLINE_RATE_LIMIT_URL"):
    os.environ.pop(_name, None)

PG_ADMIN_URL = os.environ.get("HOTLINE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("HOTLINE_TEST_REDIS", "redis://127.0.0.1:6379/9")
REQUIRE = os.environ.get("HOTLINE_TEST_REQUIRE_SERVICES") == "1"


def _unavailable(what: str, error: Exception) -> None:
    message = f"{what} is not reachable ({error})"
    if REQUIRE:
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "var"


@pytest.fixture(scope="session")
def pg_server() -> str:
    import psycopg

    try:
        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3):
            pass
    except psycopg.Error as exc:
        _unavailable("PostgreSQL", exc)
    return PG_ADMIN_URL


@pytest.fixture
def pg_database(pg_server: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test; dropped afterwards."""
    import psycopg

    name = f"hl_test_{secrets.token_hex(4)}"
    with psycopg.connect(pg_server, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    base = pg_server.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(pg_server, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def redis_server() -> str:
    import redis

    try:
        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3)
        client.ping()
        client.flushdb()
    except redis.RedisError as exc:
        _unavailable("Redis", exc)
    return REDIS_URL


@pytest.fixture(params=["sqlite", "postgres"])
def database(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """A migrated database on each engine, with the settings pointing at it."""
    from triage_api import config, db

    if request.param == "postgres":
        url = request.getfixturevalue("pg_database")
    else:
        url = f"sqlite:///{tmp_path / 'hotline.sqlite'}"
    monkeypatch.setenv("HOTLINE_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("HOTLINE_DATABASE_URL", url)
    config.get_settings.cache_clear()
    db.upgrade()
    yield url
    db.engine_for(url).dispose()
    config.get_settings.cache_clear()
