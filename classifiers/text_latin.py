"""Kazakh written in Latin letters, and Russian transliterated to Latin, read as Cyrillic, so such
pages share the features of the Cyrillic pages most of the corpus is written in.

Kazakh has been written in three official Latin alphabets (2017 apostrophes `s'`, `g'`; 2018
acute `ǵ`, `ú`, `ý`; 2021 `ğ`, `ş`, `ü`, `ū`) and in chat spellings without marks (`qazir`,
`zhaz`, `ushin`), where `y`, `ı`, `u` stand for different letters. A text is rewritten only when
it reads as one of them: two words with Kazakh marks, or more Kazakh or Russian hint words than
English ones. The alphabet is the one most of its marked words use. A word with marks is always
rewritten; any other word only in a clause where English function words do not outnumber the
hints, so English in a code-switched text is left as it is.

One pass of numba-compiled loops over code points, like `text_normalize`, which calls it last.
"""

from __future__ import annotations

import numpy as np
from numba import njit

# Alphabets, in the order the kernel counts their marks.
CHAT, Y2017, Y2018, Y2021, RUSSIAN = range(5)
_SIZE = 0x310  # every code point read here is below it

# What each letter is in each alphabet (a digraph or a letter with an apostrophe is handled apart).
_COMMON = dict(zip("abdefghklmnopqrstvxz", "абдефгхклмнопқрствхз", strict=True)) | {
    "c": "с",
    "w": "у",
}
_MARKS = {"á": "ә", "ǵ": "ғ", "ń": "ң", "ó": "ө", "ú": "ү", "ý": "у"}  # 2018
_MARKS |= {"ä": "ә", "ā": "ә", "ğ": "ғ", "ñ": "ң", "ö": "ө", "ü": "ү", "ū": "ұ", "ş": "ш", "ç": "ч"}
_ALPHABETS = {
    CHAT: {"i": "і", "j": "ж", "u": "у", "y": "ы", "ı": "ы"},
    Y2017: {"i": "і", "j": "ж", "u": "у", "y": "ы", "ı": "ы"},
    Y2018: {"i": "і", "j": "ж", "u": "ұ", "y": "ы", "ı": "й"},
    Y2021: {"i": "і", "j": "ж", "u": "у", "y": "й", "ı": "ы"},
    RUSSIAN: {"i": "и", "j": "й", "u": "у", "y": "ы", "ı": "ы", "c": "ц", "w": "в", "q": "к"},
}
_APOSTROPHE_2017 = dict(zip("agiouync", "әғйөүұңч", strict=True)) | {"s": "ш"}
_APOSTROPHES = "'’ʼ`"
_DROPPED = "\u0307"  # the dot `İ` leaves after casefolding


def _listed(words: str) -> list[str]:
    return words.split()


# Kazakh chat words and Russian words in Latin letters that say which language a text is in, and
# English function words that say a clause is English (words both languages use are left out).
_KAZAKH_HINTS = _listed("""
ushin ushun jane zhane emes kerek joq zhoq jok zhok biraq birak osy bul osyndai sondai qazir
kazir goi gana ghana eken degen dep siz sizder biz bizdin menin senin onyn qalai kalai qaida
kaida nege nemese tek keledi boldy bolady bolsa bolyp kiru tegin jaz zhaz habarlas xabarlas
rahmet raxmet salem bauyr bauyrlar jigitter zhigitter qyzdar kyzdar balalar aqsha aksha kun kunde
zhyl jyl aitu kelinder zhas jumys zhumys bilesiz bilmeimin osylai kop ote edi boiynsha arqyly
arkyly turaly kezde qazaqsha kazaksha qazaq barlyq barlyk ber beremiz alamyz shyqty kerekpa
""")
_RUSSIAN_HINTS = _listed("""
ne na eto kto chto kak tak tolko est net nado mozhno nuzhno pishite pishi dlya vse vsem ochen
esli ili bez ot po za iz vy ty ona oni ego ih tut tam zdes seichas sejchas segodnya zavtra hochu
khochu hochet prodam kuplyu kupit prodazha cena tsena dostavka srochno privet spasibo
pozhaluista bratya rebyata devushki budet byl bylo mne menya tebe tebya nas vas nam vam eshche uzhe
potom kogda gde pochemu skolko rabota zvonite lichku lichka lichke pishem dokumenty dokumentov
""")
_ENGLISH_HINTS = _listed("""
the and of to is are was were be you your for with this that it not no we our all who what from
or my me can will now here get just have has does did if they their he she his her an about
more new best click join how why when please thanks like good by our out up off into than then
""")


