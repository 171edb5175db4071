"""Held-out figures: macro-F1, per category and per language, hard-negative false positives,
confusion matrix, and a Markdown rendering of them for the model card."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.metrics import confusion_matrix, f1_score, precision_recall_fscore_support

from models.training import corpus
from models.training.corpus import LANGS, Sample
from models.training.fit import Recipe, fit


def report(
    samples: Sequence[Sample], predicted: Sequence[str], labels: Sequence[str]
) -> dict[str, Any]:
    truth = [s.label for s in samples]
    precision, recall, f1, support = precision_recall_fscore_support(
        truth, predicted, labels=list(labels), zero_division=0
    )
    per_category = {
        label: {
            "precision": round(float(p), 4),
            "recall": round(float(r), 4),
            "f1": round(float(f), 4),
            "support": int(n),
        }
        for label, p, r, f, n in zip(labels, precision, recall, f1, support, strict=True)
    }
    per_language: dict[str, Any] = {}
    for lang in LANGS:
        idx = [i for i, s in enumerate(samples) if s.lang == lang]
        if idx:
            per_language[lang] = {
                "macro_f1": round(
                    float(
                        f1_score(
                            [truth[i] for i in idx],
                            [predicted[i] for i in idx],
                            labels=sorted({truth[i] for i in idx}),
                            average="macro",
                            zero_division=0,
                        )
                    ),
                    4,
                ),
                "accuracy": round(float(np.mean([truth[i] == predicted[i] for i in idx])), 4),
                "n": len(idx),
            }
    obfuscated = [i for i, s in enumerate(samples) if s.obfuscation != "none"]
    hard = [i for i, s in enumerate(samples) if s.hard_negative]
    benign = [i for i, s in enumerate(samples) if s.label == "benign"]
    return {
        "n": len(samples),
        "macro_f1": round(
            float(f1_score(truth, predicted, labels=list(labels), average="macro")), 4
        ),
        "accuracy": round(
            float(np.mean([t == p for t, p in zip(truth, predicted, strict=True)])), 4
        ),
        "hard_negative_fpr": _rate(hard, predicted),
        "hard_negatives": len(hard),
        "benign_fpr": _rate(benign, predicted),
        "obfuscated_accuracy": round(
            float(np.mean([truth[i] == predicted[i] for i in obfuscated])), 4
        )
        if obfuscated
        else None,
        "obfuscated": len(obfuscated),
        "per_category": per_category,
        "per_language": per_language,
        "labels": list(labels),
        "confusion": confusion_matrix(truth, predicted, labels=list(labels)).tolist(),
    }


def _rate(indices: list[int], predicted: Sequence[str]) -> float | None:
    if not indices:
        return None
    return round(sum(predicted[i] != "benign" for i in indices) / len(indices), 4)


def markdown(figures: dict[str, Any]) -> str:
    """The figures as the tables the model card shows."""
    labels = figures["labels"]
    lines = [
        f"- texts: {figures['n']}; macro-F1 **{figures['macro_f1']}**; "
        f"accuracy {figures['accuracy']}",
        f"- hard negatives called harmful: **{figures['hard_negative_fpr']}** "
        f"(of {figures['hard_negatives']}); all benign called harmful: {figures['benign_fpr']}",
        f"- obfuscated texts right: {figures['obfuscated_accuracy']} (of {figures['obfuscated']})",
        "",
        "| category | precision | recall | F1 | n |",
        "|---|---|---|---|---|",
    ]
    for label in labels:
        row = figures["per_category"][label]
        lines.append(
            f"| {label} | {row['precision']} | {row['recall']} | {row['f1']} | {row['support']} |"
        )
    lines += ["", "| language | macro-F1 | accuracy | n |", "|---|---|---|---|"]
    for lang, row in figures["per_language"].items():
        lines.append(f"| {lang} | {row['macro_f1']} | {row['accuracy']} | {row['n']} |")
    lines += ["", "Confusion (rows: truth, columns: predicted)", ""]
    lines.append("| | " + " | ".join(label[:5] for label in labels) + " |")
    lines.append("|---" * (len(labels) + 1) + "|")
    for label, row in zip(labels, figures["confusion"], strict=True):
        lines.append(f"| {label} | " + " | ".join(str(v) for v in row) + " |")
    return "\n".join(lines)


def cross_validate(samples: list[Sample], recipe: Recipe, folds: int) -> list[float]:
    """Macro-F1 of each of `folds` site-grouped folds, the model refit on the others each time."""
    from sklearn.model_selection import GroupKFold

    groups = corpus.site_groups(samples)
    labels = [s.label for s in samples]
    scores = []
    for train_idx, test_idx in GroupKFold(n_splits=folds).split(samples, labels, groups):
        train = [samples[i] for i in train_idx]
        test = [samples[i] for i in test_idx]
        model = fit(
            corpus.texts(train),
            [s.label for s in train],
            corpus.site_groups(train),
            recipe,
            [s.hard_negative for s in train],
        )
        predicted = list(model.predict(corpus.texts(test)))
        scores.append(report(test, predicted, corpus.LABELS)["macro_f1"])
    return scores
