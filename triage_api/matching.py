"""Finding known material among media: exact digests through the database, perceptual hashes
through the machine's Hamming indexes, then the allow-list's word on each item.

An item whose exact bytes an analyst confirmed not illegal (on an allow-list) keeps no match. An
item that is a near copy of an allowed one keeps its exact matches and loses its near ones: the
allow-list exists to stop a known false near match from coming back.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from classifiers.signals import SIGNAL_TYPES
from triage_api.config import Settings
from triage_api.known_index import known_index
from triage_api.models import HashList, KnownHash

Lookup = tuple[str, str, int | None, str | None]  # hash type, value, quality, via ("flip-h")


@dataclass(frozen=True, slots=True)
class Hit:
    """One known hash that one media item matched."""

    item: str  # the caller's key for the media item (its sha256, or a file path)
    known_hash_id: int
    list_name: str
    list_kind: str
    trust: str
    category: str
    hash_type: str
    distance: int
    via: str | None = None


def find_hits(
    session: Session,
    items: dict[str, list[Lookup]],
    settings: Settings,
    *,
    max_distance: int | None = None,
) -> list[Hit]:
    """Every known-list hit of every item, allow-list applied, the nearest per known hash."""
    found: dict[tuple[str, int], tuple[int, str | None, str]] = {}  # -> distance, via, type
    _exact(session, items, found)
    _near(session, items, settings, max_distance, found)
    if not found:
        return []
    rows = {
        row.id: row
        for chunk in _chunks(sorted({known for _, known in found}), 500)
        for row in session.execute(
            sa.select(
                KnownHash.id,
                KnownHash.category,
                HashList.name,
                HashList.kind,
                HashList.trust,
                HashList.category.label("list_category"),
            )
            .join(HashList, HashList.id == KnownHash.list_id)
            .where(KnownHash.id.in_(chunk), KnownHash.withdrawn_at.is_(None))
        )
    }
    hits = [
        Hit(
            item,
            known,
            row.name,
            row.kind,
            row.trust,
            row.category or row.list_category,
            kind,
            d,
            via,
        )
        for (item, known), (d, via, kind) in sorted(found.items())
        if (row := rows.get(known)) is not None
    ]
    return _apply_allow_list(hits)


def _exact(
    session: Session,
    items: dict[str, list[Lookup]],
    found: dict[tuple[str, int], tuple[int, str | None, str]],
) -> None:
    for kind in SIGNAL_TYPES.files():
        owners: dict[str, list[str]] = {}
        for item, lookups in items.items():
            for hash_type, value, _, _ in lookups:
                if hash_type == kind.name:
                    owners.setdefault(value, []).append(item)
        for chunk in _chunks(sorted(owners), 500):
            for row in session.execute(
                sa.select(KnownHash.id, KnownHash.value).where(
                    KnownHash.hash_type == kind.name, KnownHash.value.in_(chunk)
                )
            ):
                for item in owners[row.value]:
                    found[(item, row.id)] = (0, None, kind.name)


def _near(
    session: Session,
    items: dict[str, list[Lookup]],
    settings: Settings,
    max_distance: int | None,
    found: dict[tuple[str, int], tuple[int, str | None, str]],
) -> None:
    index = known_index(settings.index_dir, save_after=settings.index_save_after)
    index.refresh(session)
    for item, lookups in items.items():
        for hash_type, value, quality, via in lookups:
            kind = SIGNAL_TYPES.get(hash_type)
            if kind is None or not kind.perceptual:
                continue
            if kind.min_quality is not None and (quality or 0) < kind.min_quality:
                continue  # too flat a picture: its hash would match too much
            limit = settings.max_distance(hash_type) if max_distance is None else max_distance
            for known, distance in index.search(hash_type, value, limit):
                key = (item, known)
                if key not in found or distance < found[key][0]:
                    found[key] = (distance, via, hash_type)


def _apply_allow_list(hits: list[Hit]) -> list[Hit]:
    allowed_exact = {
        h.item
        for h in hits
        if h.list_kind == "allow" and h.distance == 0 and not SIGNAL_TYPES[h.hash_type].perceptual
    }
    allowed_near = {h.item for h in hits if h.list_kind == "allow"}
    kept = []
    for hit in hits:
        if hit.list_kind == "allow" or hit.item in allowed_exact:
            continue
        if hit.item in allowed_near and SIGNAL_TYPES[hit.hash_type].perceptual:
            continue
        kept.append(hit)
    return kept


def _chunks(values: list[Any], size: int) -> Iterable[list[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]