@njit(cache=True, nogil=True)
def _word_hash(codes: np.ndarray, start: int, end: int) -> np.uint64:
    value = np.uint64(1469598103934665603)
    for k in range(start, end):
        value = (value ^ np.uint64(codes[k])) * np.uint64(0x100000001B3)
    return value


def _hashes(words: list[str]) -> np.ndarray:
    return np.unique(
        np.array(
            [_word_hash(np.frombuffer(w.encode("utf-32-le"), np.uint32), 0, len(w)) for w in words],
            dtype=np.uint64,
        )
    )


# Letter kinds (what counts towards choosing the alphabet).
_NOT, _PLAIN, _MARK18, _MARK21, _DOTLESS, _APOS, _DROP = range(7)


def _tables() -> tuple[np.ndarray, np.ndarray]:
    kind = np.zeros(_SIZE, dtype=np.uint8)
    for char in "abcdefghijklmnopqrstuvwxyz":
        kind[ord(char)] = _PLAIN
    for char in "áǵńóúý":
        kind[ord(char)] = _MARK18
    for char in "äāğñöüūşç":
        kind[ord(char)] = _MARK21
    kind[ord("ı")] = _DOTLESS
    for char in _APOSTROPHES:
        if ord(char) < _SIZE:
            kind[ord(char)] = _APOS
    kind[ord(_DROPPED)] = _DROP
    cyrillic = np.zeros((5, _SIZE), dtype=np.uint32)
    for alphabet, own in _ALPHABETS.items():
        for source, target in (_COMMON | _MARKS | own).items():
            cyrillic[alphabet, ord(source)] = ord(target)
    return kind, cyrillic


_KIND, _CYRILLIC = _tables()
_APOSTROPHE_OF = np.zeros(_SIZE, dtype=np.uint32)
for _source, _target in _APOSTROPHE_2017.items():
    _APOSTROPHE_OF[ord(_source)] = ord(_target)
# One open-addressing table of every hint word: slot 2k holds a hash, 2k + 1 what it hints.
_HINT_BITS = 10


def _hint_table() -> np.ndarray:
    table = np.zeros(2 << _HINT_BITS, dtype=np.uint64)
    mask = (1 << _HINT_BITS) - 1
    for words, flag in ((_ENGLISH_HINTS, 8), (_RUSSIAN_HINTS, 4), (_KAZAKH_HINTS, 2)):
        for value in _hashes(words).tolist():
            slot = value & mask
            while table[2 * slot + 1] and table[2 * slot] != value:
                slot = (slot + 1) & mask
            if not table[2 * slot + 1]:  # a word in two lists keeps the first one's hint
                table[2 * slot], table[2 * slot + 1] = value, flag
    return table


_HINTS = _hint_table()
# What ends a clause.
_CLAUSE = np.zeros(_SIZE, dtype=np.bool_)
for _char in '.!?;:,\n()"«»':
    _CLAUSE[ord(_char)] = True
_VOWELS = np.zeros(_SIZE, dtype=np.bool_)
for _char in "aeiouyäāöüūáóúýı":
    _VOWELS[ord(_char)] = True


def to_cyrillic(codes: np.ndarray) -> np.ndarray:
    """`codes` (NFKC, casefolded) with Kazakh Latin and Russian Latin words in Cyrillic."""
    return _rewrite(codes, _KIND, _CYRILLIC, _APOSTROPHE_OF, _HINTS, _CLAUSE)


