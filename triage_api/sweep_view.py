"""Sweeps as plain data for the API and the report pages: one shape for both, so what the page
shows is what the API answers. Progress is pages against the budget's `max_pages`; the figures a
running sweep's processes add to `stats` (`pending`, `processes`) are shown only when present."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from triage_api.models import Sweep, SweepFind, utcnow
from triage_api.sweep_stop import AT_WORK

MAX_LIMIT = 200
MAX_FINDS = 1000  # a report page stays readable; the count says how many there are in all
STALE_AFTER_S = 300  # a running sweep silent this long is worth a second look


def recent_sweeps(
    session: Session, *, limit: int = 50, now: datetime | None = None
) -> list[dict[str, Any]]:
    """The newest sweeps first, each as its figures."""
    now = now or utcnow()
    found = session.scalars(sa.select(Sweep).order_by(Sweep.id.desc()).limit(limit))
    return [sweep_summary(sweep, now=now) for sweep in found]


def sweep_detail(
    session: Session, sweep_id: int, *, now: datetime | None = None
) -> dict[str, Any] | None:
    """One sweep's report: figures, seeds, options, skip reasons and the cases it opened."""
    sweep = session.get(Sweep, sweep_id)
    if sweep is None:
        return None
    finds = session.scalars(
        sa.select(SweepFind)
        .where(SweepFind.sweep_id == sweep_id)
        .order_by(SweepFind.found_at, SweepFind.id)
        .limit(MAX_FINDS)
    ).all()
    total = session.scalar(
        sa.select(sa.func.count()).select_from(SweepFind).where(SweepFind.sweep_id == sweep_id)
    )
    stats = sweep.stats or {}
    skipped = stats.get("skipped") or {}
    return {
        **sweep_summary(sweep, now=now or utcnow()),
        "seeds": [_seed(seed) for seed in sweep.seeds or [] if isinstance(seed, dict)],
        "options": sweep.options or {},
        "finish_reason": stats.get("finish_reason") or None,
        "egress_refused": stats.get("egress_refused"),
        "already_cases": stats.get("already_cases"),
        "responses": stats.get("responses"),
        "skipped": sorted(
            ([str(reason), count] for reason, count in skipped.items()),
            key=lambda pair: (-_number(pair[1]), pair[0]),
        )
        if isinstance(skipped, dict)
        else [],
        "finds_total": total or 0,
        "finds": [
            {
                "case_id": f.case_id,
                "url": f.url,
                "category": f.category,
                "reason": f.reason,
                "found_at": f.found_at.isoformat(),
            }
            for f in finds
        ],
    }


def sweep_summary(sweep: Sweep, *, now: datetime) -> dict[str, Any]:
    """The figures a list row shows; durations and ages in whole seconds."""
    stats = sweep.stats or {}
    budget = (sweep.options or {}).get("budget") or {}
    max_pages = budget.get("max_pages") if isinstance(budget, dict) else None
    if not isinstance(max_pages, int) or isinstance(max_pages, bool) or max_pages <= 0:
        max_pages = None
    at_work = sweep.status in AT_WORK
    end = sweep.finished_at or (now if at_work else None)
    heartbeat_age = (
        max(0, int((now - sweep.heartbeat_at).total_seconds())) if sweep.heartbeat_at else None
    )
    return {
        "id": sweep.id,
        "status": sweep.status,
        "trigger": sweep.trigger,
        "started_at": sweep.started_at.isoformat(),
        "finished_at": sweep.finished_at.isoformat() if sweep.finished_at else None,
        "duration_s": max(0, int((end - sweep.started_at).total_seconds())) if end else None,
        "pages": sweep.pages,
        "max_pages": max_pages,
        "progress": min(1.0, sweep.pages / max_pages) if max_pages else None,
        "pictures": sweep.pictures,
        "hosts": sweep.hosts,
        "new_cases": sweep.new_cases,
        "matches": sweep.matches,
        "errors": sweep.errors,
        "pending": stats.get("pending"),
        "processes": stats.get("processes"),
        "heartbeat_at": sweep.heartbeat_at.isoformat() if sweep.heartbeat_at else None,
        "heartbeat_age_s": heartbeat_age,
        "stop_asked_by": stats.get("stop_asked_by"),
        "stale": at_work and heartbeat_age is not None and heartbeat_age > STALE_AFTER_S,
    }


def _seed(seed: dict[str, Any]) -> dict[str, Any]:
    """A stored seed with its reason (older rows call it `kind`)."""
    return {
        **seed,
        "url": str(seed.get("url", "")),
        "reason": seed.get("reason") or seed.get("kind"),
    }


def _number(value: Any) -> float:
    return float(value) if isinstance(value, int | float) else 0.0
