"""The takedown loop on both engines, against a hosting provider in miniature (a web server on
loopback and its abuse inbox, a real SMTP server): notice → recheck → removed, or re-send and
escalation when the page stays; the clock is a parameter, so days pass in a second."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from celery.exceptions import Retry
from fastapi.testclient import TestClient

from classifiers.hashing import hash_media
from crawler import sandbox_sites
from crawler.capture_host import close_hosts
from crawler.evidence import EvidenceStore
from tests.evidence_cases import decided_illegal, staff
from tests.takedown_sandbox import AbuseInbox, HostedSite
from triage_api import (
    config,
    db,
    notices,
    rechecks,
    reporter_updates,
    takedown_stats,
    takedowns,
    tasks,
)
from triage_api.api.app import create_app
from triage_api.decisions import revise_decision
from triage_api.intake import public_status
from triage_api.models import (
    AuditEntry,
    Capture,
    CaptureMedia,
    Case,
    Media,
    Notice,
    Recheck,
    Report,
    Takedown,
    utcnow,
)
from triage_api.security import add_user

pytestmark = pytest.mark.integration

HOST = "dari-sandbox.kz"
PAGE = (
    "<html><head><title>Таза өнім</title></head><body>"
    "<p>Таза өнім тек бізде, жеткізу қала бойынша бір сағат ішінде, тапсырыс телеграм арқылы.</p>"
    "<p>Жаңа партия келді, бағасы өзгерген жоқ, тұрақты клиенттерге жеңілдік бар әрқашан.</p>"
    '<img src="/p/one.jpg"></body></html>'
)
CONTACTS = {
    "registrar": "abuse@registrar.kz",
    "upstream": "noc@upstream.kz",
    "police": "cyber@police.kz",
}


@dataclass
class Provider:
    site: HostedSite
    inbox: AbuseInbox


@pytest.fixture
def provider(database: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Provider]:
    site = HostedSite()
    inbox = AbuseInbox(site, HOST).start()
    monkeypatch.setenv("HOTLINE_HOST_MAP", json.dumps({HOST: f"127.0.0.1:{site.port}"}))
    monkeypatch.setenv("HOTLINE_HOST_MAP_ONLY", "true")
    monkeypatch.setenv("HOTLINE_SMTP_PORT", str(inbox.port))
    monkeypatch.setenv("HOTLINE_NOTICE_CONTACTS", json.dumps(CONTACTS))
    monkeypatch.setenv("HOTLINE_NOTICE_SEND_ATTEMPTS", "2")
    monkeypatch.setenv("HOTLINE_REPORTER_UPDATES", "true")
    monkeypatch.setenv("HOTLINE_PUBLIC_BASE_URL", "https://hotline.example.kz")
    config.get_settings.cache_clear()
    yield Provider(site, inbox)
    inbox.stop()
    site.stop()
    config.get_settings.cache_clear()


def confirmed_case(provider: Provider, path: str, *, picture: bytes | None = None) -> int:
    """A Kaznet case captured from the provider's site (its page and picture in the evidence
    store), decided illegal: the takedown opens and the first notice is drafted."""
    url = f"http://{HOST}{path}"
    provider.site.put(path, PAGE)
    store = EvidenceStore(config.get_settings().evidence_dir)
    with db.session_scope() as session:
        case = Case(
            canonical_url=url, host=HOST, open_key=url, stage="ready", band=2, jurisdiction="kaznet"
        )
        session.add(case)
        session.flush()
        session.add(
            Report(
                tracking_code=f"code-{path}",
                case_id=case.id,
                submitted_url=url,
                canonical_url=url,
                contact="reporter@example.kz",
            )
        )
        session.add(
            Report(
                tracking_code=f"phone-{path}",
                case_id=case.id,
                submitted_url=url,
                canonical_url=url,
                contact="+7 700 000 0000",  # no e-mail address: no e-mail
            )
        )
        capture = Capture(
            case_id=case.id,
            requested_url=url,
            final_url=url,
            http_status=200,
            html_sha256=store.put(PAGE.encode()),
            manifest_sha256=store.put(b'{"manifest": "synthetic"}'),
            server_ip="127.0.0.1",
            enrichment={
                "jurisdiction": "kaznet",
                "hosting_provider": "Sandbox Hosting",
                "abuse_contact": "abuse@sandbox-hosting.kz",
                "abuse_contact_for": "hosting",
            },
        )
        session.add(capture)
        session.flush()
        if picture is not None:
            provider.site.put_picture("/p/one.jpg", picture)
            hashes = hash_media(picture)
            sha = store.put(picture)
            session.merge(
                Media(
                    sha256=sha,
                    md5=hashes.md5,
                    sha1=hashes.sha1,
                    phash=hashes.phash,
                    size=len(picture),
                )
            )
            session.flush()
            session.add(
                CaptureMedia(capture_id=capture.id, media_sha256=sha, url=url + "/p/one.jpg")
            )
        case.last_capture_id = capture.id
        session.flush()
        case_id = case.id
    decided_illegal(case_id)
    return case_id


def the_notice(case_id: int, status: str | None = None) -> Notice:
    with db.session_scope() as session:
        query = sa.select(Notice).where(Notice.case_id == case_id).order_by(Notice.id.desc())
        if status:
            query = query.where(Notice.status == status)
        notice = session.scalars(query).first()
        assert notice is not None
        session.expunge(notice)
        return notice


def takedown_of(case_id: int) -> Takedown:
    with db.session_scope() as session:
        found = session.scalar(sa.select(Takedown).where(Takedown.case_id == case_id))
        assert found is not None
        session.expunge(found)
        return found


def send_at(notice_id: int, now: datetime) -> None:
    """What the sender task does, on the test's clock."""
    with db.session_scope() as session:
        notices.queue(session, notice_id, actor="user:aigerim", now=now) if the_status(
            notice_id
        ) == "draft" else None
    with db.session_scope() as session:
        taken = notices.take_for_sending(session, notice_id)
        assert taken is not None
        session.expunge(taken)
    notices.deliver(taken)
    with db.session_scope() as session:
        current = session.get(Notice, notice_id)
        assert current is not None
        notices.sent(session, current, now=now)


