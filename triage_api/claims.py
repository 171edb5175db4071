"""Claiming cases for review: the next case goes to exactly one analyst, with a lease.

One statement takes the best unclaimed case: `UPDATE cases … WHERE id = (SELECT id … ORDER BY
band, rank_key LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING id`. On PostgreSQL concurrent claims
skip each other's locked rows instead of queueing behind them; SQLite has one writer at a time,
so the same statement is already exclusive there (it renders without `FOR UPDATE`). The `WHERE`
of the update repeats the "unclaimed" test, so a case can never be held by two analysts. A case
on which an analyst asked for a second opinion is never handed back to them. A lease runs out
after `HOTLINE_CLAIM_LEASE_S` unless renewed, and the case returns to the queue.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from triage_api import audit
from triage_api.config import get_settings
from triage_api.decisions import SECOND_OPINION
from triage_api.models import Case, Decision, User, utcnow
from triage_api.scoring import BANDS
from triage_api.security import has_role

BAND_OF = {name: number for number, name in BANDS.items()}


class ClaimError(ValueError):
    """The claim cannot be changed as asked (not yours, not open, no such case or user)."""


@dataclass(frozen=True, slots=True)
class Claim:
    case_id: int
    user_id: int
    lease_until: datetime

    def as_dict(self) -> dict[str, object]:
        return {
            "case_id": self.case_id,
            "user_id": self.user_id,
            "lease_until": self.lease_until.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class QueueFilter:
    """What an analyst asks the queue for; None means any."""

    category: str | None = None
    band: str | None = None
    jurisdiction: str | None = None
    source: str | None = None

    def conditions(self) -> list[sa.ColumnElement[bool]]:
        found: list[sa.ColumnElement[bool]] = []
        if self.category:
            found.append(Case.claimed_category == self.category)
        if self.band:
            if self.band not in BAND_OF:
                raise ClaimError(f"band must be one of {', '.join(BAND_OF)}")
            found.append(Case.band == BAND_OF[self.band])
        if self.jurisdiction:
            found.append(Case.jurisdiction == self.jurisdiction)
        if self.source:
            found.append(Case.source == self.source)
        return found


def _free(now: datetime) -> sa.ColumnElement[bool]:
    return sa.or_(Case.lease_until.is_(None), Case.lease_until < now)


def claim_next(
    session: Session, user: User, wanted: QueueFilter | None = None, *, now: datetime | None = None
) -> Claim | None:
    """The analyst's current case if they hold one, else the best free case, leased to them;
    None when nothing waits. The caller commits."""
    now = now or utcnow()
    until = now + timedelta(seconds=get_settings().claim_lease_s)
    held = session.execute(
        sa.update(Case)
        .where(
            Case.claimed_by == user.id,
            Case.lease_until >= now,
            Case.status == "open",
        )
        .values(lease_until=until)
        .returning(Case.id)
        .execution_options(synchronize_session=False)
    ).first()
    if held is not None:
        return Claim(held[0], user.id, until)
    asked_already = (
        sa.select(Decision.id)
        .where(
            Decision.case_id == Case.id,
            Decision.user_id == user.id,
            Decision.outcome == SECOND_OPINION,
        )
        .exists()
    )
    best = (
        sa.select(Case.id)
        .where(Case.status == "open", Case.stage == "ready", _free(now), ~asked_already)
        .where(*(wanted or QueueFilter()).conditions())
        .order_by(Case.band.desc(), Case.rank_key.desc(), Case.id)
        .limit(1)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    taken = session.execute(
        sa.update(Case)
        .where(Case.id == best, Case.status == "open", _free(now))
        .values(claimed_by=user.id, lease_until=until)
        .returning(Case.id)
        .execution_options(synchronize_session=False)
    ).first()
    if taken is None:
        return None
    audit.record(
        session, actor=f"user:{user.name}", action="case.claimed", subject=f"case:{taken[0]}"
    )
    return Claim(taken[0], user.id, until)


def holder(session: Session, case_id: int, *, now: datetime | None = None) -> int | None:
    """The user holding a live lease on the case, if any."""
    now = now or utcnow()
    row = session.execute(
        sa.select(Case.claimed_by, Case.lease_until).where(Case.id == case_id)
    ).first()
    if row is None:
        raise ClaimError(f"case {case_id} does not exist")
    claimed_by, until = row
    return claimed_by if claimed_by is not None and until is not None and until >= now else None


def may_decide(session: Session, case_id: int, user: User) -> bool:
    """Only the analyst holding the case's lease decides it; a supervisor always may.
    ClaimError when there is no such case."""
    return holder(session, case_id) == user.id or has_role(user, "supervisor")


def renew(session: Session, case_id: int, user: User, *, now: datetime | None = None) -> Claim:
    """Extend the analyst's lease (the case page does this while it is open)."""
    now = now or utcnow()
    until = now + timedelta(seconds=get_settings().claim_lease_s)
    done = _one(
        session,
        sa.update(Case)
        .where(
            Case.id == case_id,
            Case.claimed_by == user.id,
            Case.lease_until >= now,
            Case.status == "open",
        )
        .values(lease_until=until),
    )
    if not done:
        raise ClaimError(f"case {case_id} is not claimed by {user.name} (or its lease ran out)")
    return Claim(case_id, user.id, until)


def release(session: Session, case_id: int, user: User) -> None:
    """Give the case back to the queue."""
    done = _one(
        session,
        sa.update(Case)
        .where(Case.id == case_id, Case.claimed_by == user.id)
        .values(claimed_by=None, lease_until=None),
    )
    if not done:
        raise ClaimError(f"case {case_id} is not claimed by {user.name}")
    audit.record(
        session, actor=f"user:{user.name}", action="case.released", subject=f"case:{case_id}"
    )


def release_held(session: Session, user: User, *, by: User) -> list[int]:
    """Give back every case `user` holds (a supervisor disabling them); the cases' ids."""
    freed = [
        row[0]
        for row in session.execute(
            sa.update(Case)
            .where(Case.claimed_by == user.id, Case.status == "open")
            .values(claimed_by=None, lease_until=None)
            .returning(Case.id)
            .execution_options(synchronize_session=False)
        )
    ]
    for case_id in sorted(freed):
        audit.record(
            session,
            actor=f"user:{by.name}",
            action="case.released",
            subject=f"case:{case_id}",
            held_by=user.name,
        )
    return sorted(freed)


def reassign(
    session: Session, case_id: int, to: User, by: User, *, now: datetime | None = None
) -> Claim:
    """A supervisor hands an open case to another analyst (or takes it), whoever held it."""
    if to.disabled:
        raise ClaimError(f"user {to.name} is disabled")
    now = now or utcnow()
    until = now + timedelta(seconds=get_settings().claim_lease_s)
    done = _one(
        session,
        sa.update(Case)
        .where(Case.id == case_id, Case.status == "open")
        .values(claimed_by=to.id, lease_until=until),
    )
    if not done:
        raise ClaimError(f"case {case_id} is not open")
    audit.record(
        session,
        actor=f"user:{by.name}",
        action="case.reassigned",
        subject=f"case:{case_id}",
        to=to.name,
    )
    return Claim(case_id, to.id, until)


def _one(session: Session, update: sa.Update) -> bool:
    """Run an UPDATE of one case; whether it matched."""
    found = session.execute(
        update.returning(Case.id).execution_options(synchronize_session=False)
    ).first()
    return found is not None
