"""Forwarding endpoints (supervisors): a confirmed case's evidence package for law enforcement,
and the records for a partner hotline. The package is a download only, never shown in a page."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Response, status

from crawler.evidence import EvidenceStore
from triage_api.api.deps import CurrentSupervisor, SessionDep
from triage_api.config import get_settings
from triage_api.forwarding import (
    CaseNotFound,
    ForwardingError,
    as_utc,
    evidence_package,
    partner_export,
)

router = APIRouter(tags=["forwarding"])
PACKAGE_HEADER = "X-Package-SHA256"


@router.get(
    "/cases/{case_id}/package",
    response_class=Response,
    responses={200: {"content": {"application/zip": {}}, "description": "the evidence package"}},
)
def get_package(case_id: int, session: SessionDep, user: CurrentSupervisor) -> Response:
    """The ZIP as an attachment a browser will neither sniff nor render; its sha256 in a header
    so the recipient can check what arrived against the audit log."""
    store = EvidenceStore(get_settings().evidence_dir)
    try:
        package = evidence_package(session, case_id, store, actor=f"user:{user.name}")
    except CaseNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    except ForwardingError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    return Response(
        package.data,
        media_type="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="case-{case_id}-evidence.zip"',
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            PACKAGE_HEADER: package.sha256,
        },
    )


@router.get("/forwarding/partner")
def get_partner_export(
    session: SessionDep,
    user: CurrentSupervisor,
    since: Annotated[
        datetime | None, Query(description="decisions made at or after (ISO 8601)")
    ] = None,
    case: Annotated[list[int] | None, Query(description="only these cases (repeatable)")] = None,
) -> dict[str, Any]:
    """Cases decided `forward`, or illegal and hosted abroad, as partner-hotline records."""
    try:
        records = partner_export(
            session,
            actor=f"user:{user.name}",
            case_ids=case,
            since=as_utc(since) if since else None,
        )
    except CaseNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    except ForwardingError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    return {"records": records, "count": len(records)}
