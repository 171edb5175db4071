"""The taxonomy: the fixed category ids, and the hotline's own names, severities, legal bases and
which signals may establish each category. Shipped as `taxonomy.json`; a hotline edits a copy.

`csam` lists no model signal: only a hash match or an analyst establishes it, and no text model
is trained for it.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
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
MIN_SEVERITY, MAX_SEVERITY = 0.0, 100.0
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
    """The taxonomy at `path`, or the shipped one; every category id must be there exactly once.

    Cached per file version (inode, size, modification time), so a copy saved by any process
    is what every process reads next.
    """
    where = str(path or SHIPPED)
    try:
        found = os.stat(where)
        version = (found.st_ino, found.st_size, found.st_mtime_ns)
    except OSError:
        version = (0, 0, 0)  # _load names the file and the problem
    return _load(where, version)


@lru_cache(maxsize=8)
def _load(path: str, version: tuple[int, int, int]) -> Taxonomy:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TaxonomyError(f"{path}: cannot be read as JSON ({exc})") from None
    return _parse(text, path)


def _parse(text: str, path: str) -> Taxonomy:
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
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
    if not isinstance(names, dict) or not all(
        isinstance(names.get(lang), str) and names[lang] for lang in LANGUAGES
    ):
        raise TaxonomyError(f"{where}: names needs ru, kk and en")
    severity = row.get("severity")
    if (
        isinstance(severity, bool)
        or not isinstance(severity, int | float)
        or not MIN_SEVERITY <= severity <= MAX_SEVERITY
    ):
        raise TaxonomyError(
            f"{where}: severity must be a number from {MIN_SEVERITY:g} to {MAX_SEVERITY:g}"
        )
    signals = frozenset(row.get("signals") or ())
    if not signals <= SIGNALS:
        raise TaxonomyError(f"{where}: unknown signals {sorted(signals - SIGNALS)}")
    basis = row.get("legal_basis") or {}
    if not isinstance(basis, dict):
        raise TaxonomyError(f"{where}: legal_basis must be an object with 'text' and 'confirmed'")
    return Category(
        id=row["id"],
        names={lang: names[lang] for lang in LANGUAGES},
        severity=float(severity),
        legal_basis=str(basis.get("text", "")),
        legal_basis_confirmed=bool(basis.get("confirmed", False)),
        signals=signals,
    )


def save(taxonomy: Taxonomy, path: Path) -> Taxonomy:
    """Write `taxonomy` to `path` (the hotline's copy) and return it as loaded from there.

    Checked by loading the very text to be written before anything is replaced; written to a
    temporary file beside `path` and moved over it, so readers see the old or the new file,
    never half of one. Keys this module does not read (the file's note, a category's own
    comments) are kept from the file the taxonomy came from.
    """
    if Path(path).resolve() == SHIPPED.resolve():
        raise TaxonomyError(f"{path}: the shipped taxonomy is not edited; save a copy elsewhere")
    text = json.dumps(_document(taxonomy), ensure_ascii=False, indent=2) + "\n"
    _parse(text, str(path))
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=".taxonomy-", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    _load.cache_clear()
    return load(target)


def _document(taxonomy: Taxonomy) -> dict[str, Any]:
    try:
        earlier = json.loads(Path(taxonomy.source).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        earlier = {}
    if not isinstance(earlier, dict):
        earlier = {}
    kept = {
        row["id"]: row
        for row in earlier.get("categories") or ()
        if isinstance(row, dict) and isinstance(row.get("id"), str)
    }
    rows = []
    for category in taxonomy.categories.values():
        if not math.isfinite(category.severity):
            raise TaxonomyError(f"category {category.id}: severity must be a finite number")
        rows.append(
            {
                **kept.get(category.id, {}),
                "id": category.id,
                "names": {lang: category.names[lang] for lang in LANGUAGES},
                "severity": category.severity,
                "legal_basis": {
                    "text": category.legal_basis,
                    "confirmed": category.legal_basis_confirmed,
                },
                "signals": sorted(category.signals),
            }
        )
    return {**earlier, "version": earlier.get("version", 1), "categories": rows}
