"""Sweep reports for staff: recent sweeps with their figures, and one sweep with the cases it
opened (the same data as the report pages), for analysts and up; stopping a running sweep, for
supervisors."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Query, status

from triage_api.api.deps import CurrentAnalyst, CurrentSupervisor, SessionDep
from triage_api.models import User
from triage_api.sweep_stop import SweepNotRunning, stop
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


@router.post("/sweeps/{sweep_id}/stop")
def stop_sweep(sweep_id: int, user: CurrentSupervisor) -> dict[str, Any]:
    """Ask the sweep's processes to stop (`stopping`, then `stopped` once the last has left);
    `hotline sweep join` carries it on later."""
    return {"id": sweep_id, "status": stop_answering(sweep_id, user)}


def stop_answering(sweep_id: int, user: User) -> str:
    """`sweep_stop.stop` by a signed-in supervisor, its refusals as HTTP answers (404, 409)."""
    try:
        return stop(sweep_id, actor=f"user:{user.name}")
    except LookupError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    except SweepNotRunning as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