@njit(cache=True, nogil=True)
def _kind(code: int, kind: np.ndarray) -> int:
    return kind[code] if code < _SIZE else _NOT


@njit(cache=True, nogil=True)
def _is_letter(code: int, kind: np.ndarray) -> bool:
    k = _kind(code, kind)
    return k != _NOT and k != _APOS


@njit(cache=True, nogil=True)
def _contraction(codes: np.ndarray, after: int, end: int) -> bool:
    """English `n't`, `'s`, `'re`, `'ve`, `'ll`, `'d`, `'m` at the end of a word."""
    n = end - after
    if n == 1:
        return codes[after] in (116, 115, 100, 109)  # t s d m
    if n == 2:
        a, b = codes[after], codes[after + 1]
        return (a == 114 and b == 101) or (a == 118 and b == 101) or (a == 108 and b == 108)
    return False


@njit(cache=True, nogil=True)
def _vowel(code: int) -> bool:
    return code < _SIZE and _VOWELS[code]


@njit(cache=True, nogil=True)
def _hint(table: np.ndarray, value: np.uint64) -> np.int64:
    """What the word with hash `value` hints (8 English, 4 Russian, 2 Kazakh), else 0."""
    mask = np.int64((1 << _HINT_BITS) - 1)
    slot = np.int64(value & np.uint64(mask))
    while table[2 * slot + 1] != 0:
        if table[2 * slot] == value:
            return np.int64(table[2 * slot + 1])
        slot = (slot + 1) & mask
    return np.int64(0)


