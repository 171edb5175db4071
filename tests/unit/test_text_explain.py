"""Explanations name whole words of the page: a feature is widened to the word(s) it lies in,
features of one word are summed, and only the largest positive contributions are named."""

from __future__ import annotations

import numpy as np

from classifiers.text_explain import TOP_TERMS, top_words
from classifiers.text_features import as_text, token_codes


def _explain(text: str, features: list[tuple[str, float]]) -> list[tuple[str, float]]:
    clean = token_codes(text)
    page = as_text(clean)
    starts, ends, weights = [], [], []
    for feature, weight in features:
        at = page.index(feature)
        starts.append(at)
        ends.append(at + len(feature))
        weights.append(weight)
    return top_words(
        clean,
        np.array(weights, dtype=np.float32),
        np.array(starts, dtype=np.int64),
        np.array(ends, dtype=np.int64),
    )


def test_a_feature_reads_as_the_word_it_comes_from() -> None:
    found = _explain("Закладки в Алмате", [("клад", 0.5), (" ал", 0.25), ("те ", 0.125)])
    assert found == [("закладки", 0.5), ("алмате", 0.375)]


def test_a_word_pair_stays_a_pair_and_spaces_alone_name_nothing() -> None:
    found = _explain("меф соль шишки", [("меф соль", 0.5), ("ь ш", 0.25)])
    assert found == [("меф соль", 0.5), ("соль шишки", 0.25)]
    assert _explain("меф", []) == []


def test_only_pushes_up_are_named_and_at_most_six_largest_first() -> None:
    words = "один два три четыре пять шесть семь восемь"
    features = [(word, 0.1 * (i + 1)) for i, word in enumerate(words.split())]
    found = _explain(words, [*features, ("дин", -5.0)])
    assert [w for w, _ in found] == words.split()[::-1][:TOP_TERMS]
    assert all(weight > 0 for _, weight in found)
    assert _explain(words, [("один", -1.0), ("два", 0.0)]) == []
