"""Following a confirmed case to its removal: the takedown record, its recheck schedule and its
escalation. Times are parameters (`now`), so tests drive the clock.

A takedown opens when a case is decided illegal (or forwarded abroad, where rechecks still show
when the content went). A Kaznet case gets a notice to its hosting provider drafted at once (sent
by an analyst, or automatically for the band in `notice_auto_send_band`). Rechecks run
`recheck_after_h` after the first notice (after the confirmation while no notice went out), then
every `recheck_every_h`, until a recheck says `removed`. Content still online gets the notice
again every `takedown_resend_after_h`, and after each of `takedown_escalate_after_h` a notice to
the next party (registrar, upstream network, police) and a flag for a supervisor.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from triage_api import audit, notices, reporter_updates
from triage_api.config import Settings, get_settings
from triage_api.models import Capture, Case, Decision, Notice, Recheck, Takedown, utcnow
from triage_api.scoring import BANDS
from triage_api.sqlutil import upsert_for

STILL_THERE = ("still_online", "changed", "soft_404", "error")  # outcomes that keep it open
PENDING = ("draft", "queued", "sending")


def start(
    session: Session, case: Case, decision: Decision, now: datetime | None = None
) -> Takedown:
    """Open (or reopen) the case's takedown and draft its first notice where one is due."""
    now = now or utcnow()
    settings = get_settings()
    takedown = session.scalar(
        sa.select(Takedown).where(Takedown.case_id == case.id).with_for_update()
    )
    capture = session.get(Capture, case.last_capture_id) if case.last_capture_id else None
    provider = ((capture.enrichment if capture else None) or {}).get("hosting_provider")
    if takedown is None:
        takedown = Takedown(case_id=case.id, confirmed_at=now)
        session.add(takedown)
    elif takedown.state in ("open", "removed"):  # already followed, or already gone
        takedown.category = decision.category or takedown.category
        return takedown
    takedown.state, takedown.confirmed_at = "open", now
    takedown.category = decision.category
    takedown.jurisdiction, takedown.country = case.jurisdiction, case.country
    takedown.provider = str(provider)[:200] if provider else None
    takedown.first_notice_at = takedown.last_notice_at = takedown.removed_at = None
    takedown.escalation_level, takedown.needs_supervisor = 0, False
    takedown.schedule_step, takedown.unreachable, takedown.last_outcome = 0, 0, None
    takedown.next_check_at = now + timedelta(hours=settings.recheck_after_h[0])
    session.flush()
    if decision.outcome == "illegal" and case.jurisdiction == "kaznet":
        notice = notices.draft(session, takedown, party="hosting", now=now)
        band = BANDS.get(case.band)
        if (
            settings.notice_auto_send_band
            and band == settings.notice_auto_send_band
            and notice.recipient
        ):
            notices.queue(session, notice.id, actor="system:auto-send", now=now)
    audit.record(
        session,
        actor="system:takedowns",
        action="takedown.opened",
        subject=f"case:{case.id}",
        jurisdiction=case.jurisdiction,
    )
    return takedown


def close(session: Session, case_id: int, *, actor: str, why: str) -> None:
    """A revision that un-confirms the case ends its takedown; unsent notices are cancelled."""
    takedown = session.scalar(
        sa.select(Takedown).where(Takedown.case_id == case_id).with_for_update()
    )
    if takedown is None or takedown.state != "open":
        return
    takedown.state, takedown.next_check_at, takedown.check_lease_until = "closed", None, None
    _cancel_pending(session, takedown.id)
    audit.record(session, actor=actor, action="takedown.closed", subject=f"case:{case_id}", why=why)


def next_due(takedown: Takedown, settings: Settings, now: datetime) -> datetime:
    """When the next recheck is due after one that has just run."""
    anchor = takedown.first_notice_at or takedown.confirmed_at
    steps = settings.recheck_after_h
    if takedown.schedule_step < len(steps):
        due = anchor + timedelta(hours=steps[takedown.schedule_step])
        if due > now:
            return due
    return now + timedelta(hours=settings.recheck_every_h)


