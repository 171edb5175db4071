"""Page prints: 64-bit SimHashes of a page's visible text and of its DOM shape.

Mirrors of one site show (nearly) the same text under other addresses: their text prints lie a
few bits apart, unrelated pages about half the bits apart. The DOM print says whether two pages
share a template, which confirms a text match that is near but not very near. Both are pure
functions of the capture with bounded work: text and HTML are cut to a fixed size, the word count
is capped, and the HTML parser stops after `MAX_TAGS` tags.

A print is 16 hex digits; `bands` splits it into four 16-bit values. Two prints within Hamming
distance 4r + 3 have some band within distance r of the other's (pigeonhole), so near prints are
found by indexed lookups of `band_neighbours` and then checked with `distance`.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from html.parser import HTMLParser

import numpy as np

PRINT_BITS = 64
BAND_COUNT = 4
BAND_BITS = PRINT_BITS // BAND_COUNT
SHINGLE_WORDS = 3
BLOCK_WEIGHT_CAP = 60
MIN_TOKENS = 8
MAX_TOKENS = 100_000
MAX_TEXT_CHARS = 1_000_000
MIN_TAGS = 8
MAX_TAGS = 20_000
MAX_HTML_CHARS = 2_000_000
TAG_PATH_DEPTH = 3
MAX_DEPTH = 256
_FEED_CHARS = 65_536
_END_TAG_REACH = 32

# Void elements never get an end tag, so they never go on the open-element stack.
_VOID = frozenset(
    "area base br col embed hr img input link meta param source track wbr".split()  # noqa: SIM905
)
_WORD = re.compile(r"\w+")
_PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?[\\]^_`{|}~«»“”„‘’…—–"
# A host name: dot-separated labels ending in a label of letters (linear to match: dots delimit).
_HOST = re.compile(r"(?:[\w-]+\.)+[^\W\d_]{2,}")


def text_blocks(text: str) -> list[list[str]]:
    """The words of each line of `text` (NFKC, casefolded), addresses and words holding a digit
    left out, at most `MAX_TOKENS` in all."""
    text = unicodedata.normalize("NFKC", text[:MAX_TEXT_CHARS]).casefold()
    blocks: list[list[str]] = []
    room = MAX_TOKENS
    for line in text.splitlines():
        words = [
            word
            for chunk in line.split()
            if not _is_address(chunk)
            for word in _WORD.findall(chunk)
            if not any(c.isdigit() for c in word)
        ][:room]
        if words:
            blocks.append(words)
            room -= len(words)
            if room <= 0:
                break
    return blocks


def _is_address(chunk: str) -> bool:
    """URLs, e-mail, @handles and host names: mirrors differ exactly there, so they are left out."""
    return "://" in chunk or "@" in chunk or bool(_HOST.fullmatch(chunk.strip(_PUNCTUATION)))


def text_print(text: str | None) -> str | None:
    """SimHash of the word 3-shingles of each line, weighted by the line's length.

    Long lines are the page's content; short ones (menus, ads, footers) are what mirrors change,
    so they weigh less. None when the page has under `MIN_TOKENS` words.
    """
    blocks = text_blocks(text) if text else []
    if sum(len(words) for words in blocks) < MIN_TOKENS:
        return None
    features: dict[str, float] = {}
    for words in blocks:
        weight = float(min(len(words), BLOCK_WEIGHT_CAP))
        for i in range(max(1, len(words) - SHINGLE_WORDS + 1)):
            shingle = " ".join(words[i : i + SHINGLE_WORDS])
            features[shingle] = max(features.get(shingle, 0.0), weight)
    return simhash(features.items())


class _TagPaths(HTMLParser):
    """Collects `parent/…/tag` paths of start tags, stopping after `max_tags` of them (or twice
    as many end tags)."""

    def __init__(self, max_tags: int) -> None:
        super().__init__(convert_charrefs=False)
        self.max_tags = max_tags
        self.paths: list[str] = []
        self.stack: list[str] = []
        self.end_tags = 0

    @property
    def full(self) -> bool:
        return len(self.paths) >= self.max_tags or self.end_tags >= 2 * self.max_tags

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.full:
            return
        self.paths.append("/".join([*self.stack[-TAG_PATH_DEPTH:], tag]))
        if tag not in _VOID and len(self.stack) < MAX_DEPTH:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if not self.full:
            self.paths.append("/".join([*self.stack[-TAG_PATH_DEPTH:], tag]))

    def handle_endtag(self, tag: str) -> None:
        self.end_tags += 1
        open_tags = self.stack[-_END_TAG_REACH:][::-1]  # a serialized DOM closes the innermost
        if tag in open_tags:
            del self.stack[len(self.stack) - 1 - open_tags.index(tag) :]


def tag_paths(html: str, *, max_tags: int = MAX_TAGS, max_chars: int = MAX_HTML_CHARS) -> list[str]:
    """The tag path of each start tag in document order: at most `max_tags` of the first
    `max_chars` characters, fed in slices so a hostile page costs no more than that."""
    parser = _TagPaths(max_tags)
    html = html[:max_chars]
    for start in range(0, len(html), _FEED_CHARS):
        parser.feed(html[start : start + _FEED_CHARS])
        if parser.full:
            break
    return parser.paths


def dom_print(html: str | None) -> str | None:
    """SimHash of the page's tag paths, each weighted by 1 + log2 of how often it occurs."""
    if not html:
        return None
    paths = tag_paths(html)
    if len(paths) < MIN_TAGS:
        return None
    return simhash((path, 1.0 + math.log2(n)) for path, n in Counter(paths).items())


@dataclass(frozen=True, slots=True)
class PagePrints:
    text: str | None
    dom: str | None


def page_prints(text: str | None, html: str | None) -> PagePrints:
    return PagePrints(text_print(text), dom_print(html))


def simhash(features: Iterable[tuple[str, float]]) -> str | None:
    """Charikar's SimHash over weighted features, with a stable 64-bit blake2b per feature."""
    digests, weights = [], []
    for feature, weight in features:
        digests.append(hashlib.blake2b(feature.encode(), digest_size=8).digest())
        weights.append(weight)
    if not digests:
        return None
    bits = np.unpackbits(np.frombuffer(b"".join(digests), dtype=np.uint8).reshape(-1, 8), axis=1)
    votes = np.asarray(weights, dtype=np.float64) @ (bits.astype(np.float64) * 2.0 - 1.0)
    return bytes(np.packbits(votes > 0)).hex()


def distance(a: str, b: str) -> int:
    """Hamming distance between two prints in hex."""
    return (int(a, 16) ^ int(b, 16)).bit_count()


def bands(print_hex: str) -> tuple[int, ...]:
    """The print's four 16-bit bands, most significant first."""
    value = int(print_hex, 16)
    mask = (1 << BAND_BITS) - 1
    return tuple((value >> (PRINT_BITS - BAND_BITS * (i + 1))) & mask for i in range(BAND_COUNT))


def band_neighbours(value: int, radius: int) -> list[int]:
    """Every band value within Hamming distance `radius` of `value`: the lookups that find all
    prints within distance 4 * radius + 3 (some band of theirs is at most `radius` away)."""
    found = [value]
    for flips in range(1, radius + 1):
        for bits in itertools.combinations(range(BAND_BITS), flips):
            found.append(value ^ sum(1 << bit for bit in bits))
    return found
