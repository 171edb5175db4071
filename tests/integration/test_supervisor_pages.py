"""The supervisors' pages: statistics (reports per day by category, time to decision, share
confirmed) and staff, hash lists and taxonomy; analysts are refused both."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from triage_api import statistics
from triage_api.api.app import create_app
from triage_api.db import session_factory
from triage_api.decisions import record_decision
from triage_api.intake import file_report
from triage_api.models import Case, utcnow
from triage_api.security import add_user

pytestmark = pytest.mark.integration


def _sign_in(client: TestClient, token: str) -> None:
    client.get("/ui/login")
    signed = client.post("/ui/login", data={"token": token, "csrf": client.cookies["hotline_csrf"]})
    assert signed.status_code in (200, 303)


def test_figures_and_pages(database: str) -> None:
    with session_factory()() as session:
        filed = [
            file_report(session, url=f"http://shop{i}.kz/", category=category, client=str(i))
            for i, category in enumerate(["drugs", "drugs", "fraud", None])
        ]
        boss, boss_token = add_user(session, name="boss", role="supervisor")
        _, analyst_token = add_user(session, name="aigerim", role="analyst")
        session.execute(sa.update(Case).values(stage="ready"))
        for report, outcome in zip(filed[:3], ["illegal", "not_illegal", "illegal"], strict=True):
            record_decision(
                session,
                case_id=report.case_id,
                user_id=boss.id,
                actor="user:boss",
                outcome=outcome,
                category="drugs" if outcome == "illegal" else None,
            )
        session.commit()
        found = statistics.figures(session)
        later = statistics.figures(session, now=utcnow() + timedelta(days=60))
    today = found.days[-1]
    assert found.reports["drugs"][-1] == 2 and found.reports["fraud"][-1] == 1
    assert found.reports["none"][-1] == 1 and found.days[-1] == today
    assert found.decided == 3 and found.outcomes == {"illegal": 2, "not_illegal": 1}
    assert abs((found.confirmed_share or 0) - 2 / 3) < 1e-9
    assert found.hours_to_decision["p50"] < 1 and sum(n for _, n in found.hours_bins) == 3
    heights = [sum(s["h"] for s in c["segments"]) for c in found.stacked_bars(height=100)]
    assert max(heights) == pytest.approx(100)
    assert later.decided == 0 and not any(sum(v) for v in later.reports.values())

    analyst = TestClient(create_app())
    _sign_in(analyst, analyst_token)
    assert analyst.get("/ui/stats").status_code == 403
    assert analyst.get("/ui/supervisor").status_code == 403
    assert "Statistics" not in analyst.get("/ui/queue").text
    supervisor = TestClient(create_app())
    _sign_in(supervisor, boss_token)
    stats = supervisor.get("/ui/stats")
    assert stats.status_code == 200 and "confirmed illegal: <b>67 %</b>" in stats.text
    assert 'class="cat-drugs"' in stats.text and "<script" not in stats.text.split("</head>")[1]
    page = supervisor.get("/ui/supervisor")
    assert page.status_code == 200
    for expected in (
        "aigerim",
        "hotline-confirmed-drugs",
        "hotline-not-illegal",
        "to be confirmed",
    ):
        assert expected in page.text
    assert httpx.codes.is_redirect(
        TestClient(create_app()).get("/ui/stats", follow_redirects=False).status_code
    )


def test_the_staff_pages_speak_russian_kazakh_and_english(database: str) -> None:
    with session_factory()() as session:
        _, token = add_user(session, name="saule", role="supervisor")
        session.commit()
    client = TestClient(create_app())
    _sign_in(client, token)
    assert "Claim next case" in client.get("/ui/queue").text  # English without a preference
    kazakh = client.get("/ui/queue?lang=kk")
    assert 'lang="kk"' in kazakh.text and "Келесісін алу" in kazakh.text
    assert client.cookies["hotline_lang"] == "kk"
    assert "Кезек" in client.get("/ui/supervisor").text  # remembered
    fresh = TestClient(create_app(), headers={"Accept-Language": "ru-RU,ru;q=0.9"})
    _sign_in(fresh, token)
    russian = fresh.get("/ui/stats").text
    assert "Статистика" in russian and "Обращения по дням и категориям" in russian
    assert "Войти" in TestClient(create_app()).get("/ui/login?lang=ru").text