def claim_due(
    session: Session, now: datetime, limit: int, lease_s: int
) -> list[tuple[int, datetime]]:
    """Due rechecks, each taken with a lease so no other scheduler hands it out meanwhile:
    (takedown id, due time). A lease that expires (a worker lost) makes it due again."""
    free = sa.or_(Takedown.check_lease_until.is_(None), Takedown.check_lease_until < now)
    rows = session.execute(
        sa.select(Takedown.id, Takedown.next_check_at)
        .where(Takedown.state == "open", Takedown.next_check_at <= now, free)
        .order_by(Takedown.next_check_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    if rows:
        session.execute(
            sa.update(Takedown)
            .where(Takedown.id.in_([row.id for row in rows]))
            .values(check_lease_until=now + timedelta(seconds=lease_s))
            .execution_options(synchronize_session=False)
        )
    return [(row.id, row.next_check_at) for row in rows]


def record_recheck(
    session: Session,
    takedown_id: int,
    *,
    due_at: datetime,
    started_at: datetime,
    finished_at: datetime,
    mode: str,
    outcome: str,
    reason: str,
    unreachable: bool,
    http_status: int | None,
    capture_id: int | None,
    now: datetime | None = None,
) -> bool:
    """Keep the recheck and move the takedown on; False when this due time was recorded already
    (a recheck run twice after a lost worker adds nothing the second time)."""
    now = now or finished_at
    inserted = session.execute(
        upsert_for(session)(Recheck)
        .values(
            takedown_id=takedown_id,
            due_at=due_at,
            started_at=started_at,
            finished_at=finished_at,
            mode=mode,
            outcome=outcome,
            http_status=http_status,
            detail={"reason": reason},
            capture_id=capture_id,
        )
        .on_conflict_do_nothing()
    )
    if not getattr(inserted, "rowcount", 0):
        return False
    takedown = session.get(Takedown, takedown_id, with_for_update=True)
    assert takedown is not None
    takedown.checks += 1
    takedown.last_outcome, takedown.last_checked_at = outcome, finished_at
    takedown.unreachable = takedown.unreachable + 1 if unreachable else 0
    takedown.check_lease_until = None
    if outcome == "removed":
        takedown.state, takedown.removed_at, takedown.next_check_at = "removed", finished_at, None
        _cancel_pending(session, takedown.id)
        reporter_updates.queue_for_case(session, takedown.case_id, "removed", finished_at)
        audit.record(
            session,
            actor="system:rechecks",
            action="takedown.removed",
            subject=f"case:{takedown.case_id}",
            reason=reason,
        )
    elif takedown.state == "open":
        takedown.schedule_step += 1
        takedown.next_check_at = next_due(takedown, get_settings(), now)
        if outcome in ("changed", "soft_404"):
            takedown.needs_supervisor = True
    return True


def escalate_due(session: Session, now: datetime) -> list[int]:
    """Re-send notices that went unanswered and escalate the takedowns past their deadlines;
    the notices queued (to be sent by the tick)."""
    settings = get_settings()
    queued: list[int] = []
    open_ones = session.scalars(
        sa.select(Takedown)
        .where(
            Takedown.state == "open",
            Takedown.first_notice_at.is_not(None),
            sa.or_(Takedown.last_outcome.is_(None), Takedown.last_outcome.in_(STILL_THERE)),
        )
        .with_for_update(skip_locked=True)
    ).all()
    for takedown in open_ones:
        if _pending(session, takedown.id):
            continue  # one notice in flight at a time
        assert takedown.first_notice_at is not None and takedown.last_notice_at is not None
        online_h = (now - takedown.first_notice_at).total_seconds() / 3600
        level = sum(1 for hours in settings.takedown_escalate_after_h if online_h >= hours)
        level = min(level, len(notices.PARTIES) - 1)
        if level > takedown.escalation_level:
            takedown.escalation_level, takedown.needs_supervisor = level, True
            party = notices.PARTIES[level]
            notice = notices.draft(session, takedown, party=party, reason="escalation", now=now)
            audit.record(
                session,
                actor="system:escalation",
                action="takedown.escalated",
                subject=f"case:{takedown.case_id}",
                party=party,
                hours_online=round(online_h, 1),
            )
        elif now - takedown.last_notice_at >= timedelta(hours=settings.takedown_resend_after_h):
            party = notices.PARTIES[takedown.escalation_level]
            notice = notices.draft(session, takedown, party=party, reason="resend", now=now)
        else:
            continue
        if notice.recipient:
            notices.queue(session, notice.id, actor="system:escalation", now=now)
            queued.append(notice.id)
        else:
            takedown.needs_supervisor = True  # nobody to write to: a supervisor must
    return queued


def _pending(session: Session, takedown_id: int) -> bool:
    return (
        session.scalar(
            sa.select(sa.func.count())
            .select_from(Notice)
            .where(
                Notice.takedown_id == takedown_id,
                Notice.status.in_(PENDING),  # a draft nobody could address waits for a person
            )
        )
        or 0
    ) > 0


def _cancel_pending(session: Session, takedown_id: int) -> None:
    session.execute(
        sa.update(Notice)
        .where(Notice.takedown_id == takedown_id, Notice.status.in_(("draft", "queued")))
        .values(status="cancelled")
        .execution_options(synchronize_session=False)
    )
