"""The case page's takedown forms: edit a drafted notice, send it, draft one to another party,
record a provider's reply (analysts and up; each form checks its CSRF token first and goes back
to the case page, or shows the page again with the error); and the time-to-takedown page with
its CSV export (supervisors)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Form, HTTPException, Request, status
from fastapi.responses import HTMLResponse, Response

from triage_api import notices, takedown_stats
from triage_api.api.deps import SessionDep
from triage_api.api.routes.ui import CsrfField, _case, _page, _poster, _supervisor, _to
from triage_api.models import Notice, Takedown, User
from triage_api.tasks import send_later

router = APIRouter(prefix="/ui", include_in_schema=False)


@router.post("/notices/{notice_id}")
def edit_notice(
    notice_id: int,
    request: Request,
    session: SessionDep,
    form_csrf: CsrfField = "",
    recipient: Annotated[str, Form(max_length=320)] = "",
    subject: Annotated[str, Form(max_length=notices.MAX_SUBJECT)] = "",
    body: Annotated[str, Form(max_length=notices.MAX_BODY)] = "",
    send: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Save the draft; with `send`, queue it too (the sender runs after the commit)."""
    user, case_id = _sender(request, session, form_csrf, notice_id)
    try:
        notices.edit(
            session,
            notice_id,
            actor=f"user:{user.name}",
            recipient=recipient,
            subject=subject or None,
            body=body or None,
        )
        if send:
            notices.queue(session, notice_id, actor=f"user:{user.name}")
    except notices.NoticeError as exc:
        session.rollback()
        return _case(request, session, user, case_id, error=str(exc), status_code=_code(exc))
    session.commit()
    if send:
        send_later(notice_id)
    return _to(f"/ui/cases/{case_id}#takedown")


@router.post("/notices/{notice_id}/replies")
def record_reply(
    notice_id: int,
    request: Request,
    session: SessionDep,
    form_csrf: CsrfField = "",
    text: Annotated[str, Form(max_length=notices.MAX_BODY)] = "",
    sender: Annotated[str, Form(max_length=320)] = "",
    received_at: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    user, case_id = _sender(request, session, form_csrf, notice_id)
    try:
        when = datetime.fromisoformat(received_at) if received_at.strip() else None
        if when is not None and when.tzinfo is None:
            raise notices.NoticeInvalid(
                "give the reply's time with its zone, e.g. 2026-11-29T10:00+05:00"
            )
        notices.record_reply(
            session,
            notice_id,
            text=text,
            sender=sender,
            received_at=when,
            user_id=user.id,
            actor=f"user:{user.name}",
        )
    except ValueError as exc:
        session.rollback()
        code = _code(exc) if isinstance(exc, notices.NoticeError) else 422
        return _case(request, session, user, case_id, error=str(exc), status_code=code)
    session.commit()
    return _to(f"/ui/cases/{case_id}#takedown")


@router.post("/cases/{case_id}/notices")
def draft_notice(
    case_id: int,
    request: Request,
    session: SessionDep,
    form_csrf: CsrfField = "",
    party: Annotated[str, Form(max_length=20)] = "hosting",
    language: Annotated[str, Form(max_length=2)] = "",
) -> Response:
    user = _poster(request, session, form_csrf)
    if user is None:
        return _to("/ui/login")
    takedown = session.scalar(
        sa.select(Takedown).where(Takedown.case_id == case_id, Takedown.state == "open")
    )
    if takedown is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"case {case_id} has no open takedown")
    try:
        notices.draft(session, takedown, party=party, created_by=user.id, language=language or None)
    except notices.NoticeError as exc:
        session.rollback()
        return _case(request, session, user, case_id, error=str(exc), status_code=_code(exc))
    session.commit()
    return _to(f"/ui/cases/{case_id}#takedown")


@router.get("/takedowns", response_class=HTMLResponse)
def takedowns_page(request: Request, session: SessionDep) -> Response:
    user = _supervisor(request, session)
    if isinstance(user, Response):
        return user
    context = {"user": user, "figures": takedown_stats.figures(session)}
    return _page(request, "takedowns.html", context, session=session)


@router.get("/takedowns.csv")
def takedowns_csv(request: Request, session: SessionDep) -> Response:
    user = _supervisor(request, session)
    if isinstance(user, Response):
        return user
    return Response(
        takedown_stats.csv_export(session),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="takedowns.csv"'},
    )


def _sender(
    request: Request, session: SessionDep, form_csrf: str, notice_id: int
) -> tuple[User, int]:
    """The signed-in staff member and the notice's case (404 for an unknown notice)."""
    user = _poster(request, session, form_csrf)
    if user is None:
        raise HTTPException(status.HTTP_303_SEE_OTHER, headers={"Location": "/ui/login"})
    case_id = session.scalar(sa.select(Notice.case_id).where(Notice.id == notice_id))
    if case_id is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"notice {notice_id} does not exist")
    return user, case_id


def _code(exc: notices.NoticeError) -> int:
    if isinstance(exc, notices.NoticeInvalid):
        return 422
    return 404 if isinstance(exc, notices.NoticeMissing) else 409
