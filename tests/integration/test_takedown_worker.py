"""Rechecks with the real Celery worker and its beat: a recheck that fell due while no worker
ran is done when one starts, and a worker killed in the middle of one neither loses it nor
records it twice (PostgreSQL and Redis, as in production)."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from crawler.evidence import EvidenceStore
from tests.stack import Stack, wait_until
from tests.takedown_sandbox import HostedSite
from triage_api.models import Capture, Case, Recheck, Takedown, utcnow

pytestmark = pytest.mark.integration

HOST = "kaz-shop-sandbox.kz"
PAGE = (
    "<html><body><p>Таза өнім тек бізде, жеткізу қала бойынша бір сағат ішінде, тапсырыс"
    " телеграм арқылы.</p><p>Жаңа партия келді, бағасы өзгерген жоқ, тұрақты клиенттерге"
    " жеңілдік бар әрқашан.</p></body></html>"
)


@pytest.fixture
def site() -> Iterator[HostedSite]:
    hosted = HostedSite()
    yield hosted
    hosted.stop()


@pytest.fixture
def stack(site: HostedSite, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Stack]:
    admin = request.getfixturevalue("pg_server")
    redis_url = request.getfixturevalue("redis_server")
    name = f"hl_test_{secrets.token_hex(4)}"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    base = admin.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    running = Stack(
        tmp_path / "stack",
        {HOST: f"127.0.0.1:{site.port}"},
        database_url=f"{base}/{name}",
        broker_url=redis_url,
        rate_limit_url=redis_url,
    )
    running.env |= {"HOTLINE_RECHECK_TICK_S": "1", "HOTLINE_RECHECK_LEASE_S": "10"}
    try:
        running.start()
        yield running
    except BaseException:
        print(running.logs())
        raise
    finally:
        running.stop()
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def followed_case(stack: Stack, site: HostedSite, path: str, *, due_in_s: float) -> int:
    """A confirmed case whose notice went out and whose recheck falls due in `due_in_s`."""
    site.put(path, PAGE)
    url = f"http://{HOST}{path}"
    store = EvidenceStore(stack.data_dir / "evidence")
    now = utcnow()
    assert stack.engine is not None
    with Session(stack.engine) as session, session.begin():
        case = Case(canonical_url=url, host=HOST, status="decided", stage="ready")
        session.add(case)
        session.flush()
        capture = Capture(case_id=case.id, requested_url=url, html_sha256=store.put(PAGE.encode()))
        session.add(capture)
        session.flush()
        case.last_capture_id = capture.id
        takedown = Takedown(
            case_id=case.id,
            category="drugs",
            jurisdiction="kaznet",
            confirmed_at=now,
            first_notice_at=now,
            last_notice_at=now,
            next_check_at=now + timedelta(seconds=due_in_s),
        )
        session.add(takedown)
        session.flush()
        return takedown.id


def rechecks_of(stack: Stack, takedown_id: int) -> list[tuple[str, str]]:
    assert stack.engine is not None
    with Session(stack.engine) as session:
        return [
            (row.outcome, row.mode)
            for row in session.scalars(sa.select(Recheck).where(Recheck.takedown_id == takedown_id))
        ]


def takedown(stack: Stack, takedown_id: int) -> Takedown:
    assert stack.engine is not None
    with Session(stack.engine, expire_on_commit=False) as session:
        found = session.get(Takedown, takedown_id)
        assert found is not None
        return found


def test_a_recheck_due_while_no_worker_ran_is_done_when_one_starts(
    stack: Stack, site: HostedSite
) -> None:
    stack.kill_worker()
    takedown_id = followed_case(stack, site, "/item/1", due_in_s=-1)
    site.take_down("/item/1")
    assert rechecks_of(stack, takedown_id) == []
    stack.start_worker()
    wait_until(lambda: rechecks_of(stack, takedown_id), 60, "the recheck to run")
    assert rechecks_of(stack, takedown_id) == [("removed", "light")]
    done = takedown(stack, takedown_id)
    assert done.state == "removed" and done.checks == 1


def test_a_worker_killed_mid_recheck_neither_loses_nor_doubles_it(
    stack: Stack, site: HostedSite
) -> None:
    site.delay_s = 6.0  # the recheck is in flight long enough to kill its worker
    takedown_id = followed_case(stack, site, "/item/2", due_in_s=-1)
    wait_until(lambda: site.hits, 30, "the recheck to reach the site")
    stack.kill_worker()
    assert rechecks_of(stack, takedown_id) == []
    leased = takedown(stack, takedown_id)
    assert leased.check_lease_until is not None and leased.checks == 0
    site.delay_s = 0.0
    stack.start_worker()
    wait_until(lambda: rechecks_of(stack, takedown_id), 90, "the recheck to run again")
    wait_until(lambda: len(site.hits) >= 2, 30, "the site to be asked again")
    later = takedown(stack, takedown_id)
    assert rechecks_of(stack, takedown_id) == [("still_online", "light")]
    assert later.checks == 1 and later.state == "open"
    assert later.next_check_at is not None and later.next_check_at > utcnow() + timedelta(hours=4)
    assert json.dumps(stack.stages())  # the stack still answers
