"""Which words of a page pushed its score up: the features with the largest contributions to the
explained category, each widened to the word (or two) of the page it comes from, summed per word,
so `клад` reads as `закладки` and a word that carries several top n-grams counts once.

One numba-compiled pass over a page's contributions; only the chosen words become strings (a
Python loop over the top features cost a fifth of the served time).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from classifiers.text_features import _SPACE, as_text

TOP_TERMS = 6
REACH = TOP_TERMS * 4  # features looked at: a word often carries several of the top n-grams


def top_words(
    clean: np.ndarray, contributions: np.ndarray, starts: np.ndarray, ends: np.ndarray
) -> list[tuple[str, float]]:
    """(word, summed contribution) for the `TOP_TERMS` words of `clean` (code points from
    `token_codes`) whose features pushed the score up most; `starts`/`ends` place each feature."""
    first, last, weights = _top_words(
        clean, np.ascontiguousarray(contributions), starts, ends, TOP_TERMS, REACH
    )
    return [
        (as_text(clean[a:b]), float(w))
        for a, b, w in zip(first.tolist(), last.tolist(), weights.tolist(), strict=True)
    ]


@njit(cache=True, nogil=True)
def _top_words(
    clean: np.ndarray,
    weights: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    keep: int,
    reach: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    picked = _largest_positive(weights, reach)
    word_first = np.empty(len(picked), dtype=np.int64)
    word_last = np.empty(len(picked), dtype=np.int64)
    total = np.zeros(len(picked), dtype=np.float64)
    words = 0
    for i in picked:
        first, last = _word_around(clean, starts[i], ends[i])
        if first < 0:
            continue
        same = -1
        for w in range(words):
            if _same_text(clean, word_first[w], word_last[w], first, last):
                same = w
                break
        if same < 0:
            same = words
            word_first[same], word_last[same] = first, last
            words += 1
        total[same] += weights[i]
    order = np.argsort(-total[:words], kind="mergesort")[:keep]  # stable: ties keep page order
    return word_first[order], word_last[order], total[order]


@njit(cache=True, nogil=True)
def _largest_positive(weights: np.ndarray, reach: int) -> np.ndarray:
    """Indices of the `reach` largest positive weights, largest first (ties: earlier first)."""
    picked = np.empty(min(reach, len(weights)), dtype=np.int64)
    m = 0
    for i in range(len(weights)):
        w = weights[i]
        if w <= 0 or len(picked) == 0 or (m == len(picked) and w <= weights[picked[m - 1]]):
            continue
        j = m if m < len(picked) else len(picked) - 1
        while j > 0 and weights[picked[j - 1]] < w:
            picked[j] = picked[j - 1]
            j -= 1
        picked[j] = i
        m = min(m + 1, len(picked))
    return picked[:m]


@njit(cache=True, nogil=True)
def _word_around(clean: np.ndarray, start: int, end: int) -> tuple[int, int]:
    """The word(s) of `clean` a feature at [start, end) lies in, without the spaces a character
    n-gram may carry at either end; (-1, -1) for a feature of spaces only."""
    lead, trail = start, end
    while lead < end and clean[lead] == _SPACE:
        lead += 1
    while trail > lead and clean[trail - 1] == _SPACE:
        trail -= 1
    if lead == end:
        return -1, -1
    while lead > 0 and clean[lead - 1] != _SPACE:
        lead -= 1
    while trail < len(clean) and clean[trail] != _SPACE:
        trail += 1
    return lead, trail


@njit(cache=True, nogil=True)
def _same_text(clean: np.ndarray, a: int, b: int, c: int, d: int) -> bool:
    if b - a != d - c:
        return False
    k = 0
    while k < b - a and clean[a + k] == clean[c + k]:
        k += 1
    return k == b - a
