"""The work of each pipeline stage, by case id: capture → analyse → score → ready.

Every stage re-reads the case, does its work, and moves the case on with a compare-and-set on
`stage`, so a job that runs twice (redelivery, reconciler) changes nothing the second time.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from classifiers.hashing import digests
from crawler.capture import CaptureLimits, CaptureResult, capture_url
from crawler.capture_host import shared_host
from crawler.egress import EgressPolicy
from crawler.enrichment import EnrichOptions, enrich
from crawler.evidence import EvidenceStore
from crawler.light_fetch import fetch_url
from triage_api.classify import classify_capture, stored
from triage_api.config import Settings, get_settings
from triage_api.db import session_scope
from triage_api.media_check import check_media
from triage_api.models import (
    Capture,
    CaptureMedia,
    Case,
    HashList,
    KnownHash,
    Match,
    Media,
    Report,
    utcnow,
)
from triage_api.page_families import link_family, page_content
from triage_api.scoring import KnownMatch, ScoreInputs, score_case
from triage_api.signals import model_signals
from triage_api.sqlutil import advance_stage, insert_ignore

log = logging.getLogger(__name__)
STAGES = ("capture", "analyse", "score")
LIGHT_OPTIONS = ("limits", "host_map", "host_map_only", "allow_private")


@dataclass(frozen=True, slots=True)
class StageJob:
    """What to capture for a case, read before the slow part runs outside any transaction."""

    case_id: int
    url: str


def begin_capture(case_id: int) -> StageJob | None:
    with session_scope() as session:
        case = session.get(Case, case_id)
        if case is None or case.stage != "capture":
            return None
        return StageJob(case.id, case.canonical_url)


def take_capture(
    url: str, settings: Settings | None = None, *, warm: bool = False, light: bool = False
) -> CaptureResult:
    """Capture `url`; `warm` reuses this process's browser (workers), else a browser of its own.

    `light` fetches over plain HTTP instead (rechecks), through the same egress policy and limits.
    """
    settings = settings or get_settings()
    options = {
        "limits": capture_limits(settings),
        "chromium_path": settings.chromium_path,
        "host_map": settings.host_map,
        "host_map_only": settings.host_map_only,
        "allow_private": tuple(settings.egress_allow),
        "recycle_after": settings.capture_recycle_after,
        "memory_limit_mb": settings.capture_memory_limit_mb,
    }
    if light:
        return fetch_url(url, **{k: options[k] for k in LIGHT_OPTIONS})
    if warm:
        return shared_host(**options).capture(url)
    return capture_url(url, **options)


def capture_limits(settings: Settings) -> CaptureLimits:
    return CaptureLimits(
        timeout_s=settings.capture_timeout_s,
        max_image_bytes=settings.capture_max_image_bytes,
        max_images=settings.capture_max_images,
        max_total_bytes=settings.capture_max_total_bytes,
        viewport=settings.capture_viewport,
        max_screenshot_height=settings.capture_max_screenshot_height,
    )


def egress_policy(settings: Settings) -> EgressPolicy:
    return EgressPolicy.build(settings.egress_allow, settings.host_map, settings.host_map_only)


@dataclass(frozen=True, slots=True)
class StoredEvidence:
    """A capture's artefacts in the evidence store, and the rows its pictures need."""

    screenshot: str | None
    html: str | None
    text: str | None
    manifest: str
    media_rows: list[dict[str, object]]
    links: list[tuple[str, str]]  # (sha256, url) in the order seen


def write_evidence(store: EvidenceStore, result: CaptureResult) -> StoredEvidence:
    """Put every artefact of the capture in the store; the manifest names them all."""
    put = store.put
    screenshot = put(result.screenshot) if result.screenshot else None
    html = put(result.html.encode("utf-8", "replace")) if result.html is not None else None
    text = put(result.text.encode("utf-8", "replace")) if result.text is not None else None
    warc = put(result.warc) if result.warc else None
    frames = [
        {"url": frame.url[:4000], "sha256": put(frame.html.encode("utf-8", "replace"))}
        for frame in result.frames
    ]
    media_rows: list[dict[str, object]] = []
    links: list[tuple[str, str]] = []
    for image in result.images:
        sha256 = put(image.data)
        _, md5, sha1 = digests(image.data)
        media_rows.append(
            {
                "sha256": sha256,
                "md5": md5,
                "sha1": sha1,
                "size": len(image.data),
                "mime": image.content_type,
                "first_seen_at": utcnow(),
            }
        )
        links.append((sha256, image.url))
    manifest = result.manifest() | {
        "artefacts": {"screenshot": screenshot, "html": html, "text": text, "warc": warc},
        "frame_artefacts": frames,
        "media": [{"sha256": sha, "url": url} for sha, url in links],
    }
    manifest_sha = put(json.dumps(manifest, ensure_ascii=False, sort_keys=True).encode())
    return StoredEvidence(screenshot, html, text, manifest_sha, media_rows, links)


