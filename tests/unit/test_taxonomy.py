"""The shipped taxonomy is complete; a hotline's copy overrides it and is checked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from classifiers.taxonomy import CATEGORY_IDS, SHIPPED, TaxonomyError, load
from triage_api.config import Settings


def test_shipped_taxonomy_names_every_category_in_three_languages() -> None:
    taxonomy = load()
    assert tuple(taxonomy.categories) == CATEGORY_IDS
    for category in taxonomy.categories.values():
        assert all(category.names[lang] for lang in ("ru", "kk", "en"))
        if category.id != "benign":
            assert not category.legal_basis_confirmed  # nobody confirmed them yet
            assert "to be confirmed" in category.legal_basis


def test_csam_is_established_only_by_hashes_and_analysts() -> None:
    taxonomy = load()
    assert taxonomy["csam"].signals == {"hash", "analyst"}
    assert not taxonomy.allows("csam", "text") and not taxonomy.allows("csam", "image")
    assert taxonomy.allows("drugs", "text") and taxonomy.allows("pornography", "image")


def _copy(tmp_path: Path, edit: object) -> Path:
    data = json.loads(SHIPPED.read_text())
    edit(data)  # type: ignore[operator]
    path = tmp_path / "taxonomy.json"
    path.write_text(json.dumps(data, ensure_ascii=False))
    return path


def test_a_hotline_copy_sets_the_severities(tmp_path: Path) -> None:
    def gambling_first(data: dict) -> None:
        next(c for c in data["categories"] if c["id"] == "gambling")["severity"] = 9.5

    path = _copy(tmp_path, gambling_first)
    assert Settings(taxonomy_path=path).severity["gambling"] == 9.5
    assert Settings(taxonomy_path=path, severity={"gambling": 1.0}).severity == {"gambling": 1.0}


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d["categories"].pop(), "missing categories benign"),
        (lambda d: d["categories"][0]["signals"].append("text"), "csam is established"),
        (lambda d: d["categories"][1].update(id="spam"), "'spam' is not a category id"),
        (lambda d: d["categories"][1].update(severity="high"), "severity must be a number"),
        (lambda d: d["categories"][1]["names"].pop("kk"), "names needs ru, kk and en"),
        (lambda d: d["categories"].append(d["categories"][1]), "appears twice"),
    ],
)
def test_bad_copies_are_refused_naming_the_problem(
    tmp_path: Path, edit: object, message: str
) -> None:
    with pytest.raises(TaxonomyError, match=message):
        load(_copy(tmp_path, edit))


def test_unreadable_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    path.write_text("{not json")
    with pytest.raises(TaxonomyError, match="cannot be read"):
        load(path)
