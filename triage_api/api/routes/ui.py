"""The analysts' pages: sign in, the ranked queue, claim the next case, review it with blurred
evidence, decide it (keyboard shortcuts in `static/app.js`) and move on to the next one. The
supervisor page and its forms are in `supervise.py`, which shares the helpers here.

Every form carries the CSRF token (`triage_api/api/csrf.py`); every POST checks it first.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from triage_api import audit, claims, decisions, i18n, statistics, wellbeing
from triage_api.api import csrf
from triage_api.api.deps import SESSION_COOKIE, SessionDep, client_address
from triage_api.case_view import case_detail
from triage_api.config import get_settings
from triage_api.decisions import DecisionError
from triage_api.models import Case, User
from triage_api.queue import ranked_cases
from triage_api.ratelimit import RateLimiter, limiter_for
from triage_api.scoring import BANDS
from triage_api.security import (
    SESSION_HOURS,
    check_password,
    close_browser_session,
    has_role,
    open_browser_session,
    user_for_token,
)
from triage_api.tasks import enqueue
from triage_api.taxonomy import taxonomy

router = APIRouter(prefix="/ui", include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent.parent.parent / "templates")

CsrfField = Annotated[str, Form(alias=csrf.CSRF_FIELD, max_length=100)]


def _staff(request: Request, session: SessionDep) -> User | None:
    """The signed-in analyst (or higher) from the session cookie, else None."""
    token = request.cookies.get(SESSION_COOKIE)
    user = user_for_token(session, token) if token else None
    return user if user is not None and has_role(user, "analyst") else None


def _to(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=status.HTTP_303_SEE_OTHER)


def _page(
    request: Request,
    name: str,
    context: dict[str, Any],
    status_code: int = 200,
    session: Session | None = None,
) -> Response:
    """A template with the CSRF token its forms carry (set as a cookie when new)."""
    token = csrf.csrf_token(request)
    user = context.get("user")
    seen = wellbeing.exposure(session, user.id) if user is not None and session else None
    asked = request.query_params.get("lang")
    language = i18n.choose(
        asked, request.cookies.get(i18n.LANG_COOKIE), request.headers.get("accept-language", "")
    )
    extra = {
        "csrf": token,
        "exposure": seen,
        "lang": language,
        "languages": i18n.LANGUAGES,
        "_": i18n.translator(language),
    }
    response = templates.TemplateResponse(
        request, name, {**context, **extra}, status_code=status_code
    )
    csrf.remember(request, response, token)
    if asked in i18n.LANGUAGES:
        response.set_cookie(
            i18n.LANG_COOKIE, language, samesite="strict", max_age=365 * 86400, path="/"
        )
    return response


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request) -> Response:
    return _page(request, "login.html", {"error": None})


_login_limiter: RateLimiter | None = None


def login_limiter() -> RateLimiter:
    """Sign-in attempts per user name and per address (shared through Redis when configured)."""
    global _login_limiter
    if _login_limiter is None:
        settings = get_settings()
        _login_limiter = limiter_for(
            settings.rate_limit_url, settings.login_attempts, settings.login_window_s
        )
    return _login_limiter


@router.post("/login")
def login(
    request: Request,
    session: SessionDep,
    form_csrf: CsrfField = "",
    name: Annotated[str, Form(max_length=120)] = "",
    password: Annotated[str, Form(max_length=200)] = "",
    token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Sign in with name and password (argon2id), or with an API token; either way the cookie
    gets a sign-in token of its own that expires and is revoked at sign-out."""
    csrf.check(request, form_csrf)
    limiter = login_limiter()
    address = client_address(request)
    keys = [f"login:addr:{address}"] + ([f"login:user:{name.strip().casefold()}"] if name else [])
    if any(limiter.spent(key) for key in keys):  # only failed attempts count
        return _page(
            request, "login.html", {"error": "Too many attempts; wait a few minutes."}, 429
        )
    if token.strip():
        user = user_for_token(session, token.strip())
    else:
        user = check_password(session, name, password)
    if user is None or not has_role(user, "analyst"):
        for key in keys:
            limiter.allow(key)
        audit.record(session, actor=f"addr:{address}", action="ui.login_failed", name=name[:120])
        return _page(request, "login.html", {"error": "Those credentials are not valid."}, 401)
    audit.record(session, actor=f"user:{user.name}", action="ui.login")
    response = _to("/ui/queue")
    response.set_cookie(
        SESSION_COOKIE,
        open_browser_session(session, user),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        max_age=SESSION_HOURS * 3600,
        path="/",
    )
    return response


