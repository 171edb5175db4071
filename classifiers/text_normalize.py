"""Undo the spellings sellers use to slip past filters, so `з@кл@дк1`, `zаkладкi` and
`з а к л а д к и` reach the text model as the word they stand for.

Steps: NFKC and casefold; invisible characters dropped; `ё` → `е`; runs of one letter repeated
three or more times cut to two; four or more lone letters spelled out with separators joined; and
in words that mix scripts, digits or symbols with letters, each character folded to the word's
script (Latin look-alikes inside a Cyrillic word become Cyrillic, and the other way round; leet
digits become the letter they imitate); last, Kazakh written in a Latin alphabet or chat spelling,
and Russian written in Latin letters, become Cyrillic (`classifiers.text_latin`).

NFKC and casefolding are Python's own (in C); the other steps are one pass each over the code
points in numba-compiled kernels with lookup tables, so a 2,000-character page costs tens of
microseconds however much of it is obfuscated: the whole text model has a third of a millisecond.
"""

from __future__ import annotations

import re
import unicodedata

import numpy as np
from numba import njit

from classifiers.text_latin import to_cyrillic

MAX_CHARS = 20_000

_CYR = "а-яәғқңөұүһі"
_INVISIBLE = re.compile("[\u00ad\u200b-\u200f\u2060\ufeff]")
# Letters with no look-alike in the other script say which script a word is written in.
_CYR_OWN = "бгджзийлпфцчшщъыьэюяәғқңөұүһ"
_LAT_OWN = "dfgjlnqrsuvwz"
# What separates spelled-out letters: `з.а.к`, `с-т-а`, `к у п` (two spaces end a word).
_MARKS = ".-_*·|/"

# What a Latin letter (look-alike, else transliteration) or a symbol stands for inside a Cyrillic
# word, and what a Cyrillic look-alike or a symbol stands for inside a Latin one.
_TO_CYRILLIC = {
    "a": "а",
    "b": "в",
    "c": "с",
    "d": "д",
    "e": "е",
    "f": "ф",
    "g": "г",
    "h": "н",
    "i": "і",
    "j": "й",
    "k": "к",
    "l": "л",
    "m": "м",
    "n": "п",
    "o": "о",
    "p": "р",
    "q": "қ",
    "r": "г",
    "s": "с",
    "t": "т",
    "u": "и",
    "v": "в",
    "w": "ш",
    "x": "х",
    "y": "у",
    "z": "з",
    "0": "о",
    "1": "і",
    "3": "з",
    "4": "ч",
    "6": "б",
    "@": "а",
    "$": "с",
}
_TO_LATIN = {
    "а": "a",
    "в": "b",
    "с": "c",
    "е": "e",
    "н": "h",
    "і": "i",
    "к": "k",
    "м": "m",
    "о": "o",
    "р": "p",
    "т": "t",
    "х": "x",
    "у": "y",
    "0": "o",
    "1": "i",
    "3": "e",
    "4": "a",
    "5": "s",
    "7": "t",
    "@": "a",
    "$": "s",
}

# Character classes of the Basic Multilingual Plane; code points beyond it (emoji, mostly) are NON.
NON, LATIN, CYRILLIC, DIGIT, LEET, LETTER = range(6)
# Flags beside the class: a letter in Python's sense (`isalpha`), a script's own letter, a mark
# between spelled-out letters.
_ALPHA, _OWN_CYR, _OWN_LAT, _MARK = 1, 2, 4, 8


