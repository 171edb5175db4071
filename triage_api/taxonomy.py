"""Category ids every part agrees on; names, severities and legal bases come from the taxonomy
file (`classifiers/taxonomy.json`, or the hotline's copy at `HOTLINE_TAXONOMY_PATH`)."""

from __future__ import annotations

from classifiers.taxonomy import CATEGORY_IDS, Taxonomy, load
from triage_api.config import get_settings

CATEGORIES: tuple[str, ...] = CATEGORY_IDS


def taxonomy() -> Taxonomy:
    return load(get_settings().taxonomy_path)


def check_category(category: str | None) -> str | None:
    """The category id, or ValueError naming the allowed ones."""
    if category is None or category == "":
        return None
    if category not in CATEGORIES:
        raise ValueError(f"unknown category '{category[:40]}'; use one of {', '.join(CATEGORIES)}")
    return category
