"""Category ids every part agrees on; names, severities and legal bases are configuration."""

from __future__ import annotations

CATEGORIES: tuple[str, ...] = (
    "csam",
    "extremism",
    "suicide",
    "drugs",
    "pornography",
    "fraud",
    "gambling",
    "weapons",
    "benign",
)


def check_category(category: str | None) -> str | None:
    """The category id, or ValueError naming the allowed ones."""
    if category is None or category == "":
        return None
    if category not in CATEGORIES:
        raise ValueError(f"unknown category '{category[:40]}'; use one of {', '.join(CATEGORIES)}")
    return category