def _tables() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Classes, flags, and the code point each one becomes inside a Cyrillic or a Latin word."""
    kind = np.zeros(0x10000, dtype=np.uint8)
    flags = np.zeros(0x10000, dtype=np.uint8)
    cyrillic = re.compile(f"[{_CYR}]")
    for code in range(0x10000):
        char = chr(code)
        if "a" <= char <= "z":
            kind[code] = LATIN
        elif cyrillic.fullmatch(char):
            kind[code] = CYRILLIC
        elif "0" <= char <= "9":
            kind[code] = DIGIT
        elif char in "@$":
            kind[code] = LEET
        elif char.isalnum():
            kind[code] = LETTER
        flags[code] = (
            (_ALPHA if char.isalpha() else 0)
            | (_OWN_CYR if char in _CYR_OWN else 0)
            | (_OWN_LAT if char in _LAT_OWN else 0)
            | (_MARK if char in _MARKS else 0)
        )
    identity = np.arange(0x10000, dtype=np.uint32)
    to_cyrillic, to_latin = identity.copy(), identity.copy()
    for table, mapping in ((to_cyrillic, _TO_CYRILLIC), (to_latin, _TO_LATIN)):
        for source, target in mapping.items():
            table[ord(source)] = ord(target)
    return kind, flags, to_cyrillic, to_latin


_CLASSES, _FLAGS, _CYRILLIC_OF, _LATIN_OF = _tables()
_SPACE = 32


def code_points(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)


def classes(codes: np.ndarray) -> np.ndarray:
    """The class of each code point."""
    return _classes(codes, _CLASSES)


def normalize(text: str) -> str:
    """The text as the model reads it; at most `MAX_CHARS` characters of `text` are read."""
    return normalized(text)[0]


def normalized(text: str) -> tuple[str, np.ndarray, np.ndarray]:
    """`normalize(text)` with its code points and their classes."""
    codes = normalized_codes(text)
    return codes.tobytes().decode("utf-32-le"), codes, classes(codes)


def normalized_codes(text: str) -> np.ndarray:
    """The code points of `normalize(text)`, without making the string."""
    text = unicodedata.normalize("NFKC", text[:MAX_CHARS]).casefold()
    text = _INVISIBLE.sub("", text).replace("ё", "е")
    codes = code_points(text)
    return to_cyrillic(_unobfuscate(codes, _CLASSES, _FLAGS, _CYRILLIC_OF, _LATIN_OF))


@njit(cache=True, nogil=True)
def _classes(codes: np.ndarray, table: np.ndarray) -> np.ndarray:
    out = np.empty(len(codes), dtype=np.uint8)
    for i in range(len(codes)):
        out[i] = table[codes[i]] if codes[i] < 0x10000 else NON
    return out


@njit(cache=True, nogil=True)
def _unobfuscate(
    codes: np.ndarray,
    table: np.ndarray,
    flags: np.ndarray,
    cyrillic_of: np.ndarray,
    latin_of: np.ndarray,
) -> np.ndarray:
    codes = _cut_repeats(codes, _classes(codes, table))
    codes = _join_spaced(codes, _classes(codes, table), flags)
    _fold_mixed_words(codes, _classes(codes, table), flags, cyrillic_of, latin_of)
    return codes


@njit(cache=True, nogil=True)
def _is_letter(kind: int) -> bool:
    return kind in (LATIN, CYRILLIC, LETTER)


@njit(cache=True, nogil=True)
def _cut_repeats(codes: np.ndarray, kind: np.ndarray) -> np.ndarray:
    """`ооочень` → `оочень`: a letter written three or more times in a row is kept twice."""
    out = np.empty_like(codes)
    n = 0
    for i in range(len(codes)):
        if n >= 2 and _is_letter(kind[i]) and out[n - 1] == codes[i] and out[n - 2] == codes[i]:
            continue
        out[n] = codes[i]
        n += 1
    return out[:n]


@njit(cache=True, nogil=True)
def _separator_end(codes: np.ndarray, at: int, flags: np.ndarray) -> int:
    """Where the separator starting at `at` ends (one space, or a mark with a space either side
    at most), or -1 when there is none."""
    n = len(codes)
    if at < n and codes[at] == _SPACE:
        if at + 1 < n and _is_mark(codes[at + 1], flags):
            return at + 3 if at + 2 < n and codes[at + 2] == _SPACE else at + 2
        return at + 1
    if at < n and _is_mark(codes[at], flags):
        return at + 2 if at + 1 < n and codes[at + 1] == _SPACE else at + 1
    return -1


@njit(cache=True, nogil=True)
def _is_mark(code: int, flags: np.ndarray) -> bool:
    return code < 0x10000 and (flags[code] & _MARK) != 0


@njit(cache=True, nogil=True)
def _join_spaced(codes: np.ndarray, kind: np.ndarray, flags: np.ndarray) -> np.ndarray:
    """`к у п и т ь` → `купить`: four or more lone letters (or digits, leet symbols), each
    followed by a separator, joined; a letter that starts a longer word ends the run before it."""
    n = len(codes)
    out = np.empty_like(codes)
    chain = np.empty(n, dtype=np.int64)
    m = 0
    i = 0
    while i < n:
        if kind[i] != NON and (i == 0 or kind[i - 1] == NON):
            length = 0
            j = i
            while True:
                if j + 1 < n and kind[j + 1] != NON:
                    break  # j begins a longer word: it is not a lone letter
                chain[length] = j
                length += 1
                after = _separator_end(codes, j + 1, flags)
                if after < 0 or after >= n or kind[after] == NON:
                    break
                j = after
            if length >= 4:
                for k in range(length):
                    out[m] = codes[chain[k]]
                    m += 1
                i = chain[length - 1] + 1
                continue
        out[m] = codes[i]
        m += 1
        i += 1
    return out[:m]


@njit(cache=True, nogil=True)
def _fold_mixed_words(
    codes: np.ndarray,
    kind: np.ndarray,
    flags: np.ndarray,
    cyrillic_of: np.ndarray,
    latin_of: np.ndarray,
) -> None:
    """In place: every word (a run of non-NON characters) where scripts, or a script and a digit
    or leet symbol, touch is folded."""
    n = len(codes)
    i = 0
    while i < n:
        if kind[i] == NON:
            i += 1
            continue
        start = i
        mixed = False
        while i < n and kind[i] != NON:
            if i > start and _touch(kind[i - 1], kind[i]):
                mixed = True
            i += 1
        if mixed:
            _fold_word(codes[start:i], kind[start:i], flags, cyrillic_of, latin_of)


@njit(cache=True, nogil=True)
def _touch(first: int, second: int) -> bool:
    script_first = first in (LATIN, CYRILLIC)
    script_second = second in (LATIN, CYRILLIC)
    leet_first = first in (DIGIT, LEET)
    leet_second = second in (DIGIT, LEET)
    return (
        (script_first and script_second and first != second)
        or (script_first and leet_second)
        or (leet_first and script_second)
    )


@njit(cache=True, nogil=True)
def _fold_word(
    word: np.ndarray,
    kind: np.ndarray,
    flags: np.ndarray,
    cyrillic_of: np.ndarray,
    latin_of: np.ndarray,
) -> None:
    """Fold to the script of the word's own letters (`nееd` is Latin, `zаkладкi` Cyrillic); when
    those do not decide, to the script of most letters. A leet digit is one or two digits touching
    a letter (`k0ka1n`); `5000тг` keeps its number."""
    cyrillic = latin = own_cyrillic = own_latin = 0
    for i in range(len(word)):
        cyrillic += kind[i] == CYRILLIC
        latin += kind[i] == LATIN
        if word[i] < 0x10000:
            own_cyrillic += (flags[word[i]] & _OWN_CYR) != 0
            own_latin += (flags[word[i]] & _OWN_LAT) != 0
    if cyrillic == 0 and latin == 0:
        return
    if own_cyrillic != own_latin:
        cyrillic, latin = own_cyrillic, own_latin
    table = cyrillic_of if cyrillic >= latin else latin_of
    n = len(word)
    i = 0
    alpha_before = False  # of the character before, as written (it may be folded already)
    while i < n:
        if kind[i] == DIGIT:
            end = i
            while end < n and kind[end] == DIGIT:
                end += 1
            after = end < n and word[end] < 0x10000 and (flags[word[end]] & _ALPHA) != 0
            if (alpha_before or after) and end - i <= 2:
                for k in range(i, end):
                    word[k] = table[word[k]]
            alpha_before = False
            i = end
        else:
            alpha_before = word[i] < 0x10000 and (flags[word[i]] & _ALPHA) != 0
            if word[i] < 0x10000:
                word[i] = table[word[i]]
            i += 1
