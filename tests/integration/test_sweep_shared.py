"""Sweeps as production runs them, on PostgreSQL and Redis: `hotline sweep start --processes 2`
shares one frontier between two processes and closes the sweep once; a second sweep soon after
does not fetch again what the first fetched (URL dedup across sweeps); and the nightly sweep of
Celery beat runs on its own through real sweep workers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator

import pytest
import redis
import sqlalchemy as sa

from crawler import sandbox_kaznet as kaznet
from crawler.sandbox_kaznet import SandboxKaznet
from tests.evidence_cases import confirmed_kaznet_case
from tests.stack import wait_until
from tests.sweep_commands import hotline, stopped_midway
from triage_api import db
from triage_api.celery_app import celery_config
from triage_api.config import Settings
from triage_api.models import Case, Sweep, SweepFind, SweptPage

pytestmark = [
    pytest.mark.integration,
    pytest.mark.parametrize("database", ["postgres"], indirect=True),
]

QUICK = {
    "HOTLINE_SWEEP_DELAY_S": "0",
    "HOTLINE_SWEEP_PER_HOST_CONCURRENCY": "4",
    "HOTLINE_SWEEP_MAX_DEPTH": "3",
    "HOTLINE_SWEEP_MAX_PAGES": "400",
}


@pytest.fixture
def web(
    database: str, redis_server: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[SandboxKaznet]:
    """The sandbox Kaznet, a confirmed case to seed from, and Redis as the broker."""
    confirmed_kaznet_case()
    with SandboxKaznet() as sandbox:
        monkeypatch.setenv("HOTLINE_HOST_MAP", json.dumps(sandbox.host_map))
        monkeypatch.setenv("HOTLINE_HOST_MAP_ONLY", "true")
        monkeypatch.setenv("HOTLINE_BROKER_URL", redis_server)
        for name, value in QUICK.items():
            monkeypatch.setenv(name, value)
        yield sandbox


def sweep_from_cases(*extra: str) -> dict:  # type: ignore[type-arg]
    done = hotline(
        "sweep",
        "start",
        "--from-cases",
        "--max-depth",
        "3",
        "--delay",
        "0",
        "--per-host-concurrency",
        "4",
        "--max-pages",
        "400",
        *extra,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def page_fetches(hits: list[tuple[str, str]]) -> Counter[str]:
    """Page fetches by URL (not robots.txt, not pictures)."""
    return Counter(
        f"http://{host}{path}"
        for host, path in hits
        if path != "/robots.txt" and not path.endswith((".jpg", ".png", ".gif", ".webp"))
    )


def test_two_processes_work_one_sweep_and_close_it_once(
    web: SandboxKaznet, redis_server: str
) -> None:
    summary = sweep_from_cases("--processes", "2")
    hits = list(web.hits)
    assert summary["status"] == "finished", summary
    with db.session_scope() as session:
        sweep = session.get(Sweep, summary["id"])
        assert sweep is not None
        swept = set(session.scalars(sa.select(Case.canonical_url).where(Case.source == "sweep")))
        finds = session.scalars(sa.select(SweepFind).where(SweepFind.sweep_id == sweep.id)).all()
        remembered = session.scalar(
            sa.select(sa.func.count()).where(SweptPage.sweep_id == sweep.id)
        )
        assert sweep.frontier == f"hotline:sweep:{sweep.id}"
        stats = sweep.stats
        pages = sweep.pages
        new_cases = sweep.new_cases
    assert {mirror.url for mirror in kaznet.MIRRORS_IN_SCOPE} <= swept
    assert {find.url for find in finds} == swept and new_cases == len(swept)
    assert stats["requests"]["queued"] == stats["requests"]["done"] and stats["pending"] == 0
    assert pages == remembered  # each page read once, by one of the two processes
    assert not [url for url, n in page_fetches(hits).items() if n > 1]
    assert not list(redis.Redis.from_url(redis_server).scan_iter(f"hotline:sweep:{sweep.id}:*"))


def test_a_second_sweep_follows_remembered_links_instead_of_fetching_again(
    web: SandboxKaznet,
) -> None:
    first = sweep_from_cases()
    with db.session_scope() as session:
        read_first = set(
            session.scalars(sa.select(SweptPage.url).where(SweptPage.sweep_id == first["id"]))
        )
    assert len(read_first) == first["pages"] > 50
    web.hits.clear()
    second = sweep_from_cases()
    fetched_again = set(page_fetches(web.hits))
    assert first["status"] == second["status"] == "finished"
    with db.session_scope() as session:
        sweep = session.get(Sweep, second["id"])
        assert sweep is not None
        seeds = {seed["url"] for seed in sweep.seeds}
    # Pages read lately are not fetched again, except the seeds; dead links are tried again.
    assert fetched_again & read_first <= seeds
    assert second["stats"]["skipped"]["swept lately: links followed"] > 20
    assert second["new_cases"] == 0  # what it would find, the first sweep found


def test_the_nightly_sweep_runs_through_sweep_workers_on_its_own(
    web: SandboxKaznet, redis_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOTLINE_SWEEP_AT_UTC", "02:30")
    schedule = celery_config(Settings())["beat_schedule"]["nightly-sweep"]
    assert schedule["task"] == "hotline.sweep_nightly"
    assert schedule["schedule"].hour == {2} and schedule["schedule"].minute == {30}

    worker = subprocess.Popen(
        [sys.executable, "-m", "triage_api.cli", "worker", "-Q", "sweep", "-c", "2", "--no-beat"],
        env=dict(os.environ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        beat_fires = hotline("sweep", "nightly")  # what beat's task does at 02:30
        assert beat_fires.returncode == 0, beat_fires.stderr[-3000:]
        sweep_id = int(json.loads(beat_fires.stdout)["sweep"])
        too_soon = hotline("sweep", "nightly")  # the last one is still at work
        assert too_soon.returncode == 0 and json.loads(too_soon.stdout)["sweep"] is None

        def closed() -> bool:
            with db.session_scope() as session:
                sweep = session.get(Sweep, sweep_id)
                return sweep is not None and sweep.status != "running"

        wait_until(closed, 300, "the nightly sweep to finish")
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(timeout=10)
    with db.session_scope() as session:
        sweep = session.get(Sweep, sweep_id)
        assert sweep is not None
        assert sweep.status == "finished" and sweep.trigger == "schedule"
        assert sweep.stats["processes"] >= 0 and sweep.new_cases >= len(kaznet.MIRRORS_IN_SCOPE)
        swept = set(session.scalars(sa.select(Case.canonical_url).where(Case.source == "sweep")))
    assert {mirror.url for mirror in kaznet.MIRRORS_IN_SCOPE} <= swept


def test_a_stopped_sweep_stops_soon_loses_nothing_and_join_carries_it_on(
    web: SandboxKaznet, redis_server: str
) -> None:
    sweep_id = stopped_midway("--processes", "2")
    with db.session_scope() as session:
        sweep = session.get(Sweep, sweep_id)
        assert sweep is not None
        status, stats, pages_then = sweep.status, dict(sweep.stats), sweep.pages
    assert status == "stopped" and stats["finish_reason"] == "stop requested"
    assert stats["stop_asked_by"] == "cli" and stats["processes"] == 0 and stats["pending"] > 0
    keys = redis.Redis.from_url(redis_server)
    assert list(keys.scan_iter(f"hotline:sweep:{sweep_id}:*"))  # the frontier waits for a join
    assert hotline("sweep", "stop", str(sweep_id)).returncode == 0  # stopped: nothing changes
    fetched_before = page_fetches(web.hits)
    web.hits.clear()

    joined = hotline("sweep", "join", str(sweep_id))
    assert joined.returncode == 0, joined.stderr[-3000:]
    summary = json.loads(joined.stdout.strip().splitlines()[-1])
    fetched_after = page_fetches(web.hits)
    with db.session_scope() as session:
        swept = set(session.scalars(sa.select(Case.canonical_url).where(Case.source == "sweep")))
        remembered = session.scalar(
            sa.select(sa.func.count()).where(SweptPage.sweep_id == sweep_id)
        )
    assert summary["status"] == "finished" and summary["pages"] > pages_then
    assert {mirror.url for mirror in kaznet.MIRRORS_IN_SCOPE} <= swept  # nothing lost
    requests = summary["stats"]["requests"]
    assert requests["queued"] == requests["done"] and summary["stats"]["pending"] == 0
    assert summary["pages"] == remembered  # each page read once across the stop
    # The pages in flight were read before the processes left: none is fetched a second time.
    assert not set(fetched_before) & set(fetched_after)
    assert not list(keys.scan_iter(f"hotline:sweep:{sweep_id}:*"))