def the_status(notice_id: int) -> str:
    with db.session_scope() as session:
        notice = session.get(Notice, notice_id)
        assert notice is not None
        return notice.status


def recheck_at(now: datetime) -> list[rechecks.Due]:
    """One tick's rechecks on the test's clock: take what is due, fetch it, judge it."""
    with db.session_scope() as session:
        due = takedowns.claim_due(session, now, 100, 300)
    return rechecks.run_light(due)


def reporter_sees(path: str) -> dict[str, object]:
    with db.session_scope() as session:
        found = public_status(session, f"code-{path}")
    assert found is not None
    return found


def test_notice_then_recheck_records_the_removal(provider: Provider) -> None:
    case_id = confirmed_case(provider, "/shop/item-7")
    assert reporter_sees("/shop/item-7")["outcome"] == "confirmed"
    draft = the_notice(case_id)
    assert draft.status == "draft" and draft.party == "hosting"
    assert draft.recipient == "abuse@sandbox-hosting.kz"
    assert f"http://{HOST}/shop/item-7" in draft.body and "KZH-" in draft.subject
    assert "SHA-256" in draft.body and "Правовое основание" in draft.body

    with db.session_scope() as session:
        notices.edit(session, draft.id, actor="user:aigerim", body=draft.body + "\nP.S. срочно.\n")
        notices.queue(session, draft.id, actor="user:aigerim")
    assert tasks.send_notice(draft.id) == "sent"  # the Celery task's body, in this process
    assert tasks.send_notice(draft.id) == "not queued"  # a duplicate job sends nothing

    sent = the_notice(case_id)
    (message,) = provider.inbox.messages
    assert message["Message-ID"].strip() == sent.message_id  # folded: the id is long
    assert message["X-Hotline-Case"] == f"KZH-{case_id}"
    assert provider.inbox.envelopes[0][1] == ["abuse@sandbox-hosting.kz"]
    assert "P.S. срочно." in message.get_content()
    assert "/shop/item-7" not in provider.site.pages  # the provider complied

    taken = takedown_of(case_id)
    assert taken.first_notice_at == sent.sent_at and taken.next_check_at is not None
    told = reporter_sees("/shop/item-7")
    assert told["status"] == "notice_sent" and told["notice_sent_at"] == sent.sent_at
    assert taken.next_check_at - taken.first_notice_at == timedelta(hours=1)
    assert recheck_at(taken.first_notice_at + timedelta(minutes=59)) == []  # not due yet
    assert provider.site.hits == []
    assert recheck_at(taken.next_check_at + timedelta(seconds=1)) == []
    done = takedown_of(case_id)
    assert done.state == "removed" and done.last_outcome == "removed" and done.next_check_at is None
    assert done.removed_at is not None and done.first_notice_at < done.removed_at <= utcnow()
    gone = reporter_sees("/shop/item-7")
    assert gone["status"] == "removed" and gone["removed_at"] == done.removed_at

    # The reporter who left an e-mail address hears of both, and of nothing else.
    with db.session_scope() as session:
        updates = reporter_updates.queued(session)
    assert len(updates) == 2
    assert [reporter_updates.send(u) for u in updates] == ["sent", "sent"]
    assert reporter_updates.send(updates[0]) == "not queued"
    told_reporter = [m for m in provider.inbox.messages if m["To"] == "reporter@example.kz"]
    assert len(told_reporter) == 2
    for message in told_reporter:
        text = message.get_content()
        assert "code-/shop/item-7" in text and "https://hotline.example.kz/status/" in text
        assert HOST not in text and "drugs" not in text and "aigerim" not in text
    with db.session_scope() as session:
        (check,) = session.scalars(sa.select(Recheck)).all()
        evidence = session.get(Capture, check.capture_id)
        assert check.outcome == "removed" and check.mode == "light" and check.http_status == 404
        assert (
            evidence is not None and evidence.kind == "recheck-light" and evidence.manifest_sha256
        )
        actions = set(session.scalars(sa.select(AuditEntry.action)))
    assert {"notice.queued", "notice.sent", "takedown.opened", "takedown.removed"} <= actions
    assert EvidenceStore(config.get_settings().evidence_dir).exists(evidence.manifest_sha256)

    # The statistics count it: within a day, under its provider, category and jurisdiction.
    with db.session_scope() as session:
        young = takedown_stats.figures(session)
        later = takedown_stats.figures(session, now=done.removed_at + timedelta(hours=25))
        table = takedown_stats.csv_export(session)
    assert young.overall.removed == 1 and young.overall.within[24] is None  # not a day old yet
    assert later.overall.within == {24: 1.0, 72: None, 168: None}
    assert [(g.name, g.removed) for g in later.by_provider] == [("Sandbox Hosting", 1)]
    assert [(g.name, g.takedowns) for g in later.by_category] == [("drugs", 1)]
    assert [g.name for g in later.by_jurisdiction] == ["kaznet"]
    assert sum(n for _, n in later.hours_bins) == 1 and later.open_by_age[0][1] == 0
    header, row = table.strip().splitlines()
    assert header.startswith("case_id,state,category,provider") and row.startswith(
        f"{case_id},removed,drugs,Sandbox Hosting"
    )


