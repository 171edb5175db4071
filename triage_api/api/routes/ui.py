"""The analysts' pages: sign in with a token, the ranked queue, one case with blurred evidence."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from triage_api import audit
from triage_api.api.deps import SESSION_COOKIE, SessionDep, current_user
from triage_api.case_view import case_detail
from triage_api.models import User
from triage_api.queue import ranked_cases
from triage_api.security import has_role, user_for_token

router = APIRouter(prefix="/ui", include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent.parent.parent / "templates")


def _staff(request: Request, session: SessionDep) -> User | None:
    try:
        user = current_user(request, session)
    except HTTPException:
        return None
    return user if has_role(user, "analyst") else None


def _to_login() -> RedirectResponse:
    return RedirectResponse("/ui/login", status_code=status.HTTP_303_SEE_OTHER)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request) -> Response:
    return templates.TemplateResponse(request, "login.html", {"error": None})


@router.post("/login")
def login(
    request: Request, session: SessionDep, token: Annotated[str, Form(max_length=200)]
) -> Response:
    user = user_for_token(session, token.strip())
    if user is None or not has_role(user, "analyst"):
        return templates.TemplateResponse(
            request, "login.html", {"error": "That token is not valid."}, status_code=401
        )
    audit.record(session, actor=f"user:{user.name}", action="ui.login")
    response = RedirectResponse("/ui/queue", status_code=status.HTTP_303_SEE_OTHER)
    response.set_cookie(
        SESSION_COOKIE,
        token.strip(),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        max_age=12 * 3600,
        path="/",
    )
    return response


@router.post("/logout")
def logout() -> Response:
    response = _to_login()
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/queue", response_class=HTMLResponse)
def queue_page(request: Request, session: SessionDep) -> Response:
    user = _staff(request, session)
    if user is None:
        return _to_login()
    items = ranked_cases(session, limit=200)
    return templates.TemplateResponse(request, "queue.html", {"user": user, "items": items})


@router.get("/cases/{case_id}", response_class=HTMLResponse)
def case_page(case_id: int, request: Request, session: SessionDep) -> Response:
    user = _staff(request, session)
    if user is None:
        return _to_login()
    detail = case_detail(session, case_id)
    if detail is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no case {case_id}")
    audit.record(
        session, actor=f"user:{user.name}", action="case.viewed", subject=f"case:{case_id}"
    )
    return templates.TemplateResponse(request, "case.html", {"user": user, "case": detail})
