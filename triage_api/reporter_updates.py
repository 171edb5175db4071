"""E-mails to reporters who left an address (`HOTLINE_REPORTER_UPDATES`): one when the hosting
provider was sent a notice about what they reported, one when a recheck saw it gone.

Like the status page, a message says only where the report stands and when, in Russian, Kazakh
and English together (a report carries no language): never the URL, the evidence, the category
or anybody's name. Rows are queued in the transaction that records the event, one per report and
event, and sent by the takedown tick; a failed send is retried up to `notice_send_attempts`.
"""

from __future__ import annotations

import re
import smtplib
from datetime import datetime
from email.utils import make_msgid, parseaddr

import sqlalchemy as sa
from sqlalchemy.orm import Session

from triage_api.config import Settings, get_settings
from triage_api.mail import send_mail
from triage_api.models import Report, ReporterUpdate, utcnow
from triage_api.sqlutil import upsert_for

EVENTS = ("notice_sent", "removed")
_ADDRESS = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$")
TEXT = {
    "notice_sent": (
        "Ваше обращение {code}: хостинг-провайдеру {date} направлено уведомление об удалении.",
        "Сіздің {code} өтінішіңіз: хостинг провайдеріне {date} жою туралы хабарлама жіберілді.",
        "Your report {code}: the hosting provider was sent a removal notice on {date}.",
    ),
    "removed": (
        "Ваше обращение {code}: материал удалён, проверка {date} показала, что его больше нет.",
        "Сіздің {code} өтінішіңіз: материал жойылды, {date} тексеру оның жоқ екенін көрсетті.",
        "Your report {code}: the material is gone; a recheck on {date} found it no longer online.",
    ),
}
SUBJECT = {
    "notice_sent": "Обращение / Өтініш / Report {code}: уведомление отправлено / notice sent",
    "removed": "Обращение / Өтініш / Report {code}: удалено / жойылды / removed",
}


def queue_for_case(session: Session, case_id: int, event: str, at: datetime) -> int:
    """Queue the event's e-mail for every report of the case that left an address; how many.
    Nothing when reporters' e-mails are off; a report gets each event once."""
    if not get_settings().reporter_updates:
        return 0
    assert event in EVENTS
    reports = session.execute(
        sa.select(Report.id, Report.contact).where(
            Report.case_id == case_id, Report.contact.is_not(None)
        )
    ).all()
    rows = [
        {
            "report_id": report_id,
            "event": event,
            "status": "queued",
            "message_id": make_msgid(f"kzh-r{report_id}.{event}", domain=_domain()),
            "attempts": 0,
            "event_at": at,
            "created_at": utcnow(),
        }
        for report_id, contact in reports
        if address_of(contact) is not None
    ]
    if not rows:
        return 0
    result = session.execute(
        upsert_for(session)(ReporterUpdate).values(rows).on_conflict_do_nothing()
    )
    return max(getattr(result, "rowcount", 0) or 0, 0)


def queued(session: Session) -> list[int]:
    return list(
        session.scalars(sa.select(ReporterUpdate.id).where(ReporterUpdate.status == "queued"))
    )


def send(update_id: int, settings: Settings | None = None) -> str:
    """Take the update by compare-and-set, send it, record the result."""
    from triage_api.db import session_scope

    settings = settings or get_settings()
    with session_scope() as session:
        taken = session.execute(
            sa.update(ReporterUpdate)
            .where(ReporterUpdate.id == update_id, ReporterUpdate.status == "queued")
            .values(status="sending", attempts=ReporterUpdate.attempts + 1)
            .execution_options(synchronize_session=False)
        )
        if not getattr(taken, "rowcount", 0):
            return "not queued"
        update = session.get(ReporterUpdate, update_id)
        report = session.get(Report, update.report_id) if update else None
        assert update is not None and report is not None
        to, code = address_of(report.contact), report.tracking_code
        event, at, message_id, attempts = (
            update.event,
            update.event_at,
            update.message_id,
            update.attempts,
        )
    body = _body(event, code, at, settings)
    try:
        send_mail(
            to or "",
            SUBJECT[event].format(code=code),
            body,
            message_id=message_id,
            date=utcnow(),
            settings=settings,
        )
    except (smtplib.SMTPException, OSError) as exc:
        with session_scope() as session:
            again = attempts < settings.notice_send_attempts
            session.execute(
                sa.update(ReporterUpdate)
                .where(ReporterUpdate.id == update_id)
                .values(
                    status="queued" if again else "failed",
                    last_error=f"{type(exc).__name__}: {exc}"[:2000],
                )
            )
        return "retry" if again else "failed"
    with session_scope() as session:
        session.execute(
            sa.update(ReporterUpdate)
            .where(ReporterUpdate.id == update_id)
            .values(status="sent", sent_at=utcnow(), last_error=None)
        )
    return "sent"


def address_of(contact: str | None) -> str | None:
    """The reporter's contact when it is one plain e-mail address (phones and handles are not)."""
    value = (contact or "").strip()
    return value if _ADDRESS.match(value) and parseaddr(value)[1] == value else None


def _body(event: str, code: str, at: datetime, settings: Settings) -> str:
    when = at.strftime("%Y-%m-%d %H:%M UTC")
    lines = [line.format(code=code, date=when) for line in TEXT[event]]
    if settings.public_base_url:
        lines.append(f"{settings.public_base_url.rstrip('/')}/status/{code}")
    return "\n\n".join(lines) + "\n"


def _domain() -> str:
    return parseaddr(get_settings().notice_from)[1].rpartition("@")[2] or "hotline.invalid"
