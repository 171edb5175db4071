"""Cross-site request forgery: every state-changing request a browser sends must prove it came
from our own page.

Double submit: a random token lives in a cookie (`SameSite=Strict`, readable by no other site)
and in every form we render; a POST whose form field (or, for API calls authenticated by the
session cookie, `X-CSRF-Token` header) does not equal the cookie is refused with 403. Requests
authenticated by an `Authorization` header cannot be forged by another site and need no token.
"""

from __future__ import annotations

import hmac
import secrets

from fastapi import HTTPException, Request, Response, status

CSRF_COOKIE = "hotline_csrf"
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def csrf_token(request: Request) -> str:
    """The browser's token, or a new one (`remember` sets it on the response)."""
    current = request.cookies.get(CSRF_COOKIE, "")
    return current if 20 <= len(current) <= 100 else secrets.token_urlsafe(32)


def remember(request: Request, response: Response, token: str) -> None:
    if request.cookies.get(CSRF_COOKIE) != token:
        response.set_cookie(
            CSRF_COOKIE,
            token,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            max_age=12 * 3600,
            path="/",
        )


def check(request: Request, submitted: str | None) -> None:
    """403 unless `submitted` equals the cookie's token."""
    expected = request.cookies.get(CSRF_COOKIE, "")
    if not expected or not submitted or not hmac.compare_digest(expected, submitted):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, "the form is stale or was not sent by this site (CSRF)"
        )


def check_cookie_request(request: Request) -> None:
    """For API calls that rely on the session cookie: unsafe methods need the header."""
    if request.method not in SAFE_METHODS:
        check(request, request.headers.get(CSRF_HEADER))
