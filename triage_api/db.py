"""Engines and sessions for both back ends (SQLite embedded, PostgreSQL scale-out)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from triage_api.config import get_settings

T = TypeVar("T")


@lru_cache(maxsize=8)
def engine_for(url: str) -> sa.Engine:
    """One pooled engine per URL per process; SQLite gets WAL and a busy timeout.

    PostgreSQL connections are not pinged on checkout (a round trip per request); a connection
    that died with the server is detected on use, the pool is invalidated, and callers that must
    not fail (intake) retry once, see `retry_on_disconnect`.
    """
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    size = get_settings().db_pool_size
    return sa.create_engine(url, pool_size=size, max_overflow=size, pool_recycle=3600)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def get_engine() -> sa.Engine:
    return engine_for(get_settings().db_url)


@lru_cache(maxsize=8)
def _factory(url: str) -> sessionmaker[Session]:
    return sessionmaker(engine_for(url), expire_on_commit=False)


def session_factory() -> sessionmaker[Session]:
    return _factory(get_settings().db_url)


@contextmanager
def session_scope() -> Iterator[Session]:
    """A unit of work: committed on success, rolled back on any error."""
    session = session_factory()()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def retry_on_disconnect(work: Callable[[], T]) -> T:
    """Run a unit of work; if the database connection had died (server restart), run it again."""
    try:
        return work()
    except sa.exc.DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
        return work()


def upgrade(revision: str = "head") -> None:
    """Run the Alembic migrations shipped inside the package."""
    from alembic import command
    from alembic.config import Config

    here = Path(__file__).parent
    config = Config()
    config.set_main_option("script_location", str(here / "migrations"))
    config.set_main_option("sqlalchemy.url", get_settings().db_url.replace("%", "%%"))
    command.upgrade(config, revision)
