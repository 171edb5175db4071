"""The reporters' status page in ru/kk/en: where a report stands and when, and nothing else:
no evidence, no other reports, no analysts' names, categories or notes."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from triage_api.api.app import create_app
from triage_api.db import session_factory
from triage_api.decisions import record_decision
from triage_api.intake import file_report
from triage_api.models import Case
from triage_api.security import add_user

pytestmark = pytest.mark.integration


def test_a_reporter_follows_a_report_without_seeing_inside(database: str) -> None:
    with session_factory()() as session:
        mine = file_report(session, url="http://dari-shop.kz/", comment="my own words", client="a")
        other = file_report(
            session, url="http://dari-shop.kz/", comment="another reporter", client="b"
        )
        analyst, _ = add_user(session, name="Aigerim Analyst", role="analyst")
        session.commit()
    client = TestClient(create_app())
    received = client.get(f"/status/{mine.tracking_code}?lang=en")
    assert received.status_code == 200 and "Received: the page is being saved" in received.text
    assert "no-store" in received.headers["cache-control"]
    kazakh = client.get(f"/status/{mine.tracking_code}", headers={"Accept-Language": "kk-KZ"})
    assert "Қабылданды" in kazakh.text and 'lang="kk"' in kazakh.text
    assert "Получено" in client.get(f"/status/{mine.tracking_code}").text  # Russian by default

    with session_factory()() as session:
        session.execute(sa.update(Case).values(stage="ready"))
        session.commit()
    assert "На рассмотрении" in client.get(f"/status/{mine.tracking_code}?lang=ru").text
    with session_factory()() as session:
        record_decision(
            session,
            case_id=mine.case_id,
            user_id=analyst.id,
            actor="user:Aigerim Analyst",
            outcome="illegal",
            category="drugs",
            legal_basis="secret legal text",
            note="internal note: seller linked to case 7",
        )
        session.commit()
    for lang, words in (("en", "Confirmed"), ("ru", "Подтверждено"), ("kk", "Расталды")):
        page = client.get(f"/status/{mine.tracking_code}?lang={lang}").text
        assert words in page
        for secret in (
            "Aigerim",
            "internal note",
            "secret legal text",
            "drugs",
            "dari-shop",
            "my own words",
            "another reporter",
            other.tracking_code,
            "/api/v1/evidence",
        ):
            assert secret not in page, (lang, secret)
    api = client.get(f"/api/v1/reports/{other.tracking_code}").json()
    assert api["status"] == "decided" and api["outcome"] == "confirmed" and api["decided_at"]
    assert set(api) == {
        "tracking_code",
        "status",
        "received_at",
        "outcome",
        "decided_at",
        "notice_sent_at",
        "removed_at",
    }

    unknown = client.get("/status/not-a-real-code?lang=en")
    assert unknown.status_code == 404 and "No report has this tracking code" in unknown.text
    form = client.get("/status?code=%20abc%20&lang=kk", follow_redirects=False)
    assert form.status_code == 303 and form.headers["location"] == "/status/abc?lang=kk"
