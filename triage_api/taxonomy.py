"""Category ids every part agrees on; names, severities and legal bases come from the taxonomy
file (`classifiers/taxonomy.json`, or the hotline's copy: `HOTLINE_TAXONOMY_PATH`, else
`DATA_DIR/taxonomy.json` once the supervisor page saved one)."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

from sqlalchemy.orm import Session

from classifiers.taxonomy import (
    CATEGORY_IDS,
    LANGUAGES,
    MAX_SEVERITY,
    MIN_SEVERITY,
    Taxonomy,
    TaxonomyError,
    load,
    save,
)
from triage_api import audit
from triage_api.config import get_settings

CATEGORIES: tuple[str, ...] = CATEGORY_IDS
MAX_NAME = 200
MAX_LEGAL_BASIS = 2000


def taxonomy() -> Taxonomy:
    return load(get_settings().taxonomy_in_force())


def check_category(category: str | None) -> str | None:
    """The category id, or ValueError naming the allowed ones."""
    if category is None or category == "":
        return None
    if category not in CATEGORIES:
        raise ValueError(f"unknown category '{category[:40]}'; use one of {', '.join(CATEGORIES)}")
    return category


def edit_category(
    session: Session,
    category_id: str,
    *,
    actor: str,
    names: dict[str, str],
    severity: float,
    legal_basis: str,
    confirmed: bool,
) -> dict[str, Any]:
    """Change what a hotline may change of one category (not its id, not its signals), audit it
    and save the hotline's copy; what changed, as {field: [before, after]}. TaxonomyError when
    refused. The file is written last, once the audit entry is in the caller's transaction."""
    current = taxonomy()
    if category_id not in current.categories:
        raise TaxonomyError(f"there is no category '{category_id[:40]}'")
    names = {lang: (names.get(lang) or "").strip() for lang in LANGUAGES}
    if not all(names.values()) or any(len(name) > MAX_NAME for name in names.values()):
        raise TaxonomyError(f"a category needs a name in ru, kk and en (1-{MAX_NAME} characters)")
    if not math.isfinite(severity) or not MIN_SEVERITY <= severity <= MAX_SEVERITY:
        raise TaxonomyError(f"severity must be a number from {MIN_SEVERITY:g} to {MAX_SEVERITY:g}")
    legal_basis = legal_basis.strip()
    if len(legal_basis) > MAX_LEGAL_BASIS:
        raise TaxonomyError(f"a legal basis has at most {MAX_LEGAL_BASIS} characters")
    before = current[category_id]
    after = replace(
        before,
        names=names,
        severity=float(severity),
        legal_basis=legal_basis,
        legal_basis_confirmed=confirmed,
    )
    changed = {
        field: [getattr(before, field), getattr(after, field)]
        for field in ("names", "severity", "legal_basis", "legal_basis_confirmed")
        if getattr(before, field) != getattr(after, field)
    }
    if changed:
        path = get_settings().taxonomy_copy
        audit.record(
            session,
            actor=actor,
            action="taxonomy.changed",
            subject=f"category:{category_id}",
            file=str(path),
            **changed,
        )
        save(Taxonomy({**current.categories, category_id: after}, current.source), path)
    return changed
