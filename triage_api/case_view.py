"""Everything an analyst sees about one case, as plain data for the API and the UI."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from classifiers.nudity import MODEL_NAME as NUDITY_MODEL
from classifiers.nudity import NUDE
from triage_api.classify import UNAVAILABLE, stored
from triage_api.config import get_settings
from triage_api.decisions import OUTCOMES, history
from triage_api.models import (
    Capture,
    CaptureMedia,
    Case,
    Classification,
    Decision,
    HashList,
    KnownHash,
    Match,
    Report,
)
from triage_api.page_families import family_of
from triage_api.scoring import BANDS, current_points, waiting_reason
from triage_api.takedown_view import takedown_detail


def case_detail(session: Session, case_id: int) -> dict[str, Any] | None:
    case = session.get(Case, case_id)
    if case is None:
        return None
    now = datetime.now(UTC)
    settings = get_settings()
    capture = session.get(Capture, case.last_capture_id) if case.last_capture_id else None
    matches = session.execute(
        sa.select(
            Match.media_sha256,
            Match.hash_type,
            Match.distance,
            Match.via,
            HashList.name,
            HashList.trust,
            sa.func.coalesce(KnownHash.category, HashList.category).label("category"),
            KnownHash.media_sha256.label("listed_from"),
            KnownHash.withdrawn_at,
        )
        .join(KnownHash, KnownHash.id == Match.known_hash_id)
        .join(HashList, HashList.id == KnownHash.list_id)
        .where(Match.case_id == case_id, HashList.kind == "known")
        .order_by(Match.distance, HashList.name)
    ).all()
    rows = stored(session, capture.id) if capture else []
    reports = session.scalars(
        sa.select(Report).where(Report.case_id == case_id).order_by(Report.id)
    )
    ready = case.stage == "ready"
    media = _captured_media(session, capture.id) if capture else []
    related = _related_cases(
        session,
        case_id,
        {link.media.sha256 for link in media} | {m.listed_from for m in matches if m.listed_from},
    )
    return {
        "id": case.id,
        "url": case.canonical_url,
        "host": case.host,
        "status": case.status,
        "stage": case.stage,
        "band": BANDS.get(case.band, "unlikely") if ready else None,
        "points": round(current_points(case.base_points, case.created_at, now, settings), 2)
        if ready
        else None,
        "category": case.claimed_category,
        "jurisdiction": case.jurisdiction,
        "country": case.country,
        "reasons": [*case.reasons, waiting_reason(case.created_at, now, settings)] if ready else [],
        "created_at": case.created_at.isoformat(),
        "reports": [
            {
                "id": r.id,
                "category": r.category,
                "comment": r.comment,
                "channel": r.channel,
                "created_at": r.created_at.isoformat(),
                "submitted_url": r.submitted_url,
            }
            for r in reports
        ],
        "capture": _capture(capture, media, rows, related) if capture else None,
        "decisions": history(session, case_id),
        "takedown": takedown_detail(session, case_id),
        "classifications": _classifications(rows),
        "family": family_of(session, case),
        "matches": [
            {
                "media_sha256": m.media_sha256,
                "hash_type": m.hash_type,
                "distance": m.distance,
                "via": m.via,
                "list": m.name,
                "trust": m.trust,
                "category": m.category,
                "withdrawn": m.withdrawn_at is not None,
                "same_as": related.get(m.listed_from, []) if m.listed_from else [],
            }
            for m in matches
        ],
    }


def _classifications(rows: list[Classification]) -> list[dict[str, Any]]:
    return [
        {
            "model": row.model,
            "version": row.version,
            "label": row.label,
            "scores": row.scores,
            "explanation": row.explanation,
            "created_at": row.created_at.isoformat(),
        }
        for row in rows
    ]


def _nudity_by_media(rows: list[Classification]) -> dict[str, dict[str, Any]]:
    """The detector's boxes per picture, to draw over the blurred picture."""
    for row in rows:
        if row.model == NUDITY_MODEL and row.label != UNAVAILABLE:
            media = (row.explanation or {}).get("media", [])
            for item in media:
                for box in item.get("boxes", []):
                    box["nude"] = box.get("label") in NUDE
            return {m["sha256"]: m for m in media}
    return {}


def _captured_media(session: Session, capture_id: int) -> list[CaptureMedia]:
    return list(
        session.scalars(
            sa.select(CaptureMedia)
            .where(CaptureMedia.capture_id == capture_id)
            .order_by(CaptureMedia.id)
        )
    )


def _related_cases(
    session: Session, case_id: int, pictures: set[str]
) -> dict[str, list[dict[str, Any]]]:
    """Per picture, the other cases that showed it and how they ended ("same as case 123")."""
    if not pictures:
        return {}
    rows = session.execute(
        sa.select(CaptureMedia.media_sha256, Case.id, Case.status)
        .join(Capture, Capture.id == CaptureMedia.capture_id)
        .join(Case, Case.id == Capture.case_id)
        .where(CaptureMedia.media_sha256.in_(sorted(pictures)), Case.id != case_id)
        .distinct()
        .order_by(Case.id)
    ).all()
    outcomes = _standing_outcomes(session, {row.id for row in rows})
    related: dict[str, list[dict[str, Any]]] = {}
    for sha, other, status in rows:
        related.setdefault(sha, []).append(
            {"case_id": other, "status": status, "outcome": outcomes.get(other)}
        )
    return related


def _standing_outcomes(session: Session, case_ids: set[int]) -> dict[int, str]:
    """Each case's decision in force (the latest closing or revising one)."""
    if not case_ids:
        return {}
    latest = (
        sa.select(sa.func.max(Decision.id))
        .where(Decision.case_id.in_(sorted(case_ids)), Decision.outcome.in_(OUTCOMES))
        .group_by(Decision.case_id)
    )
    rows = session.execute(
        sa.select(Decision.case_id, Decision.outcome).where(Decision.id.in_(latest))
    )
    return {case_id: outcome for case_id, outcome in rows}


def _capture(
    capture: Capture,
    media: list[CaptureMedia],
    rows: list[Classification],
    related: dict[str, list[dict[str, Any]]],
) -> dict[str, Any]:
    nudity = _nudity_by_media(rows)
    return {
        "id": capture.id,
        "requested_url": capture.requested_url,
        "final_url": capture.final_url,
        "http_status": capture.http_status,
        "title": capture.title,
        "redirect_chain": capture.redirect_chain,
        "server_ip": capture.server_ip,
        "outcome": capture.outcome,
        "error": capture.error,
        "browser_version": capture.browser_version,
        "started_at": capture.started_at.isoformat(),
        "finished_at": capture.finished_at.isoformat() if capture.finished_at else None,
        "screenshot_sha256": capture.screenshot_sha256,
        "html_sha256": capture.html_sha256,
        "text_sha256": capture.text_sha256,
        "text_print": capture.text_print,
        "dom_print": capture.dom_print,
        "manifest_sha256": capture.manifest_sha256,
        "enrichment": capture.enrichment,
        "media": [
            {
                "url": link.url,
                "sha256": link.media.sha256,
                "md5": link.media.md5,
                "sha1": link.media.sha1,
                "phash": link.media.phash,
                "dhash": link.media.dhash,
                "pdq": link.media.pdq,
                "mime": link.media.mime,
                "size": link.media.size,
                "width": link.media.width,
                "height": link.media.height,
                "hash_error": link.media.hash_error,
                "nudity": nudity.get(link.media.sha256),
                "also_in": related.get(link.media.sha256, []),
            }
            for link in media
        ],
    }
