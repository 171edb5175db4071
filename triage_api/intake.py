"""Filing a report: validate, canonicalize, join the open case of the same URL or open one.

The report is committed before any job is queued; if queueing fails the reconciler finds the case.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import secrets
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from triage_api import audit
from triage_api.canonical_url import CanonicalUrl, InvalidUrl, canonicalize
from triage_api.models import Case, Report, utcnow
from triage_api.sqlutil import advance_stage
from triage_api.taxonomy import check_category

log = logging.getLogger(__name__)
MAX_COMMENT = 5000
MAX_CONTACT = 320


class ReportRejected(ValueError):
    """The report cannot be filed; the message says which field is wrong and why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True, slots=True)
class FiledReport:
    tracking_code: str
    case_id: int
    new_case: bool
    canonical_url: str
    next_stage: str | None  # the job to queue after commit, if any


def new_tracking_code() -> str:
    """120 random bits in groups a person can read out over the phone."""
    text = base64.b32encode(secrets.token_bytes(15)).decode("ascii")
    return "KZ-" + "-".join(text[i : i + 6] for i in range(0, 24, 6))


def client_fingerprint(client: str | None) -> str | None:
    """Who reported, as a salted hash: enough to count independent reporters, not to identify."""
    if not client:
        return None
    return hashlib.sha256(b"hotline-reporter:" + client.encode()).hexdigest()


def validate(
    url: object, category: str | None, comment: str | None, contact: str | None
) -> CanonicalUrl:
    if not isinstance(url, str):
        raise ReportRejected("url", "must be a string")
    try:
        canonical = canonicalize(url)
    except InvalidUrl as exc:
        raise ReportRejected("url", str(exc)) from None
    try:
        check_category(category)
    except ValueError as exc:
        raise ReportRejected("category", str(exc)) from None
    if comment is not None and len(comment) > MAX_COMMENT:
        raise ReportRejected("comment", f"is longer than {MAX_COMMENT} characters")
    if contact is not None and len(contact) > MAX_CONTACT:
        raise ReportRejected("contact", f"is longer than {MAX_CONTACT} characters")
    return canonical


def file_report(
    session: Session,
    *,
    url: object,
    category: str | None = None,
    comment: str | None = None,
    contact: str | None = None,
    client: str | None = None,
    channel: str = "api",
) -> FiledReport:
    """Add the report in the caller's transaction; the caller commits, then queues `next_stage`."""
    canonical = validate(url, category, comment, contact)
    case, new_case = _open_case(session, canonical)
    code = new_tracking_code()
    session.add(
        Report(
            tracking_code=code,
            case_id=case.id,
            submitted_url=str(url)[:5000],
            canonical_url=canonical.url,
            category=category or None,
            comment=comment,
            contact=contact,
            channel=channel,
            client_hash=client_fingerprint(client),
        )
    )
    session.execute(
        sa.update(Case).where(Case.id == case.id).values(report_count=Case.report_count + 1)
    )
    next_stage = "capture" if new_case else None
    if not new_case and advance_stage(
        session, Case, case.id, from_stage="ready", stage="score", stage_since=utcnow()
    ):
        next_stage = "score"
    audit.record(
        session, actor=f"reporter:{channel}", action="report.filed", subject=f"case:{case.id}"
    )
    return FiledReport(code, case.id, new_case, canonical.url, next_stage)


def _open_case(session: Session, canonical: CanonicalUrl) -> tuple[Case, bool]:
    query = sa.select(Case).where(Case.open_key == canonical.url)
    case = session.scalar(query)
    if case is not None:
        return case, False
    try:
        with session.begin_nested():
            case = Case(canonical_url=canonical.url, host=canonical.host, open_key=canonical.url)
            session.add(case)
            session.flush()
        return case, True
    except IntegrityError:
        existing = session.scalar(query)  # another report opened it a moment ago
        if existing is None:
            raise
        return existing, False


def public_status(session: Session, tracking_code: str) -> dict[str, object] | None:
    """What a reporter may see: the stage of their report, never evidence or analysts' notes."""
    if not tracking_code or len(tracking_code) > 40:
        return None
    row = session.execute(
        sa.select(Report.created_at, Case.status, Case.stage)
        .join(Case, Case.id == Report.case_id)
        .where(Report.tracking_code == tracking_code)
    ).first()
    if row is None:
        return None
    status = "received" if row.stage != "ready" else "under_review"
    if row.status != "open":
        status = "decided"
    return {"tracking_code": tracking_code, "status": status, "received_at": row.created_at}