@router.post("/logout")
def logout(request: Request, session: SessionDep, form_csrf: CsrfField = "") -> Response:
    csrf.check(request, form_csrf)
    close_browser_session(session, request.cookies.get(SESSION_COOKIE, ""))
    response = _to("/ui/login")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/queue", response_class=HTMLResponse)
def queue_page(request: Request, session: SessionDep, empty: int = 0) -> Response:
    user = _staff(request, session)
    if user is None:
        return _to("/ui/login")
    items = ranked_cases(session, limit=200)
    context = {
        "user": user,
        "items": items,
        "bands": list(BANDS.values()),
        "categories": taxonomy().categories,
        "empty": bool(empty),
    }
    if has_role(user, "supervisor"):
        context["exposure_by_analyst"] = wellbeing.exposure_by_analyst(session)
    return _page(request, "queue.html", context, session=session)


@router.post("/claim")
def claim_next(
    request: Request,
    session: SessionDep,
    form_csrf: CsrfField = "",
    category: Annotated[str, Form(max_length=40)] = "",
    band: Annotated[str, Form(max_length=20)] = "",
    jurisdiction: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    user = _poster(request, session, form_csrf)
    if user is None:
        return _to("/ui/login")
    wanted = claims.QueueFilter(
        category=category or None, band=band or None, jurisdiction=jurisdiction or None
    )
    try:
        return _next_case(session, user, wanted)
    except claims.ClaimError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None


@router.get("/cases/{case_id}", response_class=HTMLResponse)
def case_page(case_id: int, request: Request, session: SessionDep) -> Response:
    user = _staff(request, session)
    if user is None:
        return _to("/ui/login")
    return _case(request, session, user, case_id, error=None)


def _case(
    request: Request,
    session: SessionDep,
    user: User,
    case_id: int,
    *,
    error: str | None,
    status_code: int = 200,
) -> Response:
    detail = case_detail(session, case_id)
    if detail is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no case {case_id}")
    audit.record(
        session, actor=f"user:{user.name}", action="case.viewed", subject=f"case:{case_id}"
    )
    held_by = claims.holder(session, case_id)
    context = {
        "user": user,
        "case": detail,
        "mine": held_by == user.id,
        "may_decide": detail["status"] == "open"
        and (held_by == user.id or has_role(user, "supervisor")),
        "may_revise": detail["status"] == "decided" and has_role(user, "supervisor"),
        "categories": taxonomy().categories,
        "error": error,
    }
    return _page(request, "case.html", context, status_code, session=session)


@router.post("/cases/{case_id}/decision")
def decide(
    case_id: int,
    request: Request,
    session: SessionDep,
    outcome: Annotated[str, Form(max_length=20)],
    form_csrf: CsrfField = "",
    category: Annotated[str, Form(max_length=40)] = "",
    legal_basis: Annotated[str, Form(max_length=2000)] = "",
    duplicate_of: Annotated[str, Form(max_length=12)] = "",
    note: Annotated[str, Form(max_length=4000)] = "",
    media: Annotated[list[str] | None, Form(max_length=200)] = None,
) -> Response:
    """Record the decision, then go straight to the next case (the queue when none waits)."""
    user = _poster(request, session, form_csrf)
    if user is None:
        return _to("/ui/login")
    try:
        allowed = claims.may_decide(session, case_id, user)
    except claims.ClaimError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    if not allowed:
        return _case(
            request,
            session,
            user,
            case_id,
            error="Claim the case before deciding it.",
            status_code=409,
        )
    try:
        decisions.decide(
            session,
            case_id=case_id,
            user_id=user.id,
            actor=f"user:{user.name}",
            **_decision_fields(outcome, category, legal_basis, duplicate_of, note, media),
        )
    except DecisionError as exc:
        session.rollback()
        return _case(request, session, user, case_id, error=str(exc), status_code=422)
    session.commit()
    return _next_case(session, user)


@router.post("/cases/{case_id}/revision")
def revise(
    case_id: int,
    request: Request,
    session: SessionDep,
    outcome: Annotated[str, Form(max_length=20)],
    reason: Annotated[str, Form(max_length=decisions.MAX_REASON)] = "",
    form_csrf: CsrfField = "",
    category: Annotated[str, Form(max_length=40)] = "",
    legal_basis: Annotated[str, Form(max_length=2000)] = "",
    duplicate_of: Annotated[str, Form(max_length=12)] = "",
    note: Annotated[str, Form(max_length=4000)] = "",
    media: Annotated[list[str] | None, Form(max_length=200)] = None,
) -> Response:
    """A supervisor's revision of the decision in force, with the reason; back to the case."""
    user = _poster(request, session, form_csrf)
    if user is None:
        return _to("/ui/login")
    if not has_role(user, "supervisor"):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "only a supervisor revises a decision")
    try:
        revision = decisions.revise_decision(
            session,
            case_id=case_id,
            user_id=user.id,
            actor=f"user:{user.name}",
            reason=reason,
            **_decision_fields(outcome, category, legal_basis, duplicate_of, note, media),
        )
    except DecisionError as exc:
        session.rollback()
        if session.get(Case, case_id) is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no case {case_id}") from None
        return _case(request, session, user, case_id, error=str(exc), status_code=422)
    session.commit()
    for other in revision.rescore:
        enqueue("score", other)
    return _to(f"/ui/cases/{case_id}")


