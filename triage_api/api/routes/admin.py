"""Administration endpoints (admins only)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter

from triage_api.api.deps import CurrentAdmin, CurrentSupervisor, SessionDep
from triage_api.hashlists import lists_with_counts
from triage_api.models import User

router = APIRouter(tags=["administration"])


@router.get("/users")
def list_users(session: SessionDep, admin: CurrentAdmin) -> list[dict[str, Any]]:
    users = session.scalars(sa.select(User).order_by(User.id))
    return [
        {
            "id": u.id,
            "name": u.name,
            "role": u.role,
            "disabled": u.disabled,
            "created_at": u.created_at.isoformat(),
        }
        for u in users
    ]


@router.get("/hashlists")
def list_hashlists(session: SessionDep, supervisor: CurrentSupervisor) -> list[dict[str, Any]]:
    return [
        {
            "name": h.name,
            "category": h.category,
            "source": h.source,
            "trust": h.trust,
            "hashes": count,
        }
        for h, count in lists_with_counts(session)
    ]
