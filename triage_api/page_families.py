"""Page families: cases whose pages are near copies of each other (mirrors) share a family.

A family's id is the id of its first case. Each capture keeps its text and DOM prints; the text
print's four 16-bit bands go to `page_print_bands`. Two prints within distance d have a band within
distance d // 4 of the other's (pigeonhole), so near captures are found by indexed lookups of a
band's few neighbours (multi-index hashing) and then checked with the exact distance.

A text print within `family_text_alone_distance` is a mirror whatever its template; one within
`family_text_max_distance` is a mirror when the DOM prints agree too (`family_dom_max_distance`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, attributes

from classifiers.page_print import (
    BAND_COUNT,
    MAX_HTML_CHARS,
    MAX_TEXT_CHARS,
    PagePrints,
    band_neighbours,
    bands,
    distance,
    page_prints,
)
from crawler.evidence import EvidenceError, EvidenceStore
from triage_api.config import Settings, get_settings
from triage_api.models import Capture, Case, PagePrintBand
from triage_api.sqlutil import insert_ignore

TEXT = "text"
FAMILY_LOCK = 0x6B7A_6661  # PostgreSQL advisory lock: one family linking at a time
MAX_CANDIDATES = 2000
SHOWN_IN_QUEUE = 3
SHOWN_ON_CASE = 50


@dataclass(frozen=True, slots=True)
class Mirror:
    """Another case of the same family, as the queue and the case page show it."""

    case_id: int
    url: str
    host: str
    status: str
    stage: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "case_id": self.case_id,
            "url": self.url,
            "host": self.host,
            "status": self.status,
            "stage": self.stage,
        }


def page_content(store: EvidenceStore, capture: Capture) -> tuple[str | None, str | None]:
    """The capture's visible text and HTML from the evidence store, cut to what prints read."""
    return (
        _read(store, capture.text_sha256, MAX_TEXT_CHARS),
        _read(store, capture.html_sha256, MAX_HTML_CHARS),
    )


def _read(store: EvidenceStore, sha256: str | None, chars: int) -> str | None:
    if not sha256:
        return None
    try:
        data = store.get(sha256)
    except EvidenceError:  # missing or altered: no print, the stage goes on
        return None
    return data[: chars * 4].decode("utf-8", "replace")[:chars]


def link_family(
    session: Session, case: Case, capture: Capture, text: str | None, html: str | None
) -> int | None:
    """Print the capture, index it, and put the case in the family of its mirrors (merging
    families the capture bridges). Returns the case's family id; running twice changes nothing."""
    settings = get_settings()
    usable = capture.http_status is None or capture.http_status < 400  # not error pages
    prints = page_prints(text, html) if usable else PagePrints(None, None)
    capture.text_print, capture.dom_print = prints.text, prints.dom
    if prints.text is None:
        return case.family_id
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.select(sa.func.pg_advisory_xact_lock(FAMILY_LOCK)))
    # Write before reading: on SQLite this waits for any other writer, so its bands are visible.
    insert_ignore(
        session,
        PagePrintBand,
        [
            {"capture_id": capture.id, "case_id": case.id, "kind": TEXT, "band": i, "value": v}
            for i, v in enumerate(bands(prints.text))
        ],
    )
    mates = _mirrors_of(session, case.id, prints, settings)
    if not mates:
        return case.family_id
    ids = {case.id, *mates}
    families = {f for f in (case.family_id, *mates.values()) if f is not None}
    family = min(ids | families)
    session.execute(
        sa.update(Case)
        .where(sa.or_(Case.id.in_(ids), Case.family_id.in_(families)))
        .where(sa.or_(Case.family_id.is_(None), Case.family_id != family))
        .values(family_id=family)
        .execution_options(synchronize_session=False)
    )
    attributes.set_committed_value(case, "family_id", family)
    return family


