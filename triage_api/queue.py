"""The analysts' queue: open cases ready for review, best first, each with its reasons."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from triage_api.config import get_settings
from triage_api.models import Capture, Case
from triage_api.page_families import also_seen_at
from triage_api.scoring import BANDS, current_points, waiting_reason

MAX_LIMIT = 500


@dataclass(frozen=True, slots=True)
class QueueItem:
    case_id: int
    url: str
    band: str
    points: float
    category: str | None
    reports: int
    title: str | None
    http_status: int | None
    capture_outcome: str | None
    created_at: str
    reasons: list[dict[str, Any]]
    # Other open cases showing the same page (mirrors): the first few, and how many more.
    family_id: int | None = None
    also_seen_at: list[dict[str, Any]] = field(default_factory=list)
    also_seen_more: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def ranked_cases(session: Session, *, limit: int = 50, offset: int = 0) -> list[QueueItem]:
    settings = get_settings()
    now = datetime.now(UTC)
    limit = max(1, min(limit, MAX_LIMIT))
    rows = session.execute(
        sa.select(Case, Capture.title, Capture.http_status, Capture.outcome)
        .outerjoin(Capture, Capture.id == Case.last_capture_id)
        .where(Case.status == "open", Case.stage == "ready")
        .order_by(Case.band.desc(), Case.rank_key.desc(), Case.id)
        .limit(limit)
        .offset(max(0, offset))
    ).all()
    mirrors = also_seen_at(
        session, {case.id: case.family_id for case, *_ in rows if case.family_id is not None}
    )
    items = []
    for case, title, status, outcome in rows:
        seen, more = mirrors.get(case.id, ([], 0))
        reasons = [*case.reasons, waiting_reason(case.created_at, now, settings)]
        items.append(
            QueueItem(
                case_id=case.id,
                url=case.canonical_url,
                band=BANDS.get(case.band, "unlikely"),
                points=round(current_points(case.base_points, case.created_at, now, settings), 2),
                category=case.claimed_category,
                reports=case.report_count,
                title=title,
                http_status=status,
                capture_outcome=outcome,
                created_at=case.created_at.isoformat(),
                reasons=reasons,
                family_id=case.family_id,
                also_seen_at=[m.as_dict() for m in seen],
                also_seen_more=more,
            )
        )
    return items


def pipeline_counts(session: Session) -> dict[str, int]:
    rows = session.execute(
        sa.select(Case.stage, sa.func.count()).where(Case.status == "open").group_by(Case.stage)
    ).all()
    return {stage: count for stage, count in rows}
