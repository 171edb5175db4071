"""The append-only audit log: who did what to which record, and when."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from triage_api.models import AuditEntry
from triage_api.sqlutil import table_of


def record(
    session: Session, *, actor: str, action: str, subject: str | None = None, **details: Any
) -> None:
    """Append one entry in the caller's transaction (a plain INSERT: no ORM object to flush)."""
    session.connection().execute(
        _APPEND, {"actor": actor, "action": action, "subject": subject, "details": details}
    )


_APPEND = sa.insert(table_of(AuditEntry))
