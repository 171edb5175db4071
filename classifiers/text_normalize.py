"""Undo the spellings sellers use to slip past filters, so `з@кл@дк1`, `zаkладкi` and
`з а к л а д к и` reach the text model as the word they stand for.

Steps: NFKC and casefold; invisible characters dropped; `ё` → `е`; runs of one letter repeated
three or more times cut to two; letters spelled out with separators joined; and in words that mix
scripts, digits or symbols with letters, each character folded to the word's majority script
(Latin look-alikes inside a Cyrillic word become Cyrillic, and the other way round; leet digits
become the letter they imitate). Clean text only pays for a few regex scans, which run in C.
"""

from __future__ import annotations

import re
import unicodedata

import numpy as np

MAX_CHARS = 20_000

_CYR = "а-яәғқңөұүһі"
_LAT = "a-z"
_REPEATS = re.compile(r"([^\W\d_])\1{2,}")
# Four or more single letters (or leet symbols) each followed by one space or by one mark with
# optional spaces around it; two spaces end the word, so `к у п и т ь  с о л ь` stays two words.
_SPACED = re.compile(r"(?<![\w@$])(?:[\w@$](?: ?[.\-_*·|/] ?| )){3,}[\w@$](?![\w@$])")
_SEPARATORS = re.compile(r"[ .\-_*·|/]+")
_INVISIBLE = re.compile("[\u00ad\u200b-\u200f\u2060\ufeff]")
_CYR_LETTER = re.compile(f"[{_CYR}]")
_LAT_LETTER = re.compile(f"[{_LAT}]")
# Letters with no look-alike in the other script say which script a word is written in.
_CYR_OWN = re.compile("[бгджзийлпфцчшщъыьэюяәғқңөұүһ]")
_LAT_OWN = re.compile("[dfgjlnqrsuvwz]")

# What a Latin letter (look-alike, else transliteration) or a symbol stands for inside a Cyrillic
# word, and what a Cyrillic look-alike or a symbol stands for inside a Latin one.
_TO_CYRILLIC = str.maketrans(
    {
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
)
_TO_LATIN = str.maketrans(
    {
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
)
_DIGITS = re.compile(r"\d+")
# Plain digits hide as private-use characters while a word is folded, then come back.
_PROTECT = str.maketrans({str(d): chr(0xE000 + d) for d in range(10)})
_UNPROTECT = str.maketrans({chr(0xE000 + d): str(d) for d in range(10)})


# Character classes, looked up per code point in one numpy gather: the checks for repeats, spaced
# letters and mixed words run vectorized, and the slower regex work runs only where one fires.
NON, LATIN, CYRILLIC, DIGIT, LEET, LETTER = range(6)


def _class_table() -> np.ndarray:
    table = np.zeros(0x10000, dtype=np.uint8)
    for code in range(0x10000):
        char = chr(code)
        if "a" <= char <= "z":
            table[code] = LATIN
        elif re.fullmatch(f"[{_CYR}]", char):
            table[code] = CYRILLIC
        elif "0" <= char <= "9":
            table[code] = DIGIT
        elif char in "@$":
            table[code] = LEET
        elif char.isalnum():
            table[code] = LETTER
    return table


_CLASSES = _class_table()


def code_points(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)


def classes(codes: np.ndarray) -> np.ndarray:
    """The class of each code point; those beyond the BMP (emoji, mostly) count as `NON`."""
    found = _CLASSES[np.minimum(codes, 0xFFFF)]
    found[codes > 0xFFFF] = NON
    return found


def normalize(text: str) -> str:
    """The text as the model reads it; at most `MAX_CHARS` characters of `text` are read."""
    return normalized(text)[0]


def normalized(text: str) -> tuple[str, np.ndarray, np.ndarray]:
    """`normalize(text)` with its code points and their classes."""
    text = unicodedata.normalize("NFKC", text[:MAX_CHARS]).casefold()
    text = _INVISIBLE.sub("", text).replace("ё", "е")
    codes = code_points(text)
    kind = classes(codes)
    if len(codes) > 2:
        letter = (kind == LATIN) | (kind == CYRILLIC) | (kind == LETTER)
        if np.any(letter[:-2] & (codes[:-2] == codes[1:-1]) & (codes[1:-1] == codes[2:])):
            text = _REPEATS.sub(r"\1\1", text)
            codes = code_points(text)
            kind = classes(codes)
    if _may_be_spaced(kind):
        text = _SPACED.sub(_join_spaced, text)
        codes = code_points(text)
        kind = classes(codes)
    folded = _fold_mixed_words(text, kind)
    if folded is not text:
        codes = code_points(folded)
        kind = classes(codes)
    return folded, codes, kind


def _may_be_spaced(kind: np.ndarray) -> bool:
    """Four lone token characters at a steady step of 2-4: the cheap sign of `к у п и`."""
    token = kind != NON
    if len(token) < 7:
        return False
    alone = token.copy()
    alone[1:] &= ~token[:-1]
    alone[:-1] &= ~token[1:]
    for step in (2, 3, 4):
        n = len(alone) - 3 * step
        if n > 0 and np.any(
            alone[:n] & alone[step : step + n] & alone[2 * step : 2 * step + n] & alone[3 * step :]
        ):
            return True
    return False


def _fold_mixed_words(text: str, kind: np.ndarray) -> str:
    """Fold each word where scripts, or letters and digits or leet symbols, touch."""
    if len(kind) < 2:
        return text
    first, second = kind[:-1], kind[1:]
    script_first = (first == LATIN) | (first == CYRILLIC)
    script_second = (second == LATIN) | (second == CYRILLIC)
    leet_first = (first == DIGIT) | (first == LEET)
    leet_second = (second == DIGIT) | (second == LEET)
    spots = np.flatnonzero(
        (script_first & script_second & (first != second))
        | (script_first & leet_second)
        | (leet_first & script_second)
    )
    if not len(spots):
        return text
    token = (kind != NON).tolist()
    parts: list[str] = []
    done = 0
    for spot in spots.tolist():
        if spot < done:
            continue
        start, end = spot, spot + 2
        while start > done and token[start - 1]:
            start -= 1
        while end < len(token) and token[end]:
            end += 1
        parts.append(text[done:start])
        parts.append(_fold_word(text[start:end]))
        done = end
    parts.append(text[done:])
    return "".join(parts)


def _join_spaced(match: re.Match[str]) -> str:
    return _SEPARATORS.sub("", match.group(0))


def _fold_word(word: str) -> str:
    """Fold to the script of the word's own letters (`nееd` is Latin, `zаkладкi` Cyrillic);
    when those do not decide, to the script of most letters."""
    cyrillic = len(_CYR_LETTER.findall(word))
    latin = len(_LAT_LETTER.findall(word))
    if cyrillic == 0 and latin == 0:
        return word
    own_cyrillic, own_latin = len(_CYR_OWN.findall(word)), len(_LAT_OWN.findall(word))
    if own_cyrillic != own_latin:
        cyrillic, latin = own_cyrillic, own_latin
    table = _TO_CYRILLIC if cyrillic >= latin else _TO_LATIN
    return _DIGITS.sub(_protect_plain, word).translate(table).translate(_UNPROTECT)


def _protect_plain(match: re.Match[str]) -> str:
    """A leet digit is one or two digits touching a letter (`k0ka1n`); `5000тг` keeps its number."""
    word, start, end = match.string, match.start(), match.end()
    touches = (start > 0 and word[start - 1].isalpha()) or (end < len(word) and word[end].isalpha())
    return match.group(0) if touches and end - start <= 2 else match.group(0).translate(_PROTECT)
