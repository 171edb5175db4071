"""The sweep report pages: recent sweeps, and one sweep's figures, seeds, options, skip reasons
and the cases it opened. Any signed-in staff member may read them; while a sweep runs its page
reloads itself (a meta refresh: the UI loads no script for this), and shows supervisors a button
that stops it."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import HTMLResponse, Response

from triage_api.api.deps import SessionDep
from triage_api.api.routes.sweeps import stop_answering
from triage_api.api.routes.ui import CsrfField, _page, _staff, _supervisor_poster, _to
from triage_api.security import has_role
from triage_api.sweep_stop import AT_WORK
from triage_api.sweep_view import recent_sweeps, sweep_detail

router = APIRouter(prefix="/ui", include_in_schema=False)
REFRESH_S = 5
LISTED = 50


@router.get("/sweeps", response_class=HTMLResponse)
def sweeps_page(request: Request, session: SessionDep) -> Response:
    user = _staff(request, session)
    if user is None:
        return _to("/ui/login")
    sweeps = recent_sweeps(session, limit=LISTED)
    refresh = REFRESH_S if any(s["status"] in AT_WORK for s in sweeps) else None
    context = {"user": user, "sweeps": sweeps, "refresh": refresh}
    return _page(request, "sweeps.html", context, session=session)


@router.get("/sweeps/{sweep_id}", response_class=HTMLResponse)
def sweep_page(sweep_id: int, request: Request, session: SessionDep) -> Response:
    user = _staff(request, session)
    if user is None:
        return _to("/ui/login")
    sweep = sweep_detail(session, sweep_id)
    if sweep is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no sweep {sweep_id}")
    refresh = REFRESH_S if sweep["status"] in AT_WORK else None
    stoppable = sweep["status"] == "running" and has_role(user, "supervisor")
    context = {"user": user, "sweep": sweep, "refresh": refresh, "stoppable": stoppable}
    return _page(request, "sweep.html", context, session=session)


@router.post("/sweeps/{sweep_id}/stop")
def stop_sweep(
    sweep_id: int, request: Request, session: SessionDep, form_csrf: CsrfField = ""
) -> Response:
    """The sweep page's stop button (supervisors): back to the page, which shows `stopping`."""
    user = _supervisor_poster(request, session, form_csrf)
    if isinstance(user, Response):
        return user
    stop_answering(sweep_id, user)
    return _to(f"/ui/sweeps/{sweep_id}")
