"""`hotline evidence verify`: every stored file matches its hash, every recorded one is there."""

from __future__ import annotations

import json

import sqlalchemy as sa
from sqlalchemy.orm import Session

from crawler.evidence import EvidenceError, EvidenceStore
from triage_api.models import Capture, Media


def verify_evidence(session: Session, store: EvidenceStore) -> tuple[int, list[str]]:
    """Files checked, and problems: altered or stray files, and records whose file is missing."""
    checked, problems = store.verify()
    wanted: dict[str, str] = {}
    for row in session.execute(
        sa.select(
            Capture.id,
            Capture.screenshot_sha256,
            Capture.html_sha256,
            Capture.text_sha256,
            Capture.manifest_sha256,
        )
    ):
        for sha256 in row[1:]:
            if sha256:
                wanted[sha256] = f"capture {row.id}"
        if row.manifest_sha256:
            wanted.update(_manifest_artefacts(store, row.manifest_sha256, row.id, problems))
    for (sha256,) in session.execute(sa.select(Media.sha256)):
        wanted.setdefault(sha256, "media")
    for sha256, owner in sorted(wanted.items()):
        if not store.exists(sha256):
            problems.append(f"{sha256}: recorded for {owner} but missing from the store")
    return checked, problems


def _manifest_artefacts(
    store: EvidenceStore, sha256: str, capture_id: int, problems: list[str]
) -> dict[str, str]:
    try:
        manifest = json.loads(store.get(sha256))
    except (EvidenceError, ValueError) as exc:
        problems.append(f"capture {capture_id}: manifest unreadable ({exc})")
        return {}
    owner = f"capture {capture_id}"
    found = {v: owner for v in (manifest.get("artefacts") or {}).values() if isinstance(v, str)}
    for frame in manifest.get("frame_artefacts") or []:
        if isinstance(frame, dict) and isinstance(frame.get("sha256"), str):
            found[frame["sha256"]] = owner
    for medium in manifest.get("media") or []:
        if isinstance(medium, dict) and isinstance(medium.get("sha256"), str):
            found[medium["sha256"]] = owner
    return found