def _decision_fields(
    outcome: str,
    category: str,
    legal_basis: str,
    duplicate_of: str,
    note: str,
    media: list[str] | None,
) -> dict[str, Any]:
    """A decision form's fields as `decisions.decide` takes them; DecisionError when malformed."""
    if duplicate_of and not duplicate_of.strip().isdigit():
        raise DecisionError("“duplicate of” is a case number")
    illegal = outcome == "illegal"
    return {
        "outcome": outcome,
        "category": (category or None) if illegal else None,
        "legal_basis": (legal_basis or None) if illegal else None,
        "duplicate_of": int(duplicate_of) if duplicate_of.strip() else None,
        "note": note or None,
        "media": _media_verdicts(media or []) if illegal else [],
    }


def _media_verdicts(values: list[str]) -> list[decisions.MediaVerdict]:
    """Per-picture selects send `sha256|follow`, `sha256|not_illegal` or `sha256|illegal:drugs`;
    a picture that follows the case needs no verdict of its own."""
    verdicts = []
    for value in values:
        sha, _, verdict = value.partition("|")
        if verdict == "follow":
            continue
        outcome, _, category = verdict.partition(":")
        if outcome not in decisions.LISTED or len(sha) != 64:
            raise DecisionError(f"a picture's verdict is malformed: {value[:80]!r}")
        verdicts.append(decisions.MediaVerdict(sha, outcome, category or None))
    return verdicts


def _next_case(
    session: SessionDep, user: User, wanted: claims.QueueFilter | None = None
) -> Response:
    """Claim the next case and open it; the queue, saying so, when none is free."""
    found = claims.claim_next(session, user, wanted)
    return _to(f"/ui/cases/{found.case_id}" if found else "/ui/queue?empty=1")


def _poster(request: Request, session: SessionDep, form_csrf: str) -> User | None:
    """A form's sender: its CSRF token checked first (403), then the signed-in staff member."""
    csrf.check(request, form_csrf)
    return _staff(request, session)


@router.post("/cases/{case_id}/release")
def release(
    case_id: int, request: Request, session: SessionDep, form_csrf: CsrfField = ""
) -> Response:
    user = _poster(request, session, form_csrf)
    if user is None:
        return _to("/ui/login")
    try:
        claims.release(session, case_id, user)
    except claims.ClaimError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    return _to("/ui/queue")


def _supervisor(request: Request, session: SessionDep) -> User | Response:
    """The signed-in supervisor (or admin); analysts get 403, strangers the sign-in page."""
    user = _staff(request, session)
    if user is None:
        return _to("/ui/login")
    if not has_role(user, "supervisor"):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this page is for supervisors")
    return user


def _supervisor_poster(request: Request, session: SessionDep, form_csrf: str) -> User | Response:
    """A supervisor's form: its CSRF token checked first (403), then `_supervisor`."""
    csrf.check(request, form_csrf)
    return _supervisor(request, session)


@router.get("/stats", response_class=HTMLResponse)
def stats_page(request: Request, session: SessionDep) -> Response:
    user = _supervisor(request, session)
    if isinstance(user, Response):
        return user
    found = statistics.figures(session)
    context = {"user": user, "figures": found, "bars": found.stacked_bars()}
    return _page(request, "stats.html", context, session=session)