def capture_row(
    case_id: int,
    result: CaptureResult,
    stored: StoredEvidence,
    enrichment: dict[str, Any] | None,
    kind: str = "initial",
) -> Capture:
    return Capture(
        case_id=case_id,
        kind=kind,
        requested_url=result.requested_url,
        final_url=result.final_url,
        http_status=result.http_status,
        title=result.title,
        redirect_chain=result.redirect_chain,
        server_ip=result.server_ip,
        screenshot_sha256=stored.screenshot,
        html_sha256=stored.html,
        text_sha256=stored.text,
        manifest_sha256=stored.manifest,
        browser_version=result.browser_version,
        error=result.error,
        outcome=result.outcome,
        started_at=result.started_at,
        finished_at=result.finished_at or utcnow(),
        enrichment=enrichment,
    )


def link_media(session: Session, capture_id: int, stored: StoredEvidence) -> None:
    """The capture's pictures as media rows (once per file) and links from the capture."""
    insert_ignore(session, Media, _unique(stored.media_rows))
    seen: set[str] = set()
    for sha256, url in stored.links:
        if sha256 not in seen:
            seen.add(sha256)
            session.add(CaptureMedia(capture_id=capture_id, media_sha256=sha256, url=url[:8000]))


def enrich_capture(result: CaptureResult, settings: Settings | None = None) -> dict[str, Any]:
    """The site's technical characteristics for a capture, within the enrichment time budget."""
    settings = settings or get_settings()
    options = EnrichOptions(
        egress_policy=egress_policy(settings),
        offline=settings.enrichment_offline or settings.host_map_only,
        dns_servers=tuple(settings.enrichment_dns_servers or ()) or None,
        country_mmdb=settings.enrichment_country_mmdb,
        asn_mmdb=settings.enrichment_asn_mmdb,
        directory_path=settings.enrichment_directory,
        total_timeout=settings.enrichment_timeout_s,
    )
    url = result.final_url or result.requested_url
    return enrich(url, result.server_ip, options).as_dict()


def store_capture(
    case_id: int, result: CaptureResult, enrichment: dict[str, Any] | None = None
) -> bool:
    """Keep the evidence and move the case to `analyse`; False if another job got there first."""
    stored = write_evidence(EvidenceStore(get_settings().evidence_dir), result)
    with session_scope() as session:
        if not advance_stage(
            session,
            Case,
            case_id,
            from_stage="capture",
            stage="analyse",
            stage_since=utcnow(),
            stage_attempts=0,
        ):
            return False
        capture = capture_row(case_id, result, stored, enrichment)
        session.add(capture)
        session.flush()
        link_media(session, capture.id, stored)
        session.execute(
            sa.update(Case)
            .where(Case.id == case_id)
            .values(
                last_capture_id=capture.id,
                jurisdiction=(enrichment or {}).get("jurisdiction"),
                country=(enrichment or {}).get("country"),
            )
        )
    return True


def record_failed_capture(case_id: int, url: str, error: str) -> bool:
    """When capturing keeps failing, the case still goes to analysts, with the failure shown."""
    now = datetime.now(UTC)
    result = CaptureResult(requested_url=url, started_at=now, finished_at=now)
    result.outcome, result.error = "failed", error
    return store_capture(case_id, result)


