"""The text model's features: words, word pairs and character 4-grams of the normalized text,
each named by a 64-bit polynomial hash and looked up in the model's vocabulary.

Character 4-grams alone score as well as 3-, 4- and 5-grams together did (held-out macro-F1
0.9104 against 0.9101, hard negatives called harmful 3.3 % for both, new writers 0.9365 against
0.9376, 5-fold 0.912 against 0.911; obfuscated texts 0.923 against 0.935, two more of 155 wrong)
with 2.5x fewer features a page, which counting and the model's Gather each read at random from
megabytes of table: the served model got 1.9x faster.

Tokenizing here rather than inside the ONNX graph keeps one tokenizer for training and serving.
skl2onnx's text converter does not (notebooks/text_classifier.ipynb shows it): its word tokenizer
put Cyrillic texts 0.2-0.4 off scikit-learn's probabilities while Latin ones agreed, its string
normalizer needs an en_US.UTF-8 locale a server may lack, and char_wb n-grams it refuses.
Words, hashes, the vocabulary's open-addressing table and the counting are numba-compiled loops
over code points (a 2,000-character page has about 6,000 features; Python objects per feature
would cost milliseconds).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
from numba import njit

from classifiers.text_normalize import LEET, NON, classes, normalized_codes

FEATURES_VERSION = "ngrams-v4: words, word pairs, chars 4 of normalize() with Latin Kazakh"
# What `batch` feeds the model: padding points at the row after the vocabulary's, which the
# exporter fills with zeros, and the rows follow the vocabulary's order.
ROWS_LAYOUT = "rows-v2: idf² then idf·W per column, most frequent first, a zero row for padding"
CHAR_SIZES = (4,)  # consecutive sizes; each start's n-grams are hashed in one pass
_P = np.uint64(0x100000001B3)
_WORD_TAG = np.uint64(0x9E3779B97F4A7C15)
_PAIR_TAG = np.uint64(0xC2B2AE3D27D4EB4F)
_MIX = np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing spreads hashes over the table
_SPACE = 32
_MAX_WORD = 40
_CHAR_MIN, _CHAR_MAX = CHAR_SIZES[0], CHAR_SIZES[-1]
_P_CHAR_MIN = np.uint64(pow(int(_P), _CHAR_MIN, 1 << 64))
_LOW = np.uint64(0xFFFFFFFF)  # a table slot's column + 1; the tally counts in the high half
_ONE_HIGH = np.uint64(1 << 32)


def model_text(text: str, title: str | None = None) -> str:
    """What the model reads of a page: its title, then its visible text."""
    return f"{title}\n{text}" if title else text


def token_codes(text: str) -> np.ndarray:
    """Code points of the normalized words separated by single spaces, a space at each end."""
    codes = normalized_codes(text)
    return _words(codes, classes(codes))


def as_text(codes: np.ndarray) -> str:
    """Code points from `token_codes` as text: what explanations and vocabulary terms cut."""
    return codes.tobytes().decode("utf-32-le")


def tokens(text: str) -> str:
    return as_text(token_codes(text))


@njit(cache=True, nogil=True)
def _words(codes: np.ndarray, kind: np.ndarray) -> np.ndarray:
    """Word characters (not NON, not a lone leet symbol) kept; every gap becomes one space."""
    out = np.empty(len(codes) + 2, dtype=np.uint32)
    out[0] = _SPACE
    n = 1
    for i in range(len(codes)):
        if kind[i] != NON and kind[i] != LEET:
            out[n] = codes[i]
            n += 1
        elif out[n - 1] != _SPACE:
            out[n] = _SPACE
            n += 1
    if out[n - 1] != _SPACE or n == 1:
        out[n] = _SPACE
        n += 1
    return out[:n]


@dataclass(frozen=True, slots=True)
class Spans:
    """Where each feature of one text starts and ends in its token string, and its hash."""

    starts: np.ndarray
    ends: np.ndarray
    hashes: np.ndarray


def spans(clean: np.ndarray) -> Spans:
    """Every feature of the code points from `token_codes`: character n-grams of `CHAR_SIZES` (by
    start), then words (at most 40 characters), then pairs of neighbouring words."""
    starts, ends, hashes = _spans(clean)
    return Spans(starts, ends, hashes)


@njit(cache=True, nogil=True)
def _hash(clean: np.ndarray, start: int, end: int) -> np.uint64:
    """Σ code[start + k] · P^k modulo 2^64 (unsigned arithmetic wraps)."""
    value = np.uint64(0)
    power = np.uint64(1)
    for k in range(start, end):
        value += np.uint64(clean[k]) * power
        power *= _P
    return value


@njit(cache=True, nogil=True)
def _spans(clean: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = len(clean)
    word_starts = np.empty(n, dtype=np.int64)
    word_ends = np.empty(n, dtype=np.int64)
    words = 0
    for i in range(1, n):
        if clean[i - 1] == _SPACE and clean[i] != _SPACE:
            word_starts[words] = i
        elif clean[i - 1] != _SPACE and clean[i] == _SPACE:
            word_ends[words] = i
            words += 1
    chars = 0
    for size in range(_CHAR_MIN, _CHAR_MAX + 1):
        chars += max(0, n - size + 1)
    total = chars + words + max(0, words - 1)
    starts = np.empty(total, dtype=np.int64)
    ends = np.empty(total, dtype=np.int64)
    hashes = np.empty(total, dtype=np.uint64)
    at = 0
    for start in range(n - _CHAR_MIN + 1):  # each start's n-grams of every size in one pass
        value = _hash(clean, start, start + _CHAR_MIN)
        power = _P_CHAR_MIN
        for end in range(start + _CHAR_MIN, min(n, start + _CHAR_MAX) + 1):
            if end > start + _CHAR_MIN:
                value += np.uint64(clean[end - 1]) * power
                power *= _P
            starts[at], ends[at] = start, end
            hashes[at] = value
            at += 1
    for w in range(words):
        if word_ends[w] - word_starts[w] <= _MAX_WORD:
            starts[at], ends[at] = word_starts[w], word_ends[w]
            hashes[at] = (_hash(clean, word_starts[w], word_ends[w]) ^ _WORD_TAG) * _P
            at += 1
    for w in range(words - 1):
        starts[at], ends[at] = word_starts[w], word_ends[w + 1]
        hashes[at] = (_hash(clean, word_starts[w], word_ends[w + 1]) ^ _PAIR_TAG) * _P
        at += 1
    return starts[:at], ends[:at], hashes[:at]


class Vocabulary:
    """The features a model knows: a column per hash, in the order given (the model's rows
    follow it), the text each stands for, and an open-addressing table (load at most 1/2, linear
    probing) that finds a hash's column in one or two probes. A slot is 16 bytes, the hash then
    the column + 1 with a tally of the text being counted in the high half, so counting a
    feature touches one cache line."""

    def __init__(self, hashes: np.ndarray, terms: list[str]) -> None:
        self.hashes = np.ascontiguousarray(hashes, dtype=np.uint64)
        self.terms = list(terms)
        if len(self.terms) != len(self.hashes):
            raise ValueError("vocabulary has a term per hash")
        if len(np.unique(self.hashes)) != len(self.hashes):
            raise ValueError("vocabulary has repeated hashes")
        self._bits = max(4, int(np.ceil(np.log2(max(1, len(self.hashes)) * 2))))
        self._table = np.zeros(2 << self._bits, dtype=np.uint64)
        _fill(self.hashes, self._table, self._bits)
        self._counting = threading.Lock()  # the tallies live in the table

    def __len__(self) -> int:
        return len(self.hashes)

    def columns(self, hashes: np.ndarray) -> np.ndarray:
        """The columns of the known features among `hashes` (unknown ones dropped)."""
        return _columns(hashes, self._table, self._bits)

    def counts(self, clean: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(columns, counts) of the known features of `token_codes(text)`, in the order the
        text first has them (sorting would cost as much as the rest of the counting)."""
        columns, counts, _, _ = self.counts_at(clean)
        return columns, counts

    def counts_at(self, clean: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """`counts`, and where in `clean` each feature first starts and ends (for explanations)."""
        starts, ends, hashes = _spans(clean)
        with self._counting:
            return _count(hashes, starts, ends, self._table, self._bits)


@njit(cache=True, nogil=True)
def _home(value: np.uint64, bits: int) -> np.int64:
    return np.int64((value * _MIX) >> np.uint64(64 - bits))


@njit(cache=True, nogil=True)
def _fill(hashes: np.ndarray, table: np.ndarray, bits: int) -> None:
    mask = np.int64((1 << bits) - 1)
    for column in range(len(hashes)):
        slot = _home(hashes[column], bits)
        while table[2 * slot + 1] != 0:
            slot = (slot + 1) & mask
        table[2 * slot] = hashes[column]
        table[2 * slot + 1] = np.uint64(column + 1)


@njit(cache=True, nogil=True)
def _slot(value: np.uint64, table: np.ndarray, bits: int) -> np.int64:
    """The slot holding `value`, or -1."""
    mask = np.int64((1 << bits) - 1)
    slot = _home(value, bits)
    while table[2 * slot + 1] != 0:
        if table[2 * slot] == value:
            return slot
        slot = (slot + 1) & mask
    return np.int64(-1)


@njit(cache=True, nogil=True)
def _columns(hashes: np.ndarray, table: np.ndarray, bits: int) -> np.ndarray:
    found = np.empty(len(hashes), dtype=np.int64)
    n = 0
    for value in hashes:
        slot = _slot(value, table, bits)
        if slot >= 0:
            found[n] = np.int64(table[2 * slot + 1] & _LOW) - 1
            n += 1
    return found[:n]


@njit(cache=True, nogil=True)
def _count(
    hashes: np.ndarray, starts: np.ndarray, ends: np.ndarray, table: np.ndarray, bits: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    seen = np.empty(len(hashes), dtype=np.int64)
    first = np.empty(len(hashes), dtype=np.int64)
    n = 0
    for i in range(len(hashes)):
        slot = _slot(hashes[i], table, bits)
        if slot >= 0:
            if table[2 * slot + 1] < _ONE_HIGH:
                seen[n] = slot
                first[n] = i
                n += 1
            table[2 * slot + 1] += _ONE_HIGH
    columns = np.empty(n, dtype=np.int64)
    counts = np.empty(n, dtype=np.float32)
    first_starts = np.empty(n, dtype=np.int64)
    first_ends = np.empty(n, dtype=np.int64)
    for i in range(n):
        meta = table[2 * seen[i] + 1]
        columns[i] = np.int64(meta & _LOW) - 1
        counts[i] = np.float32(meta >> np.uint64(32))
        table[2 * seen[i] + 1] = meta & _LOW
        first_starts[i] = starts[first[i]]
        first_ends[i] = ends[first[i]]
    return columns, counts, first_starts, first_ends


@dataclass(frozen=True, slots=True)
class Batch:
    """The model's input for a batch of texts, a row per text: the columns of its known
    features and their counts, padded to the longest row with the model's zero row (column
    `len(vocabulary)`) counted once; and where each row's features first start and end."""

    columns: np.ndarray
    counts: np.ndarray
    starts: list[np.ndarray]
    ends: list[np.ndarray]

    @property
    def inputs(self) -> dict[str, np.ndarray]:
        """The ONNX graph's inputs, by name."""
        return {"columns": self.columns, "counts": self.counts}


def batch(vocabulary: Vocabulary, texts: list[np.ndarray]) -> Batch:
    """`Batch` of texts given as `token_codes`."""
    found = [vocabulary.counts_at(clean) for clean in texts]
    width = max((len(c) for c, _, _, _ in found), default=0)
    columns = np.full((len(texts), width), len(vocabulary), dtype=np.int64)
    counts = np.ones((len(texts), width), dtype=np.float32)
    for row, (c, k, _, _) in enumerate(found):
        columns[row, : len(c)] = c
        counts[row, : len(k)] = k
    return Batch(columns, counts, [f[2] for f in found], [f[3] for f in found])
