"""The hotline's figures for supervisors: reports per day by category, time from report to
decision, and the share of decided cases confirmed illegal; plus the bar geometry the page
draws them with (SVG attributes, no script, so the strict CSP holds)."""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from triage_api.models import Case, Decision, Report, utcnow

CLOSING = ("illegal", "not_illegal", "duplicate", "forward")
HOURS_BINS = (1, 4, 12, 24, 72, 168)  # upper edges; the last bin is "more than a week"


@dataclass
class Figures:
    days: list[date]
    reports: dict[str, list[int]]  # category → count per day
    decided: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    hours_to_decision: dict[str, float] = field(default_factory=dict)  # p50, p90
    hours_bins: list[tuple[str, int]] = field(default_factory=list)

    @property
    def confirmed_share(self) -> float | None:
        return self.outcomes.get("illegal", 0) / self.decided if self.decided else None

    def stacked_bars(self, height: int = 160) -> list[dict[str, object]]:
        """One column per day: its segments (category, y, height) scaled to the busiest day."""
        totals = [sum(counts[i] for counts in self.reports.values()) for i in range(len(self.days))]
        top = max(totals, default=0) or 1
        columns = []
        for i, day in enumerate(self.days):
            y = float(height)
            segments = []
            for category, counts in sorted(self.reports.items()):
                if counts[i]:
                    h = counts[i] / top * height
                    y -= h
                    segments.append({"category": category, "y": round(y, 1), "h": round(h, 1)})
            columns.append({"day": day.isoformat(), "total": totals[i], "segments": segments})
        return columns


def figures(session: Session, *, days: int = 30, now: datetime | None = None) -> Figures:
    now = now or utcnow()
    first = (now - timedelta(days=days - 1)).date()
    span = [first + timedelta(days=i) for i in range(days)]
    since = datetime.combine(first, datetime.min.time(), tzinfo=now.tzinfo)
    category = sa.func.coalesce(Report.category, Case.claimed_category, "none")
    rows = session.execute(
        sa.select(Report.created_at, category)
        .join(Case, Case.id == Report.case_id)
        .where(Report.created_at >= since)
    ).all()
    per_day: dict[str, Counter[date]] = defaultdict(Counter)
    for created, name in rows:
        per_day[str(name)][created.date()] += 1
    reports = {name: [counts[d] for d in span] for name, counts in per_day.items()}

    # Time to decision runs to the first decision; the outcome is the one in force after revisions.
    latest = aliased(Decision)
    standing = (
        sa.select(latest.outcome)
        .where(latest.case_id == Case.id, latest.outcome.in_(CLOSING))
        .order_by(latest.id.desc())
        .limit(1)
        .correlate(Case)
        .scalar_subquery()
    )
    decided = session.execute(
        sa.select(standing, Decision.created_at, Case.created_at)
        .join(Case, Case.id == Decision.case_id)
        .where(
            Decision.outcome.in_(CLOSING),
            Decision.revises_id.is_(None),
            Decision.created_at >= since,
        )
    ).all()
    outcomes = Counter(outcome for outcome, _, _ in decided)
    hours = np.array([(at - opened).total_seconds() / 3600 for _, at, opened in decided])
    result = Figures(span, reports, decided=len(decided), outcomes=dict(outcomes))
    if len(hours):
        p50, p90 = np.percentile(hours, [50, 90])
        result.hours_to_decision = {"p50": round(float(p50), 1), "p90": round(float(p90), 1)}
        edges = (0, *HOURS_BINS)
        for low, high in itertools.pairwise(edges):
            result.hours_bins.append(
                (f"{low}–{high} h", int(((hours >= low) & (hours < high)).sum()))
            )
        result.hours_bins.append((f"> {HOURS_BINS[-1]} h", int((hours >= HOURS_BINS[-1]).sum())))
    return result
