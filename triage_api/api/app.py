"""The FastAPI application: API under /api/v1, the analysts' pages under /ui."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from triage_api.api.routes import (
    admin,
    cases,
    forwarding,
    health,
    reports,
    review,
    status_page,
    supervise,
    sweeps,
    takedown,
    ui,
    ui_sweeps,
    ui_takedown,
)

MAX_BODY_BYTES = 64 * 1024
# Paths that take more: a hash-list upload (the page itself refuses a file over its cap with a
# message; a megabyte more leaves room for the form around the file).
LARGER_BODIES = {supervise.UPLOAD_PATH: supervise.MAX_UPLOAD_BYTES + 2**20}
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; script-src 'self'; style-src 'self'; "
        "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    ),
}


class BodyLimit:
    """Refuse request bodies over a size, whether declared or streamed, before they are read;
    `larger` names the paths allowed more, and how much."""

    def __init__(
        self, app: ASGIApp, limit: int = MAX_BODY_BYTES, larger: dict[str, int] | None = None
    ) -> None:
        self.app, self.limit = app, limit
        self.larger = LARGER_BODIES if larger is None else larger

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.larger.get(scope.get("path", ""), self.limit)
        declared = dict(scope.get("headers") or []).get(b"content-length", b"0")
        if declared.isdigit() and int(declared) > limit:
            await _too_large(send, limit)
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:
                raise _BodyTooLarge
            return message

        try:
            await self.app(scope, limited, send)
        except _BodyTooLarge:
            await _too_large(send, limit)


class SecurityHeaders:
    """Add the security headers to every HTTP response (plain ASGI: no per-request task)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.headers = [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", ())}
                extra = [(k, v) for k, v in self.headers if k not in present]
                message = {**message, "headers": [*message.get("headers", ()), *extra]}
            await send(message)

        await self.app(scope, receive, with_headers)


class _BodyTooLarge(Exception):
    pass


async def _too_large(send: Send, limit: int) -> None:
    body = f'{{"detail":"request body is larger than {limit} bytes"}}'.encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _explain(errors: list[Any]) -> str:
    parts = []
    for error in errors[:5]:
        where = ".".join(str(p) for p in error.get("loc", ()) if p != "body") or "body"
        parts.append(f"{where}: {error.get('msg', 'invalid')}")
    return "; ".join(parts) or "the request is not valid"


def create_app() -> FastAPI:
    app = FastAPI(
        title="Kaznet Hotline Triage",
        version="0.1.0",
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
    )
    api_prefix = "/api/v1"
    for router in (reports.router, cases.router, review.router, admin.router, health.router):
        app.include_router(router, prefix=api_prefix)
    app.include_router(forwarding.router, prefix=api_prefix)
    app.include_router(takedown.router, prefix=api_prefix)
    app.include_router(sweeps.router, prefix=api_prefix)
    app.include_router(ui.router)
    app.include_router(ui_takedown.router)
    app.include_router(ui_sweeps.router)
    app.include_router(supervise.router)
    app.include_router(status_page.router)
    app.mount("/static", StaticFiles(directory=Path(__file__).parent.parent / "static"), "static")

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        return JSONResponse(
            {"detail": _explain(list(errors))},
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        )

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/ui/queue", status_code=status.HTTP_303_SEE_OTHER)

    return app


def asgi_app() -> ASGIApp:
    return SecurityHeaders(BodyLimit(create_app()))


app = asgi_app()
