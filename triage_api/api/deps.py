"""Request dependencies: a database session, the client's identity, the authenticated staff user."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from sqlalchemy.orm import Session

from triage_api.api import csrf
from triage_api.config import get_settings
from triage_api.db import session_factory
from triage_api.models import User
from triage_api.security import has_role, user_for_token

SESSION_COOKIE = "hotline_session"


def get_session() -> Iterator[Session]:
    session = session_factory()()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


# scope="function": commit before the response is sent, so a client that follows a redirect or
# sends its next request at once (a browser after signing in) already sees what this one wrote.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def client_address(request: Request) -> str:
    if get_settings().trust_forwarded_for:
        forwarded = request.headers.get("x-forwarded-for", "")
        if forwarded:
            return forwarded.split(",")[0].strip()[:64]
    return request.client.host if request.client else "unknown"


def _token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        csrf.check_cookie_request(request)  # a browser's cookie could be sent by another site
    return cookie


def current_user(request: Request, session: SessionDep) -> User:
    token = _token(request)
    user = user_for_token(session, token) if token else None
    if user is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "a valid API token is required (Authorization: Bearer <token>)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return user


def require(role: str) -> Callable[[User], User]:
    def check(user: Annotated[User, Depends(current_user)]) -> User:
        if not has_role(user, role):
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"this needs the {role} role or higher")
        return user

    return check


CurrentAnalyst = Annotated[User, Depends(require("analyst"))]
CurrentSupervisor = Annotated[User, Depends(require("supervisor"))]
CurrentAdmin = Annotated[User, Depends(require("admin"))]
