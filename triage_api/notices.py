"""Takedown notices: drafted from the case's facts, edited by an analyst, sent over SMTP.

A notice names the URL, when it was captured, the category and legal basis, and the SHA-256 of
the evidence, never the material itself. Its life: `draft` (an analyst may edit it) → `queued`
(it has a Message-ID from then on, so a retry is recognisably the same message) → `sending`
(one sender at a time, by compare-and-set) → `sent`, or back to `queued` after a failure until
`notice_send_attempts`, then `failed`. `cancelled` when the content went before it was sent.
Templates are `notice_templates/<language>.txt`: a Jinja text whose first line is the subject.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import make_msgid, parseaddr
from pathlib import Path
from typing import Any

import jinja2
import sqlalchemy as sa
from sqlalchemy.orm import Session

from triage_api import audit, reporter_updates
from triage_api.config import Settings, get_settings
from triage_api.decisions import standing_decision
from triage_api.mail import send_mail
from triage_api.models import Capture, CaptureMedia, Case, Notice, NoticeReply, Takedown, utcnow
from triage_api.taxonomy import taxonomy

PARTIES = ("hosting", "registrar", "upstream", "police")  # the order of escalation
LANGUAGES = ("ru", "kk", "en")
MAX_SUBJECT = 300
MAX_BODY = 50_000
SENDING_STALE = timedelta(minutes=5)  # a sender that died mid-send: the notice is queued again
_TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "notice_templates"),
    autoescape=False,  # noqa: S701 - plain-text e-mail, never rendered as HTML
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=True,
)


class NoticeError(ValueError):
    """The notice cannot be edited, queued or recorded as asked; the message says why."""


class NoticeMissing(NoticeError):
    """No notice has this id."""


class NoticeInvalid(NoticeError):
    """A field is not acceptable (an address, a length, a language, a party)."""


class NoticeState(NoticeError):
    """The notice is not in a state that allows this (edited after queueing, no recipient)."""


@dataclass(frozen=True, slots=True)
class Draft:
    recipient: str | None
    subject: str
    body: str


def compose(
    session: Session,
    takedown: Takedown,
    *,
    party: str,
    reason: str = "first",
    language: str | None = None,
    now: datetime | None = None,
) -> Draft:
    """The notice's text in the hotline's language, from the case as it stands."""
    settings = get_settings()
    language = language or settings.notice_language
    if language not in LANGUAGES:
        raise NoticeInvalid(f"language must be one of {', '.join(LANGUAGES)}")
    case = session.get(Case, takedown.case_id)
    assert case is not None
    capture = session.get(Capture, case.last_capture_id) if case.last_capture_id else None
    decision = standing_decision(session, case.id)
    category = takedown.category or (decision.category if decision else None)
    now = now or utcnow()
    facts: dict[str, Any] = {
        "hotline": _name(settings.notice_from),
        "reference": f"KZH-{case.id}",
        "party": party,
        "reason": reason,
        "url": case.canonical_url,
        "final_url": capture.final_url if capture else None,
        "captured_at": _when(capture.started_at) if capture else "—",
        "server_ip": capture.server_ip if capture else None,
        "category_name": taxonomy()[category].name(language) if category else "—",
        "legal_basis": (decision.legal_basis if decision else None) or "—",
        "hashes": _evidence_hashes(session, capture),
        "now": _when(now),
        "first_notice_at": _when(takedown.first_notice_at) if takedown.first_notice_at else "—",
        "hours_online": int((now - takedown.first_notice_at).total_seconds() // 3600)
        if takedown.first_notice_at
        else 0,
    }
    text = _TEMPLATES.get_template(f"{language}.txt").render(facts)
    first, _, body = text.partition("\n")
    subject = first.removeprefix("Subject:").strip()
    return Draft(
        _recipient(case, capture, party, settings), _one_line(subject), body.strip() + "\n"
    )


def draft(
    session: Session,
    takedown: Takedown,
    *,
    party: str = "hosting",
    reason: str = "first",
    created_by: int | None = None,
    language: str | None = None,
    now: datetime | None = None,
) -> Notice:
    """A new notice in `draft`, for an analyst to read, edit and send."""
    if party not in PARTIES:
        raise NoticeInvalid(f"party must be one of {', '.join(PARTIES)}")
    text = compose(session, takedown, party=party, reason=reason, language=language, now=now)
    notice = Notice(
        case_id=takedown.case_id,
        takedown_id=takedown.id,
        party=party,
        reason=reason,
        recipient=text.recipient,
        language=language or get_settings().notice_language,
        subject=text.subject,
        body=text.body,
        status="draft",
        created_by=created_by,
        created_at=now or utcnow(),
    )
    session.add(notice)
    session.flush()
    return notice


def edit(
    session: Session,
    notice_id: int,
    *,
    actor: str,
    recipient: str | None = None,
    subject: str | None = None,
    body: str | None = None,
) -> Notice:
    """Change a draft's recipient, subject or body; a queued or sent notice stays as it went."""
    notice = _locked(session, notice_id)
    if notice.status != "draft":
        raise NoticeState(f"notice {notice_id} is {notice.status}; only a draft can be edited")
    if recipient is not None:
        notice.recipient = check_address(recipient) if recipient.strip() else None
    if subject is not None:
        if not subject.strip() or len(subject) > MAX_SUBJECT:
            raise NoticeInvalid(f"the subject must be 1 to {MAX_SUBJECT} characters")
        notice.subject = _one_line(subject)
    if body is not None:
        if not body.strip() or len(body) > MAX_BODY:
            raise NoticeInvalid(f"the body must be 1 to {MAX_BODY} characters")
        notice.body = body.replace("\r\n", "\n")
    audit.record(session, actor=actor, action="notice.edited", subject=f"notice:{notice_id}")
    return notice


