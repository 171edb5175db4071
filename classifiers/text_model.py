"""The text classifier as served: an ONNX graph run by onnxruntime, one thread, batched.

Every result names the model and its version, gives a probability per label, and explains the
most likely harmful category by the words of the page that pushed its score up most.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from classifiers.onnx_session import cpu_session
from classifiers.text_explain import top_words
from classifiers.text_features import (
    FEATURES_VERSION,
    ROWS_LAYOUT,
    Batch,
    Vocabulary,
    batch,
    token_codes,
)

BENIGN = "benign"
BATCH = 8  # small batches keep the gathered weight rows of the graph in cache


class ModelUnavailable(RuntimeError):
    """The model file is missing, unreadable or made for other features; says which."""


@dataclass(frozen=True, slots=True)
class TextScore:
    label: str
    scores: dict[str, float]
    explanation: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"label": self.label, "scores": self.scores, "explanation": self.explanation}


def default_path() -> Path:
    """`HOTLINE_TEXT_MODEL`, else the model shipped in the repository's `models/`."""
    override = os.environ.get("HOTLINE_TEXT_MODEL")
    if override:
        return Path(override)
    return Path(__file__).resolve().parent.parent / "models" / "text_classifier.onnx"


class TextClassifier:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_path()
        vocab_path = self.path.with_suffix(".vocab.npz")
        if not self.path.is_file() or not vocab_path.is_file():
            raise ModelUnavailable(f"text model not found at {self.path} (and {vocab_path.name})")
        try:
            self.session = cpu_session(self.path)
            with np.load(vocab_path, allow_pickle=False) as data:
                self.vocabulary = Vocabulary(data["hashes"], [str(t) for t in data["terms"]])
        except Exception as exc:  # onnxruntime raises its own types for corrupt files
            raise ModelUnavailable(f"text model at {self.path} cannot be read: {exc}") from exc
        meta = self.session.get_modelmeta().custom_metadata_map
        if meta.get("features") != FEATURES_VERSION:
            raise ModelUnavailable(
                f"text model at {self.path} was trained on features {meta.get('features')!r}; "
                f"this code makes {FEATURES_VERSION!r}: retrain it"
            )
        if meta.get("layout") != ROWS_LAYOUT or meta.get("columns") != str(len(self.vocabulary)):
            raise ModelUnavailable(
                f"text model at {self.path} lays out its rows as {meta.get('layout')!r} for "
                f"{meta.get('columns')} columns; this code feeds {ROWS_LAYOUT!r} for the "
                f"{len(self.vocabulary)} of its vocabulary: export it again"
            )
        self.name = meta.get("name", self.path.stem)
        self.version = meta.get("version", "unknown")
        self.labels: list[str] = json.loads(meta["labels"])

    def probabilities(self, texts: list[str]) -> np.ndarray:
        """Probabilities per text and label (columns in `self.labels` order)."""
        found = [np.zeros((0, len(self.labels)), dtype=np.float32)]
        for _, counted in self._batches(texts):
            found.append(self.session.run(["probabilities"], counted.inputs)[0])
        return np.concatenate(found)

    def classify(self, texts: list[str]) -> list[TextScore]:
        results: list[TextScore] = []
        for chunk, counted in self._batches(texts):
            probabilities, explained, contributions = self.session.run(
                ["probabilities", "explained", "contributions"], counted.inputs
            )
            for i, clean in enumerate(chunk):
                known = len(counted.starts[i])  # rows are padded at the end
                words = top_words(
                    clean, contributions[i, :known], counted.starts[i], counted.ends[i]
                )
                results.append(self._score(probabilities[i], int(explained[i]), known, words))
        return results

    def _batches(self, texts: list[str]) -> Iterator[tuple[list[np.ndarray], Batch]]:
        """`BATCH` texts at a time: their `token_codes` and the graph's input."""
        for start in range(0, len(texts), BATCH):
            chunk = [token_codes(text) for text in texts[start : start + BATCH]]
            yield chunk, batch(self.vocabulary, chunk)

    def _score(
        self,
        probabilities: np.ndarray,
        explained: int,
        known: int,
        words: list[tuple[str, float]],
    ) -> TextScore:
        """The label is the most probable one; the explanation is about the most probable
        harmful category (the graph's `explained`), whatever the label."""
        scores = {
            label: round(float(p), 6) for label, p in zip(self.labels, probabilities, strict=True)
        }
        label = self.labels[int(np.argmax(probabilities))] if known else BENIGN
        terms = [{"term": word, "weight": round(weight, 4)} for word, weight in words]
        explanation = {"category": self.labels[explained], "terms": terms, "model": self.name}
        return TextScore(label, scores, explanation)
