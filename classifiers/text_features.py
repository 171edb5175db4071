"""The text model's features: words, word pairs and character 3-5-grams of the normalized text,
each named by a 64-bit polynomial hash and looked up in the model's vocabulary.

Tokenizing here, in numpy, rather than inside the ONNX graph keeps one tokenizer for training and
serving. skl2onnx's text converter does not (notebooks/text_classifier.ipynb shows it): its word
tokenizer put Cyrillic texts 0.2-0.4 off scikit-learn's probabilities while Latin ones agreed, its
string normalizer needs an en_US.UTF-8 locale a server may lack, and char_wb n-grams it refuses.
Hashes of every substring come from one prefix sum (`(S[e] - S[s]) * P^-s` modulo 2^64), so a
2,000-character page costs a few vectorized passes instead of thousands of Python slices.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from classifiers.text_normalize import LEET, MAX_CHARS, NON, normalized

FEATURES_VERSION = "ngrams-v1: words, word pairs, chars 3-5 of normalize()"
CHAR_SIZES = (3, 4, 5)
_P = 0x100000001B3
_MOD = 1 << 64
_WORD_TAG = np.uint64(0x9E3779B97F4A7C15)
_PAIR_TAG = np.uint64(0xC2B2AE3D27D4EB4F)
_MIX = np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing spreads hashes over the table
_SPACE = 32
_ROOM = MAX_CHARS + 8


def _powers(base: int) -> np.ndarray:
    """base^k modulo 2^64 for k = 0 .. _ROOM - 1 (unsigned numpy arithmetic wraps)."""
    steps = np.full(_ROOM - 1, base, dtype=np.uint64)
    return np.concatenate((np.ones(1, dtype=np.uint64), np.cumprod(steps, dtype=np.uint64)))


_POW = _powers(_P)
_INV = _powers(pow(_P, -1, _MOD))
_MAX_WORD = 40


def model_text(text: str, title: str | None = None) -> str:
    """What the model reads of a page: its title, then its visible text."""
    return f"{title}\n{text}" if title else text


def token_codes(text: str) -> np.ndarray:
    """Code points of the normalized words separated by single spaces, a space at each end."""
    _, codes, kind = normalized(text)
    word = (kind != NON) & (kind != LEET)
    keep = word.copy()
    keep[1:] |= word[:-1]  # one space after each word: the first non-word character, as a space
    out = np.full(int(keep.sum()) + 2, _SPACE, dtype=np.uint32)
    out[1:-1] = np.where(word, codes, _SPACE)[keep]
    return out[:-1] if len(out) > 2 and out[-2] == _SPACE else out


def as_text(codes: np.ndarray) -> str:
    """Code points from `token_codes` as text: what explanations and vocabulary terms cut."""
    return codes.tobytes().decode("utf-32-le")


def tokens(text: str) -> str:
    return as_text(token_codes(text))


@dataclass(frozen=True, slots=True)
class Spans:
    """Where each feature of one text starts and ends in its token string, and its hash."""

    starts: np.ndarray
    ends: np.ndarray
    hashes: np.ndarray


def spans(clean: np.ndarray) -> Spans:
    """Every feature of the code points from `token_codes`."""
    codes = clean.astype(np.uint64)
    n = len(codes)
    prefix = np.zeros(n + 1, dtype=np.uint64)
    np.cumsum(codes * _POW[:n], out=prefix[1:])
    starts_list: list[np.ndarray] = []
    ends_list: list[np.ndarray] = []
    tags: list[np.uint64 | None] = []
    for size in CHAR_SIZES:
        if n >= size:
            start = np.arange(n - size + 1)
            starts_list.append(start)
            ends_list.append(start + size)
            tags.append(None)
    space = codes == 32
    word_start = np.flatnonzero(space[:-1] & ~space[1:]) + 1
    word_end = np.flatnonzero(~space[:-1] & space[1:]) + 1
    keep = (word_end - word_start) <= _MAX_WORD
    starts_list.append(word_start[keep])
    ends_list.append(word_end[keep])
    tags.append(_WORD_TAG)
    if len(word_start) > 1:
        starts_list.append(word_start[:-1])
        ends_list.append(word_end[1:])
        tags.append(_PAIR_TAG)
    hashes = []
    for start, end, tag in zip(starts_list, ends_list, tags, strict=True):
        value = (prefix[end] - prefix[start]) * _INV[start]
        hashes.append(value if tag is None else (value ^ tag) * np.uint64(_P))
    return Spans(np.concatenate(starts_list), np.concatenate(ends_list), np.concatenate(hashes))


class Vocabulary:
    """The features a model knows: a column per hash, the text each stands for, and an
    open-addressing table (load at most 1/4) that finds the columns of a text's hashes in a few
    vectorized probes, without sorting them."""

    def __init__(self, hashes: np.ndarray, terms: list[str]) -> None:
        order = np.argsort(hashes, kind="stable")
        self.hashes = np.ascontiguousarray(hashes[order], dtype=np.uint64)
        self.terms = [terms[i] for i in order]
        if np.any(self.hashes[1:] == self.hashes[:-1]):
            raise ValueError("vocabulary has repeated hashes")
        self._bits = max(4, int(np.ceil(np.log2(max(1, len(self.hashes)) * 4))))
        self._mask = (1 << self._bits) - 1
        self._keys = np.zeros(1 << self._bits, dtype=np.uint64)
        self._columns = np.full(1 << self._bits, -1, dtype=np.int64)
        self._probes = self._fill()

    def __len__(self) -> int:
        return len(self.hashes)

    def _home(self, hashes: np.ndarray) -> np.ndarray:
        return ((hashes * _MIX) >> np.uint64(64 - self._bits)).astype(np.int64)

    def _fill(self) -> int:
        """Linear probing, all keys at once: each round the first claimant of a free slot wins."""
        pending = np.arange(len(self.hashes))
        slots = self._home(self.hashes)
        rounds = 0
        while len(pending):
            rounds += 1
            free = self._columns[slots] < 0
            taken_slots, first = np.unique(slots[free], return_index=True)
            winners = pending[free][first]
            self._keys[taken_slots] = self.hashes[winners]
            self._columns[taken_slots] = winners
            lost = np.ones(len(pending), dtype=bool)
            lost[np.flatnonzero(free)[first]] = False
            pending, slots = pending[lost], (slots[lost] + 1) & self._mask
        return rounds

    def columns(self, hashes: np.ndarray) -> np.ndarray:
        """The columns of the known features among `hashes` (unknown ones dropped)."""
        found = []
        slots = self._home(hashes)
        for _ in range(self._probes):
            if not len(hashes):
                break
            columns = self._columns[slots]
            hit = (self._keys[slots] == hashes) & (columns >= 0)
            found.append(columns[hit])
            going = ~hit & (columns >= 0)
            hashes, slots = hashes[going], (slots[going] + 1) & self._mask
        return np.concatenate(found) if found else np.zeros(0, dtype=np.int64)

    def counts(self, clean: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(columns, counts) of the known features of `token_codes(text)`, columns ascending."""
        cols, counts = np.unique(self.columns(spans(clean).hashes), return_counts=True)
        return cols, counts.astype(np.float32)


def batch(vocabulary: Vocabulary, texts: list[np.ndarray]) -> tuple[np.ndarray, ...]:
    """The model's sparse input for texts given as `token_codes`: columns, counts and the row of
    each, concatenated, rows ascending; and where each row's features start."""
    cols, counts = [], []
    for clean in texts:
        c, k = vocabulary.counts(clean)
        cols.append(c)
        counts.append(k)
    sizes = np.array([len(c) for c in cols], dtype=np.int64)
    offsets = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum(sizes, out=offsets[1:])
    rows = np.repeat(np.arange(len(texts), dtype=np.int64), sizes)
    if not texts:
        return np.zeros(0, np.int64), np.zeros(0, np.float32), rows, offsets
    return np.concatenate(cols), np.concatenate(counts), rows, offsets
