"""Small portable SQL helpers for the two engines."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def table_of(model: Any) -> sa.Table:
    """A mapped class's table, for Core statements that skip the ORM's per-row bookkeeping."""
    return cast(sa.Table, model.__table__)


def upsert_for(session: Session) -> Callable[[Any], Any]:
    """The dialect's `insert` that knows ON CONFLICT (the same syntax on both engines)."""
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def insert_ignore(session: Session, model: Any, rows: list[dict[str, Any]]) -> None:
    """INSERT ... ON CONFLICT DO NOTHING, so writes keyed by natural ids can run twice."""
    if not rows:
        return
    session.execute(upsert_for(session)(model).values(rows).on_conflict_do_nothing())


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
