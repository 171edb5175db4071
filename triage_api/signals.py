"""Stored classifications → the model signals scoring weighs, filtered by the taxonomy: a model
counts only for categories its kind of signal may establish (never `csam`)."""

from __future__ import annotations

from classifiers.nudity import MODEL_NAME as NUDITY_MODEL
from triage_api.classify import UNAVAILABLE
from triage_api.models import Classification
from triage_api.scoring import ModelSignal
from triage_api.taxonomy import taxonomy

BENIGN = "benign"


def model_signals(rows: list[Classification]) -> list[ModelSignal]:
    allowed = taxonomy()
    signals: list[ModelSignal] = []
    for row in rows:
        if row.label == UNAVAILABLE:
            continue
        if row.model == NUDITY_MODEL:
            category, probability = "pornography", float(row.scores.get("nudity", 0))
            terms: tuple[str, ...] = ()
            kind = "image"
        else:
            harmful = {k: float(v) for k, v in row.scores.items() if k != BENIGN}
            if not harmful:
                continue
            category = max(harmful, key=lambda k: harmful[k])
            probability = harmful[category]
            explained = row.explanation or {}
            terms = tuple(
                str(t.get("term"))
                for t in explained.get("terms", [])
                if explained.get("category") == category
            )
            kind = "text"
        if allowed.allows(category, kind):
            signals.append(ModelSignal(row.model, kind, category, probability, terms))
    return signals
