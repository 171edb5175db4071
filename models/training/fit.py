"""Fit the text model: n-gram counts → TF-IDF → linear SVM, calibrated by sigmoid on grouped folds.

Features come from `classifiers.text_features`, the code that serves the model, so training and
serving cannot tokenize differently.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfTransformer
from sklearn.model_selection import GroupKFold
from sklearn.pipeline import Pipeline
from sklearn.svm import LinearSVC

from classifiers.text_features import Vocabulary, as_text, spans, token_codes


@dataclass
class Recipe:
    """The hyperparameters; `train_text_classifier.py --help` names them."""

    min_df: int = 2
    c: float = 2.0
    folds: int = 5
    seed: int = 20261129
    class_weight: str | None = "balanced"
    # Lawful pages that share a harmful category's words count this many times in the fit: a
    # false alarm on them costs the hotline more than one more missed ad of the same kind.
    hard_negative_weight: float = 2.0
    extra: dict[str, object] = field(default_factory=dict)


class NgramCounts(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Texts → sparse counts over the vocabulary of features seen in at least `min_df` texts."""

    def __init__(self, min_df: int = 2) -> None:
        self.min_df = min_df

    def fit(self, texts: Sequence[str], y: object = None) -> NgramCounts:
        documents: Counter[int] = Counter()
        names: dict[int, str] = {}
        for text in texts:
            codes = token_codes(text)
            clean = as_text(codes)
            found = spans(codes)
            hashes, first = np.unique(found.hashes, return_index=True)
            documents.update(hashes.tolist())
            for h, i in zip(hashes.tolist(), first.tolist(), strict=True):
                if h not in names:
                    names[h] = clean[found.starts[i] : found.ends[i]]
        kept = sorted(h for h, n in documents.items() if n >= self.min_df)
        self.vocabulary_ = Vocabulary(np.array(kept, dtype=np.uint64), [names[h] for h in kept])
        return self

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        indptr = [0]
        cols: list[np.ndarray] = []
        values: list[np.ndarray] = []
        for text in texts:
            c, k = self.vocabulary_.counts(token_codes(text))
            cols.append(c)
            values.append(k)
            indptr.append(indptr[-1] + len(c))
        shape = (len(texts), len(self.vocabulary_))
        data = np.concatenate(values) if values else np.zeros(0, np.float32)
        index = np.concatenate(cols) if cols else np.zeros(0, np.int64)
        matrix = sp.csr_matrix((data.astype(np.float64), index, indptr), shape=shape)
        matrix.sort_indices()  # counts come in the order each text has them
        return matrix


def pipeline(recipe: Recipe, groups: Sequence[str], labels: Sequence[str]) -> Pipeline:
    """The untrained model; calibration folds keep each site's texts on one side."""
    folds = min(recipe.folds, len(set(groups)))
    splits = list(GroupKFold(n_splits=folds).split(np.zeros(len(labels)), labels, groups))
    svm = LinearSVC(C=recipe.c, class_weight=recipe.class_weight, random_state=recipe.seed)
    return Pipeline(
        [
            ("counts", NgramCounts(min_df=recipe.min_df)),
            ("tfidf", TfidfTransformer(sublinear_tf=True)),
            ("model", CalibratedClassifierCV(svm, method="sigmoid", cv=splits, ensemble=False)),
        ]
    )


def fit(
    texts: Sequence[str],
    labels: Sequence[str],
    groups: Sequence[str],
    recipe: Recipe,
    hard_negatives: Sequence[bool] | None = None,
) -> Pipeline:
    model = pipeline(recipe, groups, labels)
    if hard_negatives is None or recipe.hard_negative_weight == 1.0:
        model.fit(list(texts), list(labels))
    else:
        weights = np.where(np.asarray(hard_negatives, bool), recipe.hard_negative_weight, 1.0)
        model.fit(list(texts), list(labels), model__sample_weight=weights)
    return model
