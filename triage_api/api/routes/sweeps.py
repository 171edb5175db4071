"""Sweep reports for staff: recent sweeps with their figures, and one sweep with the cases it
opened (the same data as the report pages). Analysts and up."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Query, status

from triage_api.api.deps import CurrentAnalyst, SessionDep
from triage_api.sweep_view import MAX_LIMIT, recent_sweeps, sweep_detail

router = APIRouter(tags=["sweeps"])


@router.get("/sweeps")
def list_sweeps(
    session: SessionDep, user: CurrentAnalyst, limit: int = Query(20, ge=1, le=MAX_LIMIT)
) -> dict[str, Any]:
    return {"items": recent_sweeps(session, limit=limit), "limit": limit}


@router.get("/sweeps/{sweep_id}")
def get_sweep(sweep_id: int, session: SessionDep, user: CurrentAnalyst) -> dict[str, Any]:
    found = sweep_detail(session, sweep_id)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"sweep {sweep_id} does not exist")
    return found