def test_a_page_that_stays_gets_the_notice_again_then_escalates(provider: Provider) -> None:
    provider.inbox.complies = False
    case_id = confirmed_case(provider, "/shop/item-9")
    t0 = utcnow()
    send_at(the_notice(case_id).id, t0)

    assert recheck_at(t0 + timedelta(hours=1, seconds=1)) == []
    after_first = takedown_of(case_id)
    assert after_first.last_outcome == "still_online" and after_first.state == "open"
    assert after_first.next_check_at == t0 + timedelta(hours=6)

    def escalate(hours: float) -> list[int]:
        with db.session_scope() as session:
            return takedowns.escalate_due(session, t0 + timedelta(hours=hours))

    assert escalate(23) == []
    (resend,) = escalate(24.01)
    assert the_notice(case_id).reason == "resend" and the_notice(case_id).party == "hosting"
    send_at(resend, t0 + timedelta(hours=24.01))
    assert provider.inbox.messages[-1]["Subject"].startswith("Напоминание")

    parties = []
    for hours in (72.01, 120.01, 168.01):
        (sent,) = escalate(hours)
        send_at(sent, t0 + timedelta(hours=hours))
        notice = the_notice(case_id)
        parties.append((notice.party, notice.reason, notice.recipient))
    assert parties == [
        ("registrar", "escalation", "abuse@registrar.kz"),
        ("upstream", "escalation", "noc@upstream.kz"),
        ("police", "escalation", "cyber@police.kz"),
    ]
    last = takedown_of(case_id)
    assert last.escalation_level == 3 and last.needs_supervisor and last.state == "open"
    assert len(provider.inbox.messages) == 5
    with db.session_scope() as session:
        escalations = session.scalar(
            sa.select(sa.func.count()).where(AuditEntry.action == "takedown.escalated")
        )
    assert escalations == 3
    with db.session_scope() as session:
        flagged = takedown_stats.figures(session).flagged
    assert [t.case_id for t in flagged] == [case_id]


