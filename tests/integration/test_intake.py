"""Filing reports in process, on both engines: racing first reports, a dead connection, stages."""

from __future__ import annotations

import threading
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa

from triage_api import config, db
from triage_api.intake import FiledReport, file_report
from triage_api.models import AuditEntry, Case, Report

pytestmark = pytest.mark.integration


def _file(url: str, **kwargs: object) -> FiledReport:
    with db.session_scope() as session:
        return file_report(session, url=url, **kwargs)  # type: ignore[arg-type]


def test_racing_first_reports_of_a_url_meet_in_one_case(database: str) -> None:
    filed: list[FiledReport] = []
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def report(n: int) -> None:
        start.wait()
        try:
            for _ in range(5):
                filed.append(_file("http://Race.KZ:80/a/../offer#x", client=f"10.0.0.{n}"))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=report, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    assert len(filed) == 40
    assert len({f.tracking_code for f in filed}) == 40
    assert [f.new_case for f in filed].count(True) == 1
    assert [f.next_stage for f in filed].count("capture") == 1
    assert {f.case_id for f in filed} == {filed[0].case_id}
    with db.session_scope() as session:
        case = session.scalars(sa.select(Case)).one()
        assert case.canonical_url == "http://race.kz/offer"
        assert case.report_count == 40
        assert session.scalar(sa.select(sa.func.count(Report.id))) == 40
        assert session.scalar(sa.select(sa.func.count(AuditEntry.id))) == 40


def test_a_report_on_a_case_in_the_queue_asks_for_a_new_score(database: str) -> None:
    first = _file("https://queued.kz/")
    with db.session_scope() as session:
        session.execute(sa.update(Case).where(Case.id == first.case_id).values(stage="ready"))
    second = _file("https://queued.kz/", category="fraud")
    third = _file("https://queued.kz/")
    assert (first.next_stage, second.next_stage, third.next_stage) == ("capture", "score", None)
    with db.session_scope() as session:
        case = session.get(Case, first.case_id)
        assert case is not None and case.stage == "score" and case.report_count == 3


def test_a_closed_case_does_not_take_new_reports(database: str) -> None:
    first = _file("https://closed.kz/")
    with db.session_scope() as session:
        session.execute(
            sa.update(Case).where(Case.id == first.case_id).values(status="closed", open_key=None)
        )
    again = _file("https://closed.kz/")
    assert again.new_case and again.case_id != first.case_id


def test_intake_survives_its_database_connections_being_killed(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As after a PostgreSQL restart: pooled connections are dead; the next report still lands."""
    url = request.getfixturevalue("pg_database")
    monkeypatch.setenv("HOTLINE_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("HOTLINE_DATABASE_URL", url)
    config.get_settings.cache_clear()
    try:
        db.upgrade()
        name = url.rsplit("/", 1)[1]
        admin = request.getfixturevalue("pg_server")

        def kill_connections() -> None:
            with psycopg.connect(admin, autocommit=True) as connection:
                row = connection.execute(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                    " WHERE datname = %s",
                    (name,),
                ).fetchone()
            assert row is not None and row[0] >= 1

        assert _file("https://first.kz/").new_case  # leaves a connection in the pool
        kill_connections()
        with pytest.raises(sa.exc.OperationalError):
            _file("https://unprotected.kz/")  # without the retry, the dead connection shows
        assert _file("https://second.kz/").new_case  # the pool was invalidated and refilled
        kill_connections()
        assert db.retry_on_disconnect(lambda: _file("https://third.kz/")).new_case
        with db.session_scope() as session:
            urls = set(session.scalars(sa.select(Report.canonical_url)))
        assert urls == {"https://first.kz/", "https://second.kz/", "https://third.kz/"}
    finally:
        db.engine_for(url).dispose()
        config.get_settings.cache_clear()
