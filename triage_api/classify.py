"""The analyse stage's classification step: the page's text, the text in its pictures and the
pictures themselves get model scores, stored per capture with model name and version.

A model that cannot run here (no model file, no Tesseract) leaves a row labelled `unavailable`
with the reason, so the case page says the signal is missing instead of showing nothing.
Rows are upserted on (capture, model): running the step twice leaves one row per model.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from classifiers.nudity import MODEL_NAME as NUDITY_MODEL
from classifiers.nudity import DetectorUnavailable, NudityDetector
from classifiers.ocr import OcrUnavailable, read_text
from classifiers.text_features import model_text
from classifiers.text_model import ModelUnavailable, TextClassifier
from crawler.evidence import EvidenceError, EvidenceStore
from triage_api.config import Settings
from triage_api.models import Capture, Classification, Media, utcnow
from triage_api.sqlutil import upsert_for

log = logging.getLogger(__name__)
UNAVAILABLE = "unavailable"
TEXT_MODEL = "hotline-text"
OCR_SUFFIX = "+ocr"


@lru_cache(maxsize=2)
def text_classifier(path: Path | None) -> TextClassifier:
    return TextClassifier(path)


@lru_cache(maxsize=1)
def nudity_detector() -> NudityDetector:
    return NudityDetector()


def classify_capture(
    session: Session,
    *,
    case_id: int,
    capture: Capture,
    page_text: str | None,
    media: list[Media],
    store: EvidenceStore,
    settings: Settings,
) -> None:
    rows = []
    if settings.classify_text:
        rows += _text_rows(capture, page_text or "", media, store, settings)
    if settings.classify_images:
        rows.append(_nudity_row(media, store, settings))
    for row in rows:
        _upsert(session, case_id=case_id, capture_id=capture.id, **row)


def _text_rows(
    capture: Capture, page: str, media: list[Media], store: EvidenceStore, settings: Settings
) -> list[dict[str, Any]]:
    try:
        model = text_classifier(settings.text_model_path)
    except ModelUnavailable as exc:
        log.warning("text model unavailable: %s", exc)
        reason = {"unavailable": str(exc)}
        return [_missing(TEXT_MODEL, reason), _missing(TEXT_MODEL + OCR_SUFFIX, reason)]
    rows = [_text_row(model, model.name, model_text(page, capture.title), {})]
    ocr = _ocr_text(capture, media, store, settings)
    name = model.name + OCR_SUFFIX
    if "unavailable" in ocr:
        rows.append(_missing(name, ocr, version=model.version))
    else:
        rows.append(_text_row(model, name, ocr.pop("text"), ocr))
    return rows


def _text_row(model: TextClassifier, name: str, text: str, extra: dict[str, Any]) -> dict[str, Any]:
    (result,) = model.classify([text])
    explanation = result.explanation | {"chars": len(text)} | extra
    return {
        "model": name,
        "version": model.version,
        "label": result.label,
        "scores": result.scores,
        "explanation": explanation,
    }


def _ocr_text(
    capture: Capture, media: list[Media], store: EvidenceStore, settings: Settings
) -> dict[str, Any]:
    """The text Tesseract reads in the screenshot and the largest pictures, kept as evidence."""
    if not settings.ocr_enabled:
        return {"unavailable": "OCR switched off (HOTLINE_OCR_ENABLED=false)"}
    pictures = sorted(
        (m for m in media if m.width and m.height and not m.hash_error),
        key=lambda m: -(m.width or 0) * (m.height or 0),
    )[: settings.ocr_max_images]
    sources = ([capture.screenshot_sha256] if capture.screenshot_sha256 else []) + [
        m.sha256 for m in pictures
    ]
    texts, errors, languages = [], [], ""
    for sha256 in sources:
        data = _evidence(store, sha256)
        if data is None:
            errors.append({"sha256": sha256, "error": "evidence missing or altered"})
            continue
        try:
            found = read_text(data, timeout_s=settings.ocr_timeout_s)
        except OcrUnavailable as exc:
            return {"unavailable": str(exc)}
        languages = found.languages
        if found.error:
            errors.append({"sha256": sha256, "error": found.error})
        elif found.text:
            texts.append(found.text)
    text = "\n".join(texts)
    evidence = store.put(text.encode("utf-8")) if text else None
    return {
        "text": text,
        "ocr_languages": languages,
        "ocr_sources": len(sources),
        "ocr_text_sha256": evidence,
        "ocr_errors": errors,
    }


def _nudity_row(media: list[Media], store: EvidenceStore, settings: Settings) -> dict[str, Any]:
    try:
        detector = nudity_detector()
    except DetectorUnavailable as exc:
        return _missing(NUDITY_MODEL, {"unavailable": str(exc)})
    pictures = [m for m in media if not m.hash_error][: settings.nudity_max_images]
    data = [_evidence(store, m.sha256) or b"" for m in pictures]
    results = detector.detect(data)
    per_media = [{"sha256": m.sha256} | r.as_dict() for m, r in zip(pictures, results, strict=True)]
    score = max((r.score for r in results), default=0.0)
    return {
        "model": detector.name,
        "version": detector.version,
        "label": "pornography" if score >= settings.nudity_threshold else "benign",
        "scores": {"nudity": round(score, 4)},
        "explanation": {"media": per_media, "threshold": settings.nudity_threshold},
    }


def _missing(model: str, reason: dict[str, Any], version: str = "-") -> dict[str, Any]:
    return {
        "model": model,
        "version": version,
        "label": UNAVAILABLE,
        "scores": {},
        "explanation": {"unavailable": reason.get("unavailable", str(reason))},
    }


def _evidence(store: EvidenceStore, sha256: str) -> bytes | None:
    try:
        return store.get(sha256)
    except EvidenceError:  # missing or altered: that picture is skipped, the stage goes on
        return None


def _upsert(session: Session, *, case_id: int, capture_id: int, **row: Any) -> None:
    values = {"case_id": case_id, "capture_id": capture_id, "created_at": utcnow(), **row}
    insert = upsert_for(session)(Classification).values(values)
    session.execute(
        insert.on_conflict_do_update(
            index_elements=["capture_id", "model"],
            set_={k: insert.excluded[k] for k in ("version", "label", "scores", "explanation")},
        )
    )


def stored(session: Session, capture_id: int) -> list[Classification]:
    return list(
        session.scalars(
            sa.select(Classification)
            .where(Classification.capture_id == capture_id)
            .order_by(Classification.model)
        )
    )
