"""The taxonomy: the fixed category ids, and the hotline's own names, severities, legal bases and
which signals may establish each category. Shipped as `taxonomy.json`; a hotline edits a copy.

`csam` lists no model signal: only a hash match or an analyst establishes it, and no text model
is trained for it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

CATEGORY_IDS: tuple[str, ...] = (
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
SIGNALS = frozenset({"hash", "analyst", "text", "image"})
LANGUAGES = ("ru", "kk", "en")
SHIPPED = Path(__file__).with_name("taxonomy.json")


class TaxonomyError(ValueError):
    """A taxonomy file that cannot be used; the message names the file and the problem."""


@dataclass(frozen=True, slots=True)
class Category:
    id: str
    names: dict[str, str]
    severity: float
    legal_basis: str
    legal_basis_confirmed: bool
    signals: frozenset[str]

    def name(self, language: str = "en") -> str:
        return self.names.get(language) or self.names["en"]


@dataclass(frozen=True, slots=True)
class Taxonomy:
    categories: dict[str, Category]
    source: str

    def __getitem__(self, category_id: str) -> Category:
        return self.categories[category_id]

    def severities(self) -> dict[str, float]:
        return {c.id: c.severity for c in self.categories.values()}

    def allows(self, category_id: str, signal: str) -> bool:
        """Whether `signal` ("text", "image", …) may establish `category_id`."""
        category = self.categories.get(category_id)
        return category is not None and signal in category.signals


def load(path: Path | None = None) -> Taxonomy:
    """The taxonomy at `path`, or the shipped one; every category id must be there exactly once."""
    return _load(str(path or SHIPPED))


@lru_cache(maxsize=8)
def _load(path: str) -> Taxonomy:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise TaxonomyError(f"{path}: cannot be read as JSON ({exc})") from None
    rows = data.get("categories") if isinstance(data, dict) else None
    if not isinstance(rows, list):
        raise TaxonomyError(f"{path}: expected an object with a 'categories' list")
    categories = {}
    for row in rows:
        category = _category(row, path)
        if category.id in categories:
            raise TaxonomyError(f"{path}: category {category.id!r} appears twice")
        categories[category.id] = category
    missing = [c for c in CATEGORY_IDS if c not in categories]
    if missing:
        raise TaxonomyError(f"{path}: missing categories {', '.join(missing)}")
    if categories["csam"].signals & {"text", "image"}:
        raise TaxonomyError(f"{path}: csam is established by hash matches and analysts only")
    return Taxonomy({c: categories[c] for c in CATEGORY_IDS}, path)


def _category(row: Any, path: str) -> Category:
    if not isinstance(row, dict) or row.get("id") not in CATEGORY_IDS:
        got = row.get("id") if isinstance(row, dict) else row
        raise TaxonomyError(f"{path}: {got!r} is not a category id ({', '.join(CATEGORY_IDS)})")
    where = f"{path}: category {row['id']}"
    names = row.get("names") or {}
    if not all(isinstance(names.get(lang), str) and names[lang] for lang in LANGUAGES):
        raise TaxonomyError(f"{where}: names needs ru, kk and en")
    severity = row.get("severity")
    if not isinstance(severity, int | float) or not 0 <= severity <= 100:
        raise TaxonomyError(f"{where}: severity must be a number from 0 to 100")
    signals = frozenset(row.get("signals") or ())
    if not signals <= SIGNALS:
        raise TaxonomyError(f"{where}: unknown signals {sorted(signals - SIGNALS)}")
    basis = row.get("legal_basis") or {}
    return Category(
        id=row["id"],
        names={lang: names[lang] for lang in LANGUAGES},
        severity=float(severity),
        legal_basis=str(basis.get("text", "")),
        legal_basis_confirmed=bool(basis.get("confirmed", False)),
        signals=signals,
    )
