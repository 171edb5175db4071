"""Time to takedown: how long confirmed content stayed online after the hotline told someone,
per category, per hosting provider and per jurisdiction; the share removed within a day, three
days and a week; and the takedowns still open by age, so a slow provider shows.

The clock of a takedown starts at its first notice (at the confirmation when no notice went out,
e.g. content forwarded abroad) and stops at the recheck that saw it gone. A share "within 24 h"
counts only takedowns whose clock started at least 24 h ago, so young ones do not dilute it.
"""

from __future__ import annotations

import csv
import io
import itertools
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import Session

from triage_api.models import Takedown, utcnow

WITHIN_H = (24, 72, 168)
OPEN_AGES_H = ((0, 24), (24, 72), (72, 168), (168, None))
CSV_FIELDS = (
    "case_id",
    "state",
    "category",
    "provider",
    "jurisdiction",
    "country",
    "confirmed_at",
    "first_notice_at",
    "removed_at",
    "hours_to_removal",
    "escalation_level",
    "rechecks",
    "last_outcome",
)


@dataclass(frozen=True, slots=True)
class Group:
    """One row of a breakdown: takedowns, how many were removed, hours to removal."""

    name: str
    takedowns: int
    removed: int
    p50_h: float | None
    p90_h: float | None
    within: dict[int, float | None]  # hours → share removed within (None: none old enough)


@dataclass(frozen=True, slots=True)
class TakedownFigures:
    overall: Group
    by_category: list[Group]
    by_provider: list[Group]
    by_jurisdiction: list[Group]
    open_by_age: list[tuple[str, int]]
    hours_bins: list[tuple[str, int]]
    flagged: list[Takedown]  # escalated, changed or soft 404: a supervisor should look


def figures(session: Session, now: datetime | None = None) -> TakedownFigures:
    now = now or utcnow()
    rows = _rows(session)
    counted = [r for r in rows if r.state in ("open", "removed")]  # closed: un-confirmed

    def by(key: str) -> list[Group]:
        names = sorted({getattr(r, key) or "unknown" for r in counted})
        return [
            _group(n, [r for r in counted if (getattr(r, key) or "unknown") == n], now)
            for n in names
        ]

    waiting = [(now - _start(r)).total_seconds() / 3600 for r in counted if r.state == "open"]
    ages = [
        (
            f"{low}–{high} h" if high else f"> {low} h",
            sum(1 for h in waiting if h >= low and (high is None or h < high)),
        )
        for low, high in OPEN_AGES_H
    ]
    removal = [_hours(r) for r in counted if r.removed_at is not None]
    edges = (0, 1, 6, 24, 72, 168)
    bins = [
        (f"{a}–{b} h", sum(1 for h in removal if a <= h < b)) for a, b in itertools.pairwise(edges)
    ] + [(f"> {edges[-1]} h", sum(1 for h in removal if h >= edges[-1]))]
    return TakedownFigures(
        overall=_group("all", counted, now),
        by_category=by("category"),
        by_provider=by("provider"),
        by_jurisdiction=by("jurisdiction"),
        open_by_age=ages,
        hours_bins=bins,
        flagged=[r for r in counted if r.state == "open" and r.needs_supervisor],
    )


def csv_export(session: Session) -> str:
    """One line per takedown, for the hotline's own reports and spreadsheets."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for row in _rows(session):
        writer.writerow(
            {
                "case_id": row.case_id,
                "state": row.state,
                "category": row.category or "",
                "provider": _cell(row.provider),
                "jurisdiction": row.jurisdiction or "",
                "country": row.country or "",
                "confirmed_at": row.confirmed_at.isoformat(),
                "first_notice_at": row.first_notice_at.isoformat() if row.first_notice_at else "",
                "removed_at": row.removed_at.isoformat() if row.removed_at else "",
                "hours_to_removal": f"{_hours(row):.2f}" if row.removed_at else "",
                "escalation_level": row.escalation_level,
                "rechecks": row.checks,
                "last_outcome": row.last_outcome or "",
            }
        )
    return out.getvalue()


def _rows(session: Session) -> list[Any]:
    return list(session.execute(sa.select(Takedown).order_by(Takedown.case_id)).scalars())


def _start(row: Takedown) -> datetime:
    return row.first_notice_at or row.confirmed_at


def _hours(row: Takedown) -> float:
    assert row.removed_at is not None
    return max(0.0, (row.removed_at - _start(row)).total_seconds() / 3600)


def _group(name: str, rows: list[Takedown], now: datetime) -> Group:
    hours = np.array([_hours(r) for r in rows if r.removed_at is not None])
    p50, p90 = (float(v) for v in np.percentile(hours, [50, 90])) if len(hours) else (None, None)
    within: dict[int, float | None] = {}
    for limit in WITHIN_H:
        old_enough = [r for r in rows if now - _start(r) >= timedelta(hours=limit)]
        done = [r for r in old_enough if r.removed_at is not None and _hours(r) <= limit]
        within[limit] = len(done) / len(old_enough) if old_enough else None
    return Group(
        name,
        len(rows),
        len(hours),
        round(p50, 1) if p50 is not None else None,
        round(p90, 1) if p90 is not None else None,
        within,
    )


def _cell(value: str | None) -> str:
    """A text cell a spreadsheet will not run as a formula."""
    text = value or ""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@") else text