def queue(session: Session, notice_id: int, *, actor: str, now: datetime | None = None) -> Notice:
    """Give the draft its Message-ID and hand it to the sender."""
    notice = _locked(session, notice_id)
    if notice.status != "draft":
        raise NoticeState(f"notice {notice_id} is already {notice.status}")
    if not notice.recipient:
        raise NoticeState("the notice has no recipient: enter the provider's abuse address")
    check_address(notice.recipient)
    domain = parseaddr(get_settings().notice_from)[1].rpartition("@")[2] or "hotline.invalid"
    notice.message_id = make_msgid(f"kzh{notice.case_id}.n{notice.id}", domain=domain)
    notice.status, notice.queued_at = "queued", now or utcnow()
    audit.record(
        session,
        actor=actor,
        action="notice.queued",
        subject=f"case:{notice.case_id}",
        notice=notice.id,
        party=notice.party,
        recipient=notice.recipient,
    )
    return notice


def take_for_sending(session: Session, notice_id: int) -> Notice | None:
    """Compare-and-set `queued` → `sending`: of two senders, one gets the notice."""
    taken = session.execute(
        sa.update(Notice)
        .where(Notice.id == notice_id, Notice.status == "queued")
        .values(status="sending", attempts=Notice.attempts + 1, queued_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if not getattr(taken, "rowcount", 0):
        return None
    session.commit()
    return session.get(Notice, notice_id, populate_existing=True)


def deliver(notice: Notice, settings: Settings | None = None) -> None:
    """Send the notice; raises `smtplib.SMTPException` or `OSError` when it fails."""
    send_mail(
        notice.recipient or "",
        notice.subject,
        notice.body,
        message_id=notice.message_id or make_msgid(),
        date=notice.queued_at or utcnow(),
        headers={"X-Hotline-Case": f"KZH-{notice.case_id}"},
        settings=settings,
    )


def sent(session: Session, notice: Notice, *, now: datetime | None = None) -> None:
    """Record delivery to the SMTP server and start the takedown's clock at the first notice."""
    now = now or utcnow()
    notice.status, notice.sent_at, notice.last_error = "sent", now, None
    takedown = session.get(Takedown, notice.takedown_id, with_for_update=True)
    assert takedown is not None
    if takedown.first_notice_at is None:
        reporter_updates.queue_for_case(session, notice.case_id, "notice_sent", now)
        takedown.first_notice_at = now
        takedown.schedule_step = 0
        takedown.next_check_at = now + timedelta(hours=get_settings().recheck_after_h[0])
    takedown.last_notice_at = now
    audit.record(
        session,
        actor="system:notices",
        action="notice.sent",
        subject=f"case:{notice.case_id}",
        notice=notice.id,
        message_id=notice.message_id,
        recipient=notice.recipient,
    )


def not_sent(session: Session, notice: Notice, error: str, attempts_allowed: int) -> bool:
    """Record a failed attempt; True when another attempt will follow."""
    notice.last_error = error[:2000]
    again = notice.attempts < attempts_allowed
    notice.status = "queued" if again else "failed"
    if not again:
        audit.record(
            session,
            actor="system:notices",
            action="notice.failed",
            subject=f"case:{notice.case_id}",
            notice=notice.id,
            error=notice.last_error,
        )
    return again


def waiting(session: Session, before: datetime, now: datetime) -> list[int]:
    """Queued notices nobody has taken since `before` (their sender lost with a broker or a
    worker): handed out again, stamped `now` so the next tick does not repeat them at once."""
    ids = list(
        session.scalars(
            sa.select(Notice.id).where(Notice.status == "queued", Notice.queued_at <= before)
        )
    )
    if ids:
        session.execute(
            sa.update(Notice)
            .where(Notice.id.in_(ids))
            .values(queued_at=now)
            .execution_options(synchronize_session=False)
        )
    return ids


def stale_sending(session: Session, now: datetime) -> int:
    """Notices left in `sending` by a worker that died go back to `queued`."""
    moved = session.execute(
        sa.update(Notice)
        .where(Notice.status == "sending", Notice.queued_at < now - SENDING_STALE)
        .values(status="queued")
        .execution_options(synchronize_session=False)
    )
    return int(getattr(moved, "rowcount", 0) or 0)


def record_reply(
    session: Session,
    notice_id: int,
    *,
    text: str,
    user_id: int | None,
    actor: str,
    sender: str | None = None,
    received_at: datetime | None = None,
) -> NoticeReply:
    """Keep what the provider answered with the notice it answers."""
    notice = session.get(Notice, notice_id)
    if notice is None:
        raise NoticeMissing(f"notice {notice_id} does not exist")
    if not text.strip() or len(text) > MAX_BODY:
        raise NoticeInvalid(f"the reply must be 1 to {MAX_BODY} characters")
    reply = NoticeReply(
        notice_id=notice_id,
        received_at=received_at or utcnow(),
        sender=sender.strip()[:320] if sender and sender.strip() else None,
        text=text,
        recorded_by=user_id,
    )
    session.add(reply)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="notice.reply",
        subject=f"case:{notice.case_id}",
        notice=notice_id,
    )
    return reply


def check_address(value: str) -> str:
    """One plain e-mail address (no display-name tricks, no header injection)."""
    value = value.strip()
    _, address = parseaddr(value)
    local, at, domain = address.rpartition("@")
    if (
        not at
        or not local
        or "." not in domain
        or address != value
        or any(c in value for c in "\r\n,;<> ")
        or len(value) > 320
    ):
        raise NoticeInvalid(f"not a single e-mail address: {value[:80]!r}")
    return value


def _recipient(case: Case, capture: Capture | None, party: str, settings: Settings) -> str | None:
    enrichment = (capture.enrichment if capture else None) or {}
    contact = enrichment.get("abuse_contact")
    meant_for = enrichment.get("abuse_contact_for") or "hosting"
    if contact and meant_for == party:
        try:
            return check_address(str(contact))
        except NoticeError:
            return None
    configured = settings.notice_contacts.get(party)
    return configured or None


def _evidence_hashes(session: Session, capture: Capture | None) -> list[tuple[str, str]]:
    if capture is None:
        return []
    hashes = [
        (label, value)
        for label, value in (
            ("manifest", capture.manifest_sha256),
            ("screenshot", capture.screenshot_sha256),
            ("html", capture.html_sha256),
        )
        if value
    ]
    pictures = session.scalars(
        sa.select(CaptureMedia.media_sha256)
        .where(CaptureMedia.capture_id == capture.id)
        .order_by(CaptureMedia.id)
        .limit(50)
    )
    hashes.extend((f"image {n}", sha) for n, sha in enumerate(pictures, 1))
    return hashes


def _locked(session: Session, notice_id: int) -> Notice:
    notice = session.get(Notice, notice_id, with_for_update=True)
    if notice is None:
        raise NoticeMissing(f"notice {notice_id} does not exist")
    return notice


def _name(sender: str) -> str:
    name, address = parseaddr(sender)
    return name or address or "Kaznet Hotline"


def _one_line(text: str) -> str:
    return " ".join(text.split())[:MAX_SUBJECT]


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M")