def test_a_soft_404_is_not_counted_as_removed(provider: Provider) -> None:
    provider.inbox.complies = False
    case_id = confirmed_case(provider, "/shop/item-11")
    t0 = utcnow()
    send_at(the_notice(case_id).id, t0)
    provider.site.soft_404("/shop/item-11")
    assert recheck_at(t0 + timedelta(hours=1, seconds=1)) == []
    after = takedown_of(case_id)
    assert after.last_outcome == "soft_404" and after.state == "open" and after.removed_at is None
    assert after.needs_supervisor


def test_a_refused_notice_is_retried_then_marked_failed(provider: Provider) -> None:
    case_id = confirmed_case(provider, "/shop/item-13")
    provider.inbox.refuse = True
    notice_id = the_notice(case_id).id
    with db.session_scope() as session:
        notices.queue(session, notice_id, actor="user:aigerim")
    with pytest.raises(Retry):
        tasks.send_notice(notice_id)
    first = the_notice(case_id)
    assert first.status == "queued" and first.attempts == 1 and "450" in (first.last_error or "")
    assert tasks.send_notice(notice_id) == "failed"  # HOTLINE_NOTICE_SEND_ATTEMPTS=2
    assert the_notice(case_id).status == "failed"
    assert (
        takedown_of(case_id).first_notice_at is None
    )  # nothing went out: the clock has not started
    assert provider.inbox.messages == []


def test_unaddressable_and_malformed_notices_are_refused(provider: Provider) -> None:
    case_id = confirmed_case(provider, "/shop/item-15")
    notice_id = the_notice(case_id).id
    with db.session_scope() as session:
        for bad in ("two@a.kz, three@b.kz", "Evil <x@y.kz>", "x@y.kz\r\nBcc: all@z.kz", "nobody"):
            with pytest.raises(notices.NoticeError, match="e-mail address"):
                notices.edit(session, notice_id, actor="a", recipient=bad)
        notices.edit(session, notice_id, actor="a", recipient="")
        with pytest.raises(notices.NoticeError, match="no recipient"):
            notices.queue(session, notice_id, actor="a")
        with pytest.raises(notices.NoticeError, match="subject"):
            notices.edit(session, notice_id, actor="a", subject=" ")
    with db.session_scope() as session:
        notices.edit(
            session,
            notice_id,
            actor="a",
            recipient="abuse@sandbox-hosting.kz",
            subject="a\r\nBcc: x",
        )
        notices.queue(session, notice_id, actor="a")
    with db.session_scope() as session, pytest.raises(notices.NoticeError, match="only a draft"):
        notices.edit(session, notice_id, actor="a", body="changed after queueing")
    assert "\n" not in the_notice(case_id).subject


def test_a_revision_to_not_illegal_ends_the_takedown(provider: Provider) -> None:
    case_id = confirmed_case(provider, "/shop/item-17")
    with db.session_scope() as session:
        revise_decision(
            session,
            case_id=case_id,
            user_id=staff("boss", "supervisor"),
            actor="user:boss",
            outcome="not_illegal",
            reason="a pharmacy after all",
        )
    closed = takedown_of(case_id)
    assert closed.state == "closed" and closed.next_check_at is None
    assert the_notice(case_id).status == "cancelled"
    assert recheck_at(utcnow() + timedelta(days=30)) == []
    assert provider.site.hits == []


def test_an_ambiguous_page_is_settled_by_a_full_capture(provider: Provider) -> None:
    picture = sandbox_sites.image_bytes("emblem-10.jpg")
    provider.inbox.complies = False
    case_id = confirmed_case(provider, "/shop/item-19", picture=picture)
    t0 = utcnow()
    send_at(the_notice(case_id).id, t0)
    provider.site.put(
        "/shop/item-19",
        "<html><body><p>Наш магазин теперь продаёт только садовый инвентарь: лопаты, грабли,"
        " лейки и семена овощей для дачи, с доставкой по всему Алматы.</p></body></html>",
    )
    try:
        (ambiguous,) = recheck_at(t0 + timedelta(hours=1, seconds=1))
        assert takedown_of(case_id).checks == 0  # the light fetch could not tell
        outcome = rechecks.run_full(ambiguous.takedown_id, ambiguous.due_at)
    finally:
        close_hosts()
    assert outcome == "removed"
    done = takedown_of(case_id)
    assert done.state == "removed" and done.checks == 1
    with db.session_scope() as session:
        kinds = session.scalars(
            sa.select(Capture.kind).where(Capture.case_id == case_id).order_by(Capture.id)
        ).all()
        (check,) = session.scalars(sa.select(Recheck)).all()
    assert kinds == ["initial", "recheck-light", "recheck-full"] and check.mode == "full"
    # the same due time again (a duplicate job after a lost worker) adds nothing
    assert rechecks.run_full(ambiguous.takedown_id, ambiguous.due_at) is None


