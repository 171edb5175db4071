"""A case's takedown as plain data for the API and the case page: state, notices with their
replies, and every recheck with its outcome and evidence."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from triage_api.models import Notice, NoticeReply, Recheck, Takedown


def takedown_detail(session: Session, case_id: int) -> dict[str, Any] | None:
    takedown = session.scalar(sa.select(Takedown).where(Takedown.case_id == case_id))
    if takedown is None:
        return None
    notices = session.scalars(
        sa.select(Notice).where(Notice.case_id == case_id).order_by(Notice.id)
    ).all()
    replies: dict[int, list[dict[str, Any]]] = {}
    for reply in session.scalars(
        sa.select(NoticeReply)
        .where(NoticeReply.notice_id.in_([n.id for n in notices]))
        .order_by(NoticeReply.id)
    ):
        replies.setdefault(reply.notice_id, []).append(
            {"received_at": _iso(reply.received_at), "sender": reply.sender, "text": reply.text}
        )
    checks = session.scalars(
        sa.select(Recheck).where(Recheck.takedown_id == takedown.id).order_by(Recheck.id)
    ).all()
    return {
        "state": takedown.state,
        "category": takedown.category,
        "jurisdiction": takedown.jurisdiction,
        "provider": takedown.provider,
        "confirmed_at": _iso(takedown.confirmed_at),
        "first_notice_at": _iso(takedown.first_notice_at),
        "last_notice_at": _iso(takedown.last_notice_at),
        "removed_at": _iso(takedown.removed_at),
        "hours_to_removal": round(
            (
                takedown.removed_at - (takedown.first_notice_at or takedown.confirmed_at)
            ).total_seconds()
            / 3600,
            2,
        )
        if takedown.removed_at
        else None,
        "escalation_level": takedown.escalation_level,
        "needs_supervisor": takedown.needs_supervisor,
        "next_check_at": _iso(takedown.next_check_at),
        "last_outcome": takedown.last_outcome,
        "notices": [
            {
                "id": n.id,
                "party": n.party,
                "reason": n.reason,
                "recipient": n.recipient,
                "language": n.language,
                "subject": n.subject,
                "body": n.body,
                "status": n.status,
                "message_id": n.message_id,
                "attempts": n.attempts,
                "last_error": n.last_error,
                "created_at": _iso(n.created_at),
                "sent_at": _iso(n.sent_at),
                "replies": replies.get(n.id, []),
            }
            for n in notices
        ],
        "rechecks": [
            {
                "due_at": _iso(c.due_at),
                "finished_at": _iso(c.finished_at),
                "mode": c.mode,
                "outcome": c.outcome,
                "http_status": c.http_status,
                "reason": (c.detail or {}).get("reason"),
                "capture_id": c.capture_id,
            }
            for c in checks
        ],
    }


def _iso(moment: Any) -> str | None:
    return moment.isoformat() if moment is not None else None