def analyse(case_id: int) -> bool:
    """Hash the capture's media and match them against the known-hash lists, group the page
    with its mirrors, and classify its text, the text in its pictures and the pictures."""
    store = EvidenceStore(get_settings().evidence_dir)
    with session_scope() as session:
        case = session.get(Case, case_id)
        if case is None or case.stage != "analyse":
            return False
        capture = session.get(Capture, case.last_capture_id) if case.last_capture_id else None
        media = [link.media for link in capture.media] if capture else []
        if capture is not None:
            check_media(
                session,
                case_id=case_id,
                capture_id=capture.id,
                media=media,
                store=store,
                settings=get_settings(),
            )
            text, html = page_content(store, capture)
            link_family(session, case, capture, text, html)
            classify_capture(
                session,
                case_id=case_id,
                capture=capture,
                page_text=text,
                media=media,
                store=store,
                settings=get_settings(),
            )
        return advance_stage(
            session,
            Case,
            case_id,
            from_stage="analyse",
            stage="score",
            stage_since=utcnow(),
            stage_attempts=0,
        )


def score(case_id: int) -> bool:
    settings = get_settings()
    with session_scope() as session:
        case = session.get(Case, case_id)
        if case is None or case.stage != "score":
            return False
        categories = list(
            session.scalars(sa.select(Report.category).where(Report.case_id == case_id))
        )
        reporters = session.scalar(
            sa.select(
                sa.func.count(
                    sa.distinct(sa.func.coalesce(Report.client_hash, Report.tracking_code))
                )
            ).where(Report.case_id == case_id)
        )
        matches = [
            KnownMatch(
                row.name,
                row.category or row.list_category,
                row.hash_type,
                row.trust,
                distance=row.distance,
                via=row.via,
            )
            for row in session.execute(
                sa.select(
                    HashList.name,
                    HashList.trust,
                    HashList.category.label("list_category"),
                    KnownHash.category,
                    Match.hash_type,
                    Match.distance,
                    Match.via,
                )
                .join(KnownHash, KnownHash.id == Match.known_hash_id)
                .join(HashList, HashList.id == KnownHash.list_id)
                .where(
                    Match.case_id == case_id,
                    HashList.kind == "known",
                    KnownHash.withdrawn_at.is_(None),  # a revised decision took it back
                )
            )
        ]
        capture = session.get(Capture, case.last_capture_id) if case.last_capture_id else None
        inputs = ScoreInputs(
            created_at=case.created_at,
            claimed_categories=categories,
            reporters=reporters or 1,
            matches=matches,
            capture_outcome=capture.outcome if capture else None,
            http_status=capture.http_status if capture else None,
            jurisdiction=case.jurisdiction,
            country=case.country,
            signals=model_signals(stored(session, capture.id)) if capture else [],
            source=case.source,
        )
        result = score_case(inputs, settings)
        return advance_stage(
            session,
            Case,
            case_id,
            from_stage="score",
            stage="ready",
            stage_since=utcnow(),
            stage_attempts=0,
            band=result.band,
            base_points=result.base_points,
            rank_key=result.rank_key,
            reasons=result.reasons,
            claimed_category=result.category,
        )


def stuck_cases(now: datetime | None = None) -> list[tuple[int, str, int, str]]:
    """Cases left in a pipeline stage past its limit: (id, stage, attempts, url)."""
    settings = get_settings()
    now = now or datetime.now(UTC)
    cutoff = now - timedelta(seconds=settings.stage_limit_s)
    with session_scope() as session:
        rows = session.execute(
            sa.select(
                Case.id, Case.stage, Case.stage_attempts, Case.canonical_url, Case.stage_since
            )
            .where(Case.status == "open", Case.stage.in_(STAGES), Case.stage_since < cutoff)
            .order_by(Case.stage_since)
            .limit(500)
        ).all()
        claimed = []
        for row in rows:
            moved = session.execute(
                sa.update(Case)
                .where(
                    Case.id == row.id, Case.stage == row.stage, Case.stage_since == row.stage_since
                )
                .values(stage_since=now, stage_attempts=Case.stage_attempts + 1)
            )
            if getattr(moved, "rowcount", 0):
                claimed.append((row.id, row.stage, row.stage_attempts + 1, row.canonical_url))
        return claimed


def _unique(rows: list[dict[str, object]]) -> list[dict[str, object]]:
    seen: dict[object, dict[str, object]] = {}
    for row in rows:
        seen.setdefault(row["sha256"], row)
    return list(seen.values())
