"""The analyse stage's media step: hash each new file of a capture once, then record its matches
against the known-hash lists on the case."""

from __future__ import annotations

from sqlalchemy.orm import Session

from classifiers.hashing import hash_media
from crawler.evidence import EvidenceStore
from triage_api.config import Settings
from triage_api.matching import Lookup, find_hits
from triage_api.models import Match, Media, utcnow
from triage_api.sqlutil import insert_ignore


def check_media(
    session: Session,
    *,
    case_id: int,
    capture_id: int,
    media: list[Media],
    store: EvidenceStore,
    settings: Settings,
) -> int:
    """Hash what is not hashed yet, record matches (idempotent); return how many matched."""
    for item in media:
        if item.phash is None and item.hash_error is None:
            fill_hashes(item, store, dihedral=settings.match_pdq_dihedral)
    hits = find_hits(session, {item.sha256: lookups(item) for item in media}, settings)
    insert_ignore(
        session,
        Match,
        [
            {
                "case_id": case_id,
                "capture_id": capture_id,
                "media_sha256": hit.item,
                "known_hash_id": hit.known_hash_id,
                "hash_type": hit.hash_type,
                "distance": hit.distance,
                "via": hit.via,
                "created_at": utcnow(),
            }
            for hit in hits
        ],
    )
    return len({hit.item for hit in hits})


def fill_hashes(item: Media, store: EvidenceStore, *, dihedral: bool) -> None:
    try:
        hashes = hash_media(store.get(item.sha256), dihedral=dihedral)
    except Exception as exc:  # evidence missing or altered: record, do not crash the stage
        item.hash_error = str(exc)[:2000]
        return
    item.phash, item.dhash = hashes.phash, hashes.dhash
    item.pdq, item.pdq_quality = hashes.pdq, hashes.pdq_quality
    item.width, item.height, item.frames = hashes.width, hashes.height, hashes.frames
    item.extra_hashes = [
        {"hash_type": e.hash_type, "value": e.value, "label": e.label, "quality": e.quality}
        for e in hashes.extra
    ] or None
    item.mime = hashes.mime or item.mime
    item.hash_error = hashes.error


def lookups(item: Media) -> list[Lookup]:
    """What to look up for a stored media item: its digests, its hashes, its extra views."""
    found: list[Lookup] = [
        ("sha256", item.sha256, None, None),
        ("md5", item.md5, None, None),
        ("sha1", item.sha1, None, None),
    ]
    if item.phash:
        found.append(("phash", item.phash, None, None))
    if item.dhash:
        found.append(("dhash", item.dhash, None, None))
    if item.pdq:
        found.append(("pdq", item.pdq, item.pdq_quality, None))
    for extra in item.extra_hashes or []:
        found.append((extra["hash_type"], extra["value"], extra.get("quality"), extra["label"]))
    return found