@njit(cache=True, nogil=True)
def _rewrite(
    codes: np.ndarray,
    kind: np.ndarray,
    cyrillic: np.ndarray,
    apostrophe_of: np.ndarray,
    hint_table: np.ndarray,
    clause_end: np.ndarray,
) -> np.ndarray:
    n = len(codes)
    starts = np.empty(n // 2 + 1, dtype=np.int64)
    ends = np.empty(n // 2 + 1, dtype=np.int64)
    clause = np.empty(n // 2 + 1, dtype=np.int64)
    # what each word is: 1 Kazakh marks, 2 Kazakh hint, 4 Russian hint, 8 English hint
    what = np.zeros(n // 2 + 1, dtype=np.uint8)
    votes = np.zeros(4, dtype=np.int64)  # marked words per alphabet (CHAT unused)
    words = 0
    clauses = 0
    i = 0
    while i < n:
        c = codes[i]
        if not _is_letter(c, kind):
            if (c < _SIZE and clause_end[c]) or c in (0x2013, 0x2014, 0x2026):  # – — …
                clauses += 1
            i += 1
            continue
        start = i
        m18 = m21 = m17 = dotless = 0
        q_alone = False
        while i < n:
            c = codes[i]
            k = _kind(c, kind)
            if k == _APOS:
                if i > start and i + 1 < n and _is_letter(codes[i + 1], kind):
                    i += 1
                    continue
                break
            if k == _NOT:
                break
            if k == _MARK18:
                m18 += 1
            elif k == _MARK21:
                m21 += 1
            elif k == _DOTLESS:
                dotless += 1
            elif c == 113 and (i + 1 >= n or codes[i + 1] != 117):  # q not before u
                q_alone = True
            i += 1
        end = i
        for j in range(start + 1, end - 1):
            if (
                _kind(codes[j], kind) == _APOS
                and apostrophe_of[codes[j - 1]] != 0
                and not _contraction(codes, j + 1, end)
            ):
                m17 += 1
        h = _word_hash(codes, start, end)
        flags = 0
        if m18 or m21 or m17 or dotless:
            flags |= 1
            best = max(m18, m21, m17)
            if best > 0:
                if m18 == best:
                    votes[Y2018] += 1
                elif m21 == best:
                    votes[Y2021] += 1
                else:
                    votes[Y2017] += 1
        hint = _hint(hint_table, h) if end - start <= 12 else np.int64(0)
        if hint == 0 and q_alone:
            hint = np.int64(2)
        flags |= int(hint)
        starts[words], ends[words], clause[words], what[words] = start, end, clauses, flags
        words += 1
    if words == 0:
        return codes
    marked = kazakh_words = russian_words = english_words = 0
    for w in range(words):
        marked += (what[w] & 1) != 0
        kazakh_words += (what[w] & 2) != 0
        russian_words += (what[w] & 4) != 0
        english_words += (what[w] & 8) != 0
    if marked >= 2 or (kazakh_words >= 2 and kazakh_words + marked > english_words):
        alphabet = CHAT
        top = 0
        for a in (Y2018, Y2021, Y2017):
            if votes[a] > top:
                alphabet, top = a, votes[a]
    elif russian_words >= 2 and russian_words > english_words:
        alphabet = RUSSIAN
    else:
        return codes
    # Clauses that read as English keep their unmarked words.
    hints = np.zeros(clauses + 1, dtype=np.int64)
    for w in range(words):
        if what[w] & 8:
            hints[clause[w]] -= 1
        elif what[w] & 7:
            hints[clause[w]] += 1
    out = np.empty(n, dtype=np.uint32)
    m = 0
    at = 0
    for w in range(words):
        for k in range(at, starts[w]):
            out[m] = codes[k]
            m += 1
        at = ends[w]
        if not (what[w] & 1) and (what[w] & 8 or hints[clause[w]] < 0):
            for k in range(starts[w], ends[w]):
                out[m] = codes[k]
                m += 1
            continue
        table = RUSSIAN if what[w] & 4 else alphabet
        m = _transliterate(codes, starts[w], ends[w], table, kind, cyrillic, apostrophe_of, out, m)
    for k in range(at, n):
        out[m] = codes[k]
        m += 1
    return out[:m]


@njit(cache=True, nogil=True)
def _transliterate(
    codes: np.ndarray,
    start: int,
    end: int,
    alphabet: int,
    kind: np.ndarray,
    cyrillic: np.ndarray,
    apostrophe_of: np.ndarray,
    out: np.ndarray,
    m: int,
) -> int:
    i = start
    while i < end:
        c = codes[i]
        nxt = codes[i + 1] if i + 1 < end else 0
        k = _kind(c, kind)
        if k == _DROP:
            i += 1
            continue
        if k == _APOS:
            if alphabet == RUSSIAN:
                out[m] = 0x44C  # ь
                m += 1
            i += 1
            continue
        if _kind(nxt, kind) == _APOS and alphabet == Y2017 and apostrophe_of[c] != 0:
            out[m] = apostrophe_of[c]
            m += 1
            i += 2
            continue
        double = 0
        if nxt == 104:  # sh ch zh kh gh
            if c == 115:
                double = 0x448
            elif c == 99:
                double = 0x447
            elif c == 122:
                double = 0x436
            elif c == 107:
                double = 0x445
            elif c == 103 and alphabet != RUSSIAN:
                double = 0x493
        elif c == 121 and (nxt == 101 or (alphabet == RUSSIAN and nxt == 111)):  # ye, yo
            double = 0x435
        elif c == 121 and nxt == 97:  # ya
            double = 0x44F
        elif c == 121 and nxt == 117:  # yu
            double = 0x44E
        elif alphabet == RUSSIAN and c == 116 and nxt == 115:  # ts
            double = 0x446
        if double:
            out[m] = double
            m += 1
            i += 2
            continue
        target = cyrillic[alphabet, c] if c < _SIZE else 0
        if (alphabet == Y2021 and c == 121) or (alphabet == CHAT and c == 105):
            # 2021 `y` is й beside a vowel (`saylau`), else the ы writers put for it (`shyğar`);
            # chat `i` after a vowel is й (`aitu`)
            before = i > start and _vowel(codes[i - 1])
            if alphabet == Y2021:
                target = 0x439 if before or _vowel(nxt) else 0x44B
            elif before:
                target = 0x439
        out[m] = target if target else c
        m += 1
        i += 1
    return m
