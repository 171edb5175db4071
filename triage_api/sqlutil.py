"""Small portable SQL helpers for the two engines."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def insert_ignore(session: Session, model: Any, rows: list[dict[str, Any]]) -> None:
    """INSERT ... ON CONFLICT DO NOTHING, so writes keyed by natural ids can run twice."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(insert(model).values(rows).on_conflict_do_nothing())


def advance_stage(
    session: Session, model: Any, case_id: int, *, from_stage: str, **values: Any
) -> bool:
    """Compare-and-set a case's stage: only one of two racing jobs wins."""
    result = session.execute(
        sa.update(model)
        .where(model.id == case_id, model.stage == from_stage)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))