def test_the_case_page_and_the_api_drive_the_notices(provider: Provider) -> None:
    case_id = confirmed_case(provider, "/shop/item-21")
    with db.session_scope() as session:
        _, analyst = add_user(session, name="saule", role="analyst")
    api = {"Authorization": f"Bearer {analyst}"}
    client = TestClient(create_app())
    draft = client.get(f"/api/v1/cases/{case_id}/takedown", headers=api).json()["notices"][0]
    assert draft["status"] == "draft" and draft["recipient"] == "abuse@sandbox-hosting.kz"
    bad = client.post(f"/api/v1/notices/{draft['id']}", json={"recipient": "x@y"}, headers=api)
    assert bad.status_code == 422 and "e-mail address" in bad.text
    assert client.post("/api/v1/notices/999999/send", headers=api).status_code == 404
    other = client.post(
        f"/api/v1/cases/{case_id}/notices",
        json={"party": "registrar", "language": "en"},
        headers=api,
    )
    assert other.status_code == 201 and other.json()["recipient"] == "abuse@registrar.kz"
    assert "Notice of illegal content" in other.json()["subject"]

    client.get("/ui/login")
    client.post("/ui/login", data={"token": analyst, "csrf": client.cookies["hotline_csrf"]})
    page = client.get(f"/ui/cases/{case_id}")
    assert page.status_code == 200 and 'id="takedown"' in page.text
    assert draft["subject"] in page.text
    form = {"csrf": client.cookies["hotline_csrf"], "recipient": "abuse@sandbox-hosting.kz"}
    refused = client.post(
        f"/ui/notices/{draft['id']}", data={**form, "recipient": "nobody", "send": "1"}
    )
    assert refused.status_code == 422 and "e-mail address" in refused.text
    no_csrf = client.post(f"/ui/notices/{draft['id']}", data={"recipient": "a@b.kz", "send": "1"})
    assert no_csrf.status_code == 403
    sent = client.post(
        f"/ui/notices/{draft['id']}",
        data={**form, "subject": "Срочно: " + draft["subject"], "body": draft["body"], "send": "1"},
        follow_redirects=False,
    )
    assert sent.status_code == 303
    assert tasks.send_notice(draft["id"]) == "sent"  # what the worker does with the queued job
    assert provider.inbox.messages[-1]["Subject"].startswith("Срочно")
    assert client.post(f"/api/v1/notices/{draft['id']}/send", headers=api).status_code == 409
    replied = client.post(
        f"/ui/notices/{draft['id']}/replies",
        data={
            "csrf": client.cookies["hotline_csrf"],
            "text": "Removed, sorry.",
            "sender": "noc@sandbox-hosting.kz",
        },
        follow_redirects=False,
    )
    assert replied.status_code == 303
    shown = client.get(f"/api/v1/cases/{case_id}/takedown", headers=api).json()
    first = shown["notices"][0]
    assert first["status"] == "sent" and first["replies"][0]["text"] == "Removed, sorry."
    assert shown["first_notice_at"] is not None
    # The time-to-takedown page and its CSV are for supervisors.
    assert client.get("/ui/takedowns").status_code == 403
    with db.session_scope() as session:
        _, boss = add_user(session, name="boss", role="supervisor")
    boss_client = TestClient(create_app())
    boss_client.get("/ui/login")
    boss_client.post("/ui/login", data={"token": boss, "csrf": boss_client.cookies["hotline_csrf"]})
    page = boss_client.get("/ui/takedowns")
    assert page.status_code == 200 and "Sandbox Hosting" in page.text
    exported = boss_client.get("/ui/takedowns.csv")
    assert exported.headers["content-type"].startswith("text/csv")
    assert f"{case_id},open,drugs,Sandbox Hosting" in exported.text