def _mirrors_of(
    session: Session, case_id: int, prints: PagePrints, settings: Settings
) -> dict[int, int | None]:
    """Other cases with a capture near these prints: case id → its family id."""
    assert prints.text is not None
    reach = max(settings.family_text_max_distance, settings.family_text_alone_distance)
    radius = reach // BAND_COUNT
    lookups = [
        sa.select(PagePrintBand.capture_id).where(
            PagePrintBand.kind == TEXT,
            PagePrintBand.band == band,
            PagePrintBand.value.in_(band_neighbours(value, radius)),
            PagePrintBand.case_id != case_id,
        )
        for band, value in enumerate(bands(prints.text))
    ]
    near = session.scalars(sa.union(*lookups).limit(MAX_CANDIDATES)).all()
    if not near:
        return {}
    rows = session.execute(
        sa.select(Capture.case_id, Capture.text_print, Capture.dom_print, Case.family_id)
        .join(Case, Case.id == Capture.case_id)
        .where(Capture.id.in_(near))
    ).all()
    return {
        row.case_id: row.family_id
        for row in rows
        if row.text_print and _is_mirror(prints, row.text_print, row.dom_print, settings)
    }


def _is_mirror(prints: PagePrints, text: str, dom: str | None, settings: Settings) -> bool:
    assert prints.text is not None
    apart = distance(prints.text, text)
    if apart <= settings.family_text_alone_distance:
        return True
    return (
        apart <= settings.family_text_max_distance
        and prints.dom is not None
        and dom is not None
        and distance(prints.dom, dom) <= settings.family_dom_max_distance
    )


def also_seen_at(
    session: Session, families: dict[int, int], *, shown: int = SHOWN_IN_QUEUE
) -> dict[int, tuple[list[Mirror], int]]:
    """For queue items (case id → family id): up to `shown` other open cases of each one's
    family, first reported first, and how many more there are."""
    if not families:
        return {}
    members = _members(session, set(families.values()), open_only=True, per_family=shown + 1)
    seen: dict[int, tuple[list[Mirror], int]] = {}
    for case_id, family in families.items():
        mirrors, total = members.get(family, ([], 0))
        others = [m for m in mirrors if m.case_id != case_id][:shown]
        if others:  # the queue's case is open, so `total` counts it too
            seen[case_id] = (others, max(0, total - 1 - len(others)))
    return seen


def family_of(session: Session, case: Case) -> dict[str, Any] | None:
    """The case page's view of its family: the other cases, any status, and how many more."""
    if case.family_id is None:
        return None
    mirrors, total = _members(session, {case.family_id}, per_family=SHOWN_ON_CASE + 1).get(
        case.family_id, ([], 0)
    )
    others = [m for m in mirrors if m.case_id != case.id][:SHOWN_ON_CASE]
    return {
        "id": case.family_id,
        "cases": [m.as_dict() for m in others],
        "more": max(0, total - 1 - len(others)),
    }


def _members(
    session: Session, families: set[int], *, per_family: int, open_only: bool = False
) -> dict[int, tuple[list[Mirror], int]]:
    """The first `per_family` cases of each family and the family's size."""
    ranked = sa.select(
        Case.id,
        Case.family_id,
        Case.canonical_url,
        Case.host,
        Case.status,
        Case.stage,
        sa.func.row_number().over(partition_by=Case.family_id, order_by=Case.id).label("n"),
        sa.func.count().over(partition_by=Case.family_id).label("total"),
    ).where(Case.family_id.in_(families))
    if open_only:
        ranked = ranked.where(Case.status == "open")
    sub = ranked.subquery()
    found: dict[int, tuple[list[Mirror], int]] = {}
    for row in session.execute(sa.select(sub).where(sub.c.n <= per_family).order_by(sub.c.n)):
        mirrors, _ = found.setdefault(row.family_id, ([], row.total))
        mirrors.append(Mirror(row.id, row.canonical_url, row.host, row.status, row.stage))
    return found
