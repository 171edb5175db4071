"""The analyse stage's classification step, without the database: what each model row says,
and that a missing model or Tesseract is reported as unavailable, never as a clean score."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from crawler import sandbox_sites
from crawler.evidence import EvidenceStore
from triage_api import classify
from triage_api.config import Settings
from triage_api.signals import model_signals


@pytest.fixture
def store(tmp_path: Path) -> EvidenceStore:
    return EvidenceStore(tmp_path / "evidence")


def _capture(store: EvidenceStore, *images: str) -> tuple[SimpleNamespace, list[SimpleNamespace]]:
    media = []
    for name in images:
        data = sandbox_sites.image_bytes(name)
        stored = store.put(data)
        media.append(SimpleNamespace(sha256=stored, width=900, height=330, hash_error=None))
    capture = SimpleNamespace(id=1, title="Arzan", screenshot_sha256=None)
    return capture, media


def test_without_tesseract_ocr_is_unavailable_not_empty(
    store: EvidenceStore, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HOTLINE_TESSERACT", str(tmp_path / "no-tesseract"))
    capture, media = _capture(store, "poster-price.png")
    rows = classify._text_rows(capture, "Прайс смотри на картинке", media, store, Settings())  # type: ignore[arg-type]
    by_model = {row["model"]: row for row in rows}
    ocr = by_model["hotline-text+ocr"]
    assert ocr["label"] == "unavailable" and "does not run" in ocr["explanation"]["unavailable"]
    assert by_model["hotline-text"]["label"] != "unavailable"  # the page text is still scored


def test_without_the_text_model_both_text_rows_are_unavailable(
    store: EvidenceStore, tmp_path: Path
) -> None:
    capture, media = _capture(store)
    settings = Settings(text_model_path=tmp_path / "missing.onnx")
    rows = classify._text_rows(capture, "text", media, store, settings)  # type: ignore[arg-type]
    assert {r["label"] for r in rows} == {"unavailable"}
    assert all("not found" in r["explanation"]["unavailable"] for r in rows)
    assert model_signals([SimpleNamespace(**r) for r in rows]) == []  # type: ignore[misc]


def test_nudity_row_scores_every_picture_and_skips_broken_evidence(store: EvidenceStore) -> None:
    _, media = _capture(store, "waves.png", "apples.jpg")
    media.append(SimpleNamespace(sha256="0" * 64, width=10, height=10, hash_error=None))
    row = classify._nudity_row(media, store, Settings())  # type: ignore[arg-type]
    assert row["model"] == "nudenet-320n" and row["label"] == "benign"
    scored = row["explanation"]["media"]
    assert len(scored) == 3 and scored[-1].get("error")
    assert all(0 <= m["score"] <= 1 for m in scored)


def test_signals_never_carry_csam_and_follow_the_taxonomy() -> None:
    rows = [
        SimpleNamespace(
            model="hotline-text",
            label="drugs",
            scores={"benign": 0.1, "drugs": 0.85, "csam": 0.05},
            explanation={"category": "drugs", "terms": [{"term": "меф", "weight": 0.3}]},
        ),
        SimpleNamespace(
            model="nudenet-320n", label="pornography", scores={"nudity": 0.7}, explanation={}
        ),
        SimpleNamespace(model="hotline-text+ocr", label="unavailable", scores={}, explanation={}),
    ]
    signals = model_signals(rows)  # type: ignore[arg-type]
    assert [(s.category, s.signal, s.terms) for s in signals] == [
        ("drugs", "text", ("меф",)),
        ("pornography", "image", ()),
    ]
    only_csam = SimpleNamespace(
        model="hotline-text", label="csam", scores={"benign": 0.1, "csam": 0.9}, explanation={}
    )
    assert model_signals([only_csam]) == []  # type: ignore[list-item]
