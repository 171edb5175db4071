"""Running rechecks: a batch of due takedowns fetched at once over plain HTTP, each verdict kept
with its evidence, and a browser capture only where the light fetch cannot tell.

Every recheck is evidence like a capture: its WARC, manifest and (full mode) screenshot and
pictures go to the evidence store and a `captures` row of kind `recheck-light`/`recheck-full`,
linked from the `rechecks` row. The takedown moves on in `takedowns.record_recheck`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from classifiers.hashing import hash_media
from crawler.capture import CaptureResult
from crawler.evidence import EvidenceError, EvidenceStore
from crawler.light_fetch import light_fetch_many
from triage_api import takedowns
from triage_api.config import Settings, get_settings
from triage_api.db import session_scope
from triage_api.decisions import OUTCOMES
from triage_api.models import Capture, CaptureMedia, Case, Decision, Media, Takedown, utcnow
from triage_api.pipeline import (
    capture_limits,
    capture_row,
    egress_policy,
    link_media,
    take_capture,
    write_evidence,
)
from triage_api.recheck_judge import Reference, Verdict, judge_full, judge_light


@dataclass(frozen=True, slots=True)
class Due:
    """One takedown to recheck, read before the network part runs outside any transaction."""

    takedown_id: int
    case_id: int
    due_at: datetime
    unreachable: int
    reference: Reference


def load(items: list[tuple[int, datetime]], store: EvidenceStore) -> list[Due]:
    """The takedowns still open and still due at the time they were handed out."""
    found: list[Due] = []
    with session_scope() as session:
        for takedown_id, due_at in items:
            takedown = session.get(Takedown, takedown_id)
            if takedown is None or takedown.state != "open" or takedown.next_check_at != due_at:
                continue  # done meanwhile (a duplicate of this job ran first)
            case = session.get(Case, takedown.case_id)
            assert case is not None
            found.append(
                Due(
                    takedown_id,
                    case.id,
                    due_at,
                    takedown.unreachable,
                    _reference(session, case, store),
                )
            )
    return found


def run_light(items: list[tuple[int, datetime]], settings: Settings | None = None) -> list[Due]:
    """Recheck the batch over plain HTTP; the ones that need the browser are returned."""
    settings = settings or get_settings()
    store = EvidenceStore(settings.evidence_dir)
    batch = load(items, store)
    if not batch:
        return []
    started = utcnow()
    results = asyncio.run(
        light_fetch_many(
            [due.reference.url for due in batch],
            policy=egress_policy(settings),
            limits=capture_limits(settings),
            concurrency=settings.recheck_concurrency,
        )
    )
    for_browser: list[Due] = []
    needed = settings.recheck_unreachable_checks
    for due, result in zip(batch, results, strict=True):
        verdict = judge_light(result, due.reference, due.unreachable, needed)
        keep(store, due, result, verdict, mode="light", started=started)
        if verdict.full_capture:
            for_browser.append(due)
    return for_browser


def run_full(takedown_id: int, due_at: datetime, settings: Settings | None = None) -> str | None:
    """Recheck one takedown in the browser (the light fetch was ambiguous); the outcome."""
    settings = settings or get_settings()
    store = EvidenceStore(settings.evidence_dir)
    batch = load([(takedown_id, due_at)], store)
    if not batch:
        return None
    due = batch[0]
    started = utcnow()
    result = take_capture(due.reference.url, settings, warm=True)
    pictures = [_picture(image.data) for image in result.images]
    verdict = judge_full(
        result, due.reference, pictures, due.unreachable, settings.recheck_unreachable_checks
    )
    keep(store, due, result, verdict, mode="full", started=started)
    return verdict.outcome


def keep(
    store: EvidenceStore,
    due: Due,
    result: CaptureResult,
    verdict: Verdict,
    *,
    mode: str,
    started: datetime,
) -> bool:
    """Store the evidence and the verdict. A light verdict that asks for the browser is kept as
    evidence only: the full capture records the recheck."""
    stored = write_evidence(store, result)
    with session_scope() as session:
        capture = capture_row(due.case_id, result, stored, None, kind=f"recheck-{mode}")
        session.add(capture)
        session.flush()
        link_media(session, capture.id, stored)
        if verdict.full_capture:
            return False
        return takedowns.record_recheck(
            session,
            due.takedown_id,
            due_at=due.due_at,
            started_at=result.started_at or started,
            finished_at=result.finished_at or utcnow(),
            mode=mode,
            outcome=verdict.outcome,
            reason=verdict.reason,
            unreachable=verdict.unreachable,
            http_status=result.http_status,
            capture_id=capture.id,
        )


def _reference(session: sa.orm.Session, case: Case, store: EvidenceStore) -> Reference:
    """The confirmed page: the first capture's HTML and the pictures the decision listed."""
    capture = session.scalar(
        sa.select(Capture)
        .where(Capture.case_id == case.id, Capture.kind == "initial")
        .order_by(Capture.id)
        .limit(1)
    )
    html = None
    if capture is not None and capture.html_sha256:
        try:
            html = store.get(capture.html_sha256).decode("utf-8", "replace")
        except EvidenceError:
            html = None
    decision = session.scalar(
        sa.select(Decision)
        .where(Decision.case_id == case.id, Decision.outcome.in_(OUTCOMES))
        .order_by(Decision.id.desc())
        .limit(1)
    )
    cleared = {
        v["sha256"] for v in (decision.media if decision else []) if v["outcome"] != "illegal"
    }
    pictures = (
        session.execute(
            sa.select(Media.sha256, Media.phash)
            .join(CaptureMedia, CaptureMedia.media_sha256 == Media.sha256)
            .where(CaptureMedia.capture_id == capture.id)
        ).all()
        if capture is not None
        else []
    )
    return Reference.from_html(
        case.canonical_url, html, [(sha, phash) for sha, phash in pictures if sha not in cleared]
    )


def _picture(data: bytes) -> tuple[str, str | None]:
    """sha256 and pHash (None when the bytes do not decode as a picture)."""
    hashes = hash_media(data)
    return hashes.sha256, hashes.phash
