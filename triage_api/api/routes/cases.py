"""Staff endpoints: the ranked queue, one case with its evidence, evidence files."""

from __future__ import annotations

from typing import Any, Literal

import sqlalchemy as sa
from fastapi import APIRouter, HTTPException, Query, Response, status
from pydantic import BaseModel, Field

from crawler.evidence import EvidenceError, EvidenceStore
from triage_api import audit, wellbeing
from triage_api.api.deps import CurrentAnalyst, SessionDep
from triage_api.case_view import case_detail
from triage_api.classify import OCR_SUFFIX
from triage_api.config import get_settings
from triage_api.models import Capture, CaptureMedia, Case, Classification, Media
from triage_api.queue import MAX_LIMIT, ranked_cases

router = APIRouter(tags=["analysts"])


@router.get("/queue")
def get_queue(
    session: SessionDep,
    user: CurrentAnalyst,
    limit: int = Query(50, ge=1, le=MAX_LIMIT),
    offset: int = Query(0, ge=0, le=1_000_000),
) -> dict[str, Any]:
    items = ranked_cases(session, limit=limit, offset=offset)
    return {"items": [item.as_dict() for item in items], "limit": limit, "offset": offset}


@router.get("/cases/{case_id}")
def get_case(case_id: int, session: SessionDep, user: CurrentAnalyst) -> dict[str, Any]:
    detail = case_detail(session, case_id)
    if detail is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no case {case_id}")
    audit.record(
        session, actor=f"user:{user.name}", action="case.viewed", subject=f"case:{case_id}"
    )
    return detail


class RevealRequest(BaseModel):
    case_id: int | None = Field(default=None, ge=1)


@router.post("/evidence/{sha256}/reveal")
def reveal_evidence(
    sha256: str, session: SessionDep, user: CurrentAnalyst, body: RevealRequest | None = None
) -> dict[str, Any]:
    """Let this analyst see the picture unblurred for a while; counted against today's cap."""
    mime = _known_artefact(session, sha256)
    if mime is None or not mime.startswith("image/"):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such picture")
    case_id = body.case_id if body else None
    if case_id is not None and session.get(Case, case_id) is None:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"no case {case_id}")
    try:
        seen = wellbeing.reveal(session, user, sha256, case_id=case_id)
    except wellbeing.RevealRefused as exc:
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, str(exc)) from None
    return {**seen.as_dict(), "grant_s": get_settings().reveal_grant_s}


@router.get("/evidence/{sha256}")
def get_evidence(
    sha256: str,
    session: SessionDep,
    user: CurrentAnalyst,
    view: Literal["blurred", "full"] = "blurred",
) -> Response:
    """Only artefacts the database knows are served, as attachments a browser will not sniff.
    Pictures come blurred and greyscale unless `view=full` follows this analyst's reveal."""
    mime = _known_artefact(session, sha256)
    if mime is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such evidence")
    try:
        data = EvidenceStore(get_settings().evidence_dir).get(sha256)
    except EvidenceError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    if mime.startswith("image/"):
        if view == "full" and not wellbeing.granted(session, user.id, sha256):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN, "reveal the picture first (POST …/reveal)"
            )
        if view != "full":
            data, mime = wellbeing.blurred_preview(data), "image/jpeg"
    audit.record(
        session,
        actor=f"user:{user.name}",
        action="evidence.served",
        subject=sha256,
        view=view if mime.startswith("image/") else "file",
    )
    return Response(
        data,
        media_type=mime,
        headers={
            "Content-Disposition": f'inline; filename="{sha256}"',
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )


def _known_artefact(session: Any, sha256: str) -> str | None:
    if len(sha256) != 64:
        return None
    mime = session.scalar(
        sa.select(Media.mime)
        .join(CaptureMedia, CaptureMedia.media_sha256 == Media.sha256)
        .where(Media.sha256 == sha256)
        .limit(1)
    )
    if mime is not None:
        return mime if mime.startswith("image/") else "application/octet-stream"
    if session.scalar(sa.select(Capture.id).where(Capture.screenshot_sha256 == sha256).limit(1)):
        return "image/png"
    artefact = sa.or_(
        Capture.html_sha256 == sha256,
        Capture.text_sha256 == sha256,
        Capture.manifest_sha256 == sha256,
    )
    if session.scalar(sa.select(Capture.id).where(artefact).limit(1)):
        return "text/plain; charset=utf-8"
    if _ocr_text(session, sha256):
        return "text/plain; charset=utf-8"
    return None


def _ocr_text(session: Any, sha256: str) -> bool:
    """Text read in a capture's pictures, named in its OCR classification's explanation."""
    if any(c not in "0123456789abcdef" for c in sha256):
        return False
    found = session.scalar(
        sa.select(Classification.id)
        .where(
            Classification.model.like(f"%{OCR_SUFFIX}"),
            sa.cast(Classification.explanation, sa.Text).contains(f'"{sha256}"'),
        )
        .limit(1)
    )
    return found is not None
