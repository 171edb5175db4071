"""Filing a report: validate, canonicalize, join the open case of the same URL or open one.

The report is committed before any job is queued; if queueing fails the reconciler finds the case.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import secrets
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from triage_api import audit
from triage_api.canonical_url import CanonicalUrl, InvalidUrl, canonicalize
from triage_api.models import Case, Decision, Report, Takedown, utcnow
from triage_api.sqlutil import advance_stage, table_of
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
    source: str = "public",
) -> FiledReport:
    """Add the report in the caller's transaction; the caller commits, then queues `next_stage`.

    Three statements: an upsert that joins or opens the case, the report, the audit entry. Intake
    is the hottest path of the service, so every round trip and every compile counts.
    """
    canonical = validate(url, category, comment, contact)
    now = utcnow()
    connection = session.connection()  # Core on the session's transaction: no ORM bookkeeping
    statements = _statements(connection.dialect.name)
    case = connection.execute(
        statements.join_or_open_case,
        {"url": canonical.url, "host": canonical.host, "now": now, "source": source},
    ).one()
    case_id, new_case = int(case.id), case.report_count == 1
    code = new_tracking_code()
    connection.execute(
        statements.add_report,
        {
            "tracking_code": code,
            "case_id": case_id,
            "submitted_url": str(url)[:5000],
            "canonical_url": canonical.url,
            "category": category or None,
            "comment": comment,
            "contact": contact,
            "channel": channel,
            "client_hash": client_fingerprint(client),
            "created_at": now,
        },
    )
    next_stage = "capture" if new_case else None
    # a new report changes the priority of a case already in the queue: score it again
    rescore = not new_case and case.stage == "ready"
    if rescore and advance_stage(
        session, Case, case_id, from_stage="ready", stage="score", stage_since=now
    ):
        next_stage = "score"
    audit.record(
        session, actor=f"reporter:{channel}", action="report.filed", subject=f"case:{case_id}"
    )
    return FiledReport(code, case_id, new_case, canonical.url, next_stage)


@dataclass(frozen=True, slots=True)
class _IntakeStatements:
    join_or_open_case: Any
    add_report: Any


@lru_cache(maxsize=4)
def _statements(dialect: str) -> _IntakeStatements:
    """Intake's statements, built once per engine so each report reuses the compiled SQL.

    `join_or_open_case` opens a case for the URL or counts one more report on its open case in one
    statement; the unique `open_key` makes two racing first reports of a URL meet in the same
    case, and a count of 1 afterwards means this report opened it.
    """
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    now: Any = sa.bindparam("now")
    join_or_open_case = (
        insert(table_of(Case))
        .values(
            canonical_url=sa.bindparam("url"),
            host=sa.bindparam("host"),
            open_key=sa.bindparam("url"),
            source=sa.bindparam("source"),  # a case keeps the source that opened it
            report_count=1,
            stage_since=now,
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_update(
            index_elements=[Case.open_key],
            set_={"report_count": Case.report_count + 1, "updated_at": now},
        )
        .returning(Case.id, Case.report_count, Case.stage)
    )
    return _IntakeStatements(join_or_open_case, sa.insert(table_of(Report)))


def public_status(session: Session, tracking_code: str) -> dict[str, object] | None:
    """What a reporter may see: where their report stands and when, never evidence, other
    reports, analysts' names, categories or notes. Status: received → under_review → decided →
    notice_sent (the provider was told) → removed (a recheck saw it gone), with dates. Outcomes:
    `confirmed` (illegal), `not_illegal`, `forwarded` (hosted abroad: sent to the partner hotline
    there), `duplicate` (already handled under an earlier report)."""
    if not tracking_code or len(tracking_code) > 40:
        return None
    row = session.execute(
        sa.select(Report.created_at, Case.id, Case.status, Case.stage)
        .join(Case, Case.id == Report.case_id)
        .where(Report.tracking_code == tracking_code)
    ).first()
    if row is None:
        return None
    found: dict[str, object] = {
        "tracking_code": tracking_code,
        "status": "received" if row.stage != "ready" else "under_review",
        "received_at": row.created_at,
        "outcome": None,
        "decided_at": None,
        "notice_sent_at": None,
        "removed_at": None,
    }
    if row.status != "open":
        decision = session.execute(
            sa.select(Decision.outcome, Decision.created_at)
            .where(Decision.case_id == row.id)
            .order_by(Decision.id.desc())
            .limit(1)
        ).first()
        found["status"] = "decided"
        if decision is not None:
            found["outcome"] = PUBLIC_OUTCOMES.get(decision.outcome)
            found["decided_at"] = decision.created_at
        takedown = session.execute(
            sa.select(Takedown.state, Takedown.first_notice_at, Takedown.removed_at).where(
                Takedown.case_id == row.id, Takedown.state != "closed"
            )
        ).first()
        if takedown is not None and found["outcome"] in ("confirmed", "forwarded"):
            found["notice_sent_at"], found["removed_at"] = takedown[1:]
            if takedown.removed_at is not None:
                found["status"] = "removed"
            elif takedown.first_notice_at is not None:
                found["status"] = "notice_sent"
    return found


PUBLIC_OUTCOMES = {
    "illegal": "confirmed",
    "not_illegal": "not_illegal",
    "forward": "forwarded",
    "duplicate": "duplicate",
}
