"""The append-only audit log: who did what to which record, and when."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from triage_api.models import AuditEntry


def record(
    session: Session, *, actor: str, action: str, subject: str | None = None, **details: Any
) -> None:
    session.add(AuditEntry(actor=actor, action=action, subject=subject, details=details))
