"""A sweep seeded from a confirmed case, run by `hotline sweep start` against the sandbox
Kaznet, on both engines: the planted Kaznet mirrors become proactive cases (source `sweep`),
the mirror behind robots.txt and every foreign host are left alone, and the sweep's progress
is stored."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from crawler import sandbox_kaznet as kaznet
from crawler.sandbox_kaznet import SandboxKaznet
from tests.evidence_cases import confirmed_kaznet_case
from tests.sweep_commands import hotline, stopped_midway
from triage_api import db
from triage_api.models import Case, Report, Sweep

pytestmark = pytest.mark.integration


def test_a_sweep_from_a_confirmed_case_opens_cases_for_its_mirrors(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    confirmed_kaznet_case()
    with SandboxKaznet() as web:
        monkeypatch.setenv("HOTLINE_HOST_MAP", json.dumps(web.host_map))
        monkeypatch.setenv("HOTLINE_HOST_MAP_ONLY", "true")
        assert hotline("sweep", "start").returncode == 2  # no seeds given
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
            "300",
        )
        hits = list(web.hits)
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["status"] == "finished" and summary["pages"] > 20 and summary["matches"] >= 4

    with db.session_scope() as session:
        swept = dict(
            session.execute(
                sa.select(Case.canonical_url, Case.id).where(Case.source == "sweep")
            ).all()
        )
        reasons = {
            url: comment
            for url, comment in session.execute(
                sa.select(Case.canonical_url, Report.comment)
                .join(Report, Report.case_id == Case.id)
                .where(Report.channel == "sweep")
            )
        }
        sweep = session.scalars(sa.select(Sweep)).one()
    mirrors = {mirror.url for mirror in kaznet.MIRRORS_IN_SCOPE}
    assert mirrors <= set(swept), sorted(set(swept))
    for url in mirrors:
        assert "matches hotline-confirmed-drugs" in reasons[url] or "reads as" in reasons[url]
    assert kaznet.CASE_URL not in swept  # a case already
    assert kaznet.MIRROR_BEHIND_ROBOTS.url not in swept
    assert not any(url.split("/")[2] in kaznet.FOREIGN_HOSTS for url in swept)
    assert not {host for host, _ in hits} & set(kaznet.FOREIGN_HOSTS)
    assert sweep.status == "finished" and sweep.new_cases == len(swept)
    assert {s["kind"] for s in sweep.seeds} == {"confirmed"}  # the capture kept no HTML here

    listed = hotline("sweep", "status", "--json")
    assert listed.returncode == 0
    assert json.loads(listed.stdout)[0]["new_cases"] == len(swept)


def test_a_stopped_sweep_without_a_shared_frontier_is_carried_on_by_join(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The demo's sweeps (no Redis): one process, its queue in its job directory. Stopped, the
    process leaves soon and the sweep is `stopped`; joined, it picks up where it left off."""
    confirmed_kaznet_case()
    with SandboxKaznet() as web:
        monkeypatch.setenv("HOTLINE_HOST_MAP", json.dumps(web.host_map))
        monkeypatch.setenv("HOTLINE_HOST_MAP_ONLY", "true")
        sweep_id = stopped_midway()
        with db.session_scope() as session:
            sweep = session.get(Sweep, sweep_id)
            assert sweep is not None
            assert sweep.status == "stopped" and sweep.finished_at is not None
            assert sweep.stats["finish_reason"] == "stop requested"
            pages_then = sweep.pages
        joined = hotline("sweep", "join", str(sweep_id))
    assert joined.returncode == 0, joined.stderr[-3000:]
    summary = json.loads(joined.stdout.strip().splitlines()[-1])
    assert summary["status"] == "finished" and summary["pages"] > pages_then
    with db.session_scope() as session:
        swept = set(session.scalars(sa.select(Case.canonical_url).where(Case.source == "sweep")))
    assert {mirror.url for mirror in kaznet.MIRRORS_IN_SCOPE} <= swept


def test_a_sweep_without_a_shared_frontier_is_not_joined_while_it_runs(database: str) -> None:
    """Without Redis a sweep's queue is one process's own: a second process would corrupt it."""
    from triage_api import sweeps
    from triage_api.sweep_seeds import Seed

    sweep_id = sweeps.open_sweep([Seed(kaznet.CASE_URL, "given", 0)])
    joined = hotline("sweep", "join", str(sweep_id))
    assert joined.returncode == 2 and "a process is at work on it" in joined.stderr
    assert hotline("sweep", "join", "999999").returncode == 2
