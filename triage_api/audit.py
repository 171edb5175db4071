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
    """Append one entry in the caller's transaction (a plain INSERT: no ORM object to flush).
    Actor and subject are cut to their columns' 120 characters (`user:` and a 120-character
    name would not fit)."""
    session.connection().execute(
        _APPEND,
        {
            "actor": actor[:MAX_NAME],
            "action": action,
            "subject": None if subject is None else subject[:MAX_NAME],
            "details": details,
        },
    )


_APPEND = sa.insert(table_of(AuditEntry))
MAX_NAME = 120
