"""Hash-list rows: the one validation of a hash, and bounded line reading for every file format.

Readers (`classifiers.hashlist_formats`) turn a file into `HashRow | RowError`, each with its
1-based line number, so an import can list every bad line instead of stopping at the first.
Lines are read with a length cap: a huge field, binary garbage or a 1 GB line costs one
`RowError`, never the memory to hold it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import IO, NamedTuple

from classifiers.signals import SIGNAL_TYPES
from classifiers.signals.base import shown

# Hex digits per hash type, and the types that may be written with a 0x prefix: the signal types'.
HASH_TYPES: dict[str, int] = {name: kind.hex_digits() for name, kind in SIGNAL_TYPES.items()}
PREFIXED_TYPES = frozenset(kind.name for kind in SIGNAL_TYPES.images())
MAX_LINE = 16_384  # characters (bytes for binary streams) in one physical line
MAX_RECORD = 65_536  # characters in one CSV record that spans several lines
MAX_CATEGORY, MAX_SOURCE, MAX_NOTE = 40, 200, 4000
_QUALITY = re.compile(r"[+-]?[0-9]{1,6}")
_BAD_TEXT = re.compile(r"[\x00\ud800-\udfff]")


class HashRow(NamedTuple):
    """One good row. Records here are named tuples: immutable, and cheap to make a million of."""

    line: int
    hash_type: str
    value: str
    category: str | None = None
    note: str | None = None
    source: str | None = None
    quality: int | None = None


class RowError(NamedTuple):
    line: int
    message: str


class HashListFormatError(ValueError):
    """The file as a whole cannot be read (no header, wrong columns, unknown format)."""


class Line(NamedTuple):
    """One physical line: its text, or why it could not be read (too long, not UTF-8)."""

    number: int
    text: str | None
    error: str = ""


def normalize_hash(hash_type: str, value: str) -> str:
    """Lower-case hex of the right length for the type, or ValueError saying why not."""
    return SIGNAL_TYPES.get_type(hash_type).normalize(value)


def parse_quality(hash_type: str, quality: object) -> int | None:
    """PDQ quality 0-100 as the list gave it; None when absent; ValueError otherwise."""
    if quality is None or (isinstance(quality, str) and not quality.strip()):
        return None
    number: int | None = None
    if isinstance(quality, int) and not isinstance(quality, bool):
        number = quality
    elif isinstance(quality, float) and quality.is_integer():
        number = int(quality)
    elif isinstance(quality, str) and _QUALITY.fullmatch(quality.strip()):
        number = int(quality.strip())
    if number is None:
        raise ValueError(f"quality '{shown(quality)}' is not a whole number")
    if hash_type != "pdq":
        raise ValueError(f"quality is only given for pdq hashes, not for {hash_type}")
    if not 0 <= number <= 100:
        raise ValueError(f"pdq quality {number} is outside 0-100")
    return number


def make_row(
    line: int,
    hash_type: object,
    value: object,
    *,
    category: object = None,
    source: object = None,
    note: object = None,
    quality: object = None,
) -> HashRow | RowError:
    """Check one row's fields, whatever format they came from (empty optional fields are None)."""
    if not isinstance(hash_type, str) or not isinstance(value, str):
        if hash_type is None or value is None or hash_type == "" or value == "":
            return RowError(line, "missing hash_type or hash")
        return RowError(line, "hash_type and hash must be text")
    kind = hash_type.strip().lower()
    if not kind or not value.strip():
        return RowError(line, "missing hash_type or hash")
    try:
        normalized = normalize_hash(kind, value)
        texts = [
            None if field is None or field == "" else _text(name, field, limit)
            for name, field, limit in (
                ("category", category, MAX_CATEGORY),
                ("note", note, MAX_NOTE),
                ("source", source, MAX_SOURCE),
            )
        ]
        number = None if quality is None or quality == "" else parse_quality(kind, quality)
    except ValueError as exc:
        return RowError(line, str(exc))
    category_text, note_text, source_text = texts
    return HashRow(line, kind, normalized, category_text, note_text, source_text, number)


def _text(name: str, value: object, limit: int) -> str | None:
    if not isinstance(value, str):
        raise ValueError(f"{name} must be text")
    text = value.strip()
    if len(text) > limit:
        raise ValueError(f"{name} is longer than {limit} characters")
    if _BAD_TEXT.search(text):
        raise ValueError(f"{name} contains a NUL or an unpaired surrogate character")
    return text or None


def read_lines(stream: IO[bytes] | IO[str], *, max_line: int = MAX_LINE) -> Iterator[Line]:
    """Physical lines, each at most `max_line` long; longer or undecodable ones become errors.

    Binary streams are decoded line by line as UTF-8, so one bad line does not stop the file.
    A byte-order mark before the first line is dropped.
    """
    number = 0
    while True:
        chunk = stream.readline(max_line + 1)
        if not chunk:
            return
        number += 1
        if len(chunk) > max_line and not _ends_line(chunk):
            while (rest := stream.readline(max_line)) and not _ends_line(rest):
                pass
            yield Line(number, None, f"line is longer than {max_line} characters")
            continue
        if isinstance(chunk, bytes):
            try:
                text = chunk.decode("utf-8")
            except UnicodeDecodeError:
                yield Line(number, None, "line is not UTF-8 text")
                continue
        else:
            text = chunk
        yield Line(number, text.removeprefix("\ufeff") if number == 1 else text)


def _ends_line(chunk: bytes | str) -> bool:
    """Binary readline splits on LF only; a text stream opened with newline="" also on CR."""
    if isinstance(chunk, bytes):
        return chunk.endswith(b"\n")
    return chunk.endswith(("\n", "\r"))
