"""Feature hashes: the same substring has the same hash wherever it appears, words are cut as
the regex definition says, and the vocabulary finds exactly the features it holds."""

from __future__ import annotations

import random
from collections import Counter

import numpy as np
import pytest

from classifiers.text_features import CHAR_SIZES, Vocabulary, batch, spans, token_codes, tokens
from classifiers.text_normalize import LEET, NON, classes, code_points, normalize


def _features(text: str) -> dict[str, set[int]]:
    clean = token_codes(text)
    found = spans(clean)
    words = clean.tobytes().decode("utf-32-le")
    by_text: dict[str, set[int]] = {}
    for start, end, value in zip(found.starts, found.ends, found.hashes, strict=True):
        by_text.setdefault(f"{end - start}:{words[start:end]}", set()).add(int(value))
    return by_text


def test_a_substring_hashes_the_same_everywhere() -> None:
    first = _features("Закладки в Алмате. Қазақ тілі")
    second = _features("тут ЗАКЛАДКИ и қазақ тілі, ещё закладки")
    shared = set(first) & set(second)
    assert " закладки " not in shared  # words are tagged apart from character n-grams
    assert any(key.endswith("закладки") for key in shared)
    for key in shared:
        assert first[key] & second[key], key


def test_char_ngrams_words_and_word_pairs_are_all_there() -> None:
    clean = tokens("один два три")
    assert clean == " один два три "
    found = spans(token_codes("один два три"))
    n = len(clean)
    chars = sum(n - size + 1 for size in CHAR_SIZES)
    assert len(found.hashes) == chars + 3 + 2


def test_tokens_match_a_plain_definition() -> None:
    rng = random.Random(7)
    alphabet = "абвгдқңәaz09 ,.!_@$-\n\t😀ğé"
    for _ in range(200):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 60)))
        norm = normalize(text)
        kind = classes(code_points(norm))
        words, current = [], []
        for char, k in zip(norm, kind, strict=True):
            if k in (NON, LEET):
                if current:
                    words.append("".join(current))
                current = []
            else:
                current.append(char)
        if current:
            words.append("".join(current))
        assert tokens(text) == " " + " ".join(words) + " ", repr(text)


def test_vocabulary_finds_exactly_its_features() -> None:
    known = spans(token_codes("закладки соль")).hashes
    vocabulary = Vocabulary(
        np.unique(known[:10]), [f"t{i}" for i in range(len(np.unique(known[:10])))]
    )
    cols = vocabulary.columns(spans(token_codes("закладки соль и ещё что-то")).hashes)
    assert len(cols) and set(vocabulary.hashes[cols].tolist()) <= set(known[:10].tolist())
    assert not len(vocabulary.columns(np.array([1, 2, 3], dtype=np.uint64)))


def test_batch_pads_rows_and_keeps_each_texts_features() -> None:
    texts = ["закладки соль", "", "соль"]
    known = np.unique(spans(token_codes(texts[0])).hashes)
    vocabulary = Vocabulary(known, [str(i) for i in range(len(known))])
    counted = batch(vocabulary, [token_codes(t) for t in texts])
    columns, counts, starts = counted.columns, counted.counts, counted.starts
    assert columns.shape == counts.shape == (3, len(starts[0]))
    padding = len(vocabulary)  # the model's zero row, counted once
    assert len(starts[1]) == 0 and set(columns[1].tolist()) == {padding}
    assert 0 < len(starts[2]) < len(starts[0])
    assert set(columns[2, len(starts[2]) :].tolist()) == {padding}
    assert set(counts[2, len(starts[2]) :].tolist()) == {1.0}
    for row, text in enumerate(texts):
        clean = token_codes(text)
        found = spans(clean)
        expected = Counter(vocabulary.columns(found.hashes).tolist())
        n = len(starts[row])
        assert dict(zip(columns[row, :n].tolist(), counts[row, :n].tolist())) == expected
        places = zip(columns[row, :n].tolist(), starts[row].tolist(), counted.ends[row].tolist())
        for column, start, end in places:
            term = vocabulary.terms[column]  # here a term is its column's number
            assert int(term) == column
            first = int(np.flatnonzero(found.hashes == vocabulary.hashes[column])[0])
            assert (start, end) == (found.starts[first], found.ends[first])  # its first place


def test_the_vocabulary_keeps_its_order_and_refuses_repeats() -> None:
    hashes = np.array([30, 10, 20], dtype=np.uint64)
    vocabulary = Vocabulary(hashes, ["c", "a", "b"])
    assert vocabulary.columns(np.array([10, 20, 30, 40], dtype=np.uint64)).tolist() == [1, 2, 0]
    with pytest.raises(ValueError, match="repeated"):
        Vocabulary(np.array([5, 5], dtype=np.uint64), ["x", "y"])
    with pytest.raises(ValueError, match="term per hash"):
        Vocabulary(hashes, ["c"])


def test_counting_leaves_no_tally_behind() -> None:
    clean = token_codes("соль соль соль закладки")
    known = np.unique(spans(clean).hashes)
    vocabulary = Vocabulary(known, [str(i) for i in range(len(known))])
    first = vocabulary.counts(clean)
    again = vocabulary.counts(clean)
    assert first[0].tolist() == again[0].tolist() and first[1].tolist() == again[1].tolist()
    assert max(first[1]) == 3
