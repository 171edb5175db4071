"""Reading hash-list files: every row checked, every bad row reported with its line number."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TextIO

HASH_TYPES: dict[str, int] = {
    "sha256": 64,
    "sha1": 40,
    "md5": 32,
    "phash": 16,
    "dhash": 16,
    "pdq": 64,
}
_HEX = re.compile(r"^[0-9a-f]+$")
MAX_FIELD = 4096


@dataclass(frozen=True, slots=True)
class HashRow:
    line: int
    hash_type: str
    value: str
    category: str | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class RowError:
    line: int
    message: str


class HashListFormatError(ValueError):
    """The file as a whole cannot be read (no header, wrong columns)."""


def normalize_hash(hash_type: str, value: str) -> str:
    """Lower-case hex of the right length for the type, or ValueError saying why not."""
    kind = hash_type.strip().lower()
    if kind not in HASH_TYPES:
        raise ValueError(f"unknown hash type '{hash_type}' (known: {', '.join(HASH_TYPES)})")
    text = value.strip().lower()
    if not _HEX.match(text or "-"):
        raise ValueError(f"{kind} value '{value[:80]}' is not hexadecimal")
    if len(text) != HASH_TYPES[kind]:
        raise ValueError(f"{kind} value must have {HASH_TYPES[kind]} hex digits, got {len(text)}")
    return text


def read_csv(stream: TextIO) -> Iterator[HashRow | RowError]:
    """Rows of a CSV with at least `hash_type,hash` (optional `category`, `note`)."""
    csv.field_size_limit(MAX_FIELD)
    reader = csv.reader(stream)
    try:
        header = [name.strip().lower() for name in next(reader)]
    except StopIteration:
        raise HashListFormatError("the file is empty; expected a header 'hash_type,hash'") from None
    except csv.Error as exc:
        raise HashListFormatError(f"line 1: {exc}") from None
    header = [name.lstrip("\ufeff") for name in header]
    if "hash_type" not in header or "hash" not in header:
        raise HashListFormatError(f"header must name 'hash_type' and 'hash', got {header!r}")
    index = {name: position for position, name in enumerate(header)}
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield RowError(reader.line_num, f"unreadable CSV: {exc}")
            continue
        if not fields or all(not field.strip() for field in fields):
            continue
        yield _row(reader.line_num, fields, index)


def _row(line: int, fields: list[str], index: dict[str, int]) -> HashRow | RowError:
    def get(name: str) -> str | None:
        position = index.get(name)
        if position is None or position >= len(fields):
            return None
        return fields[position].strip() or None

    hash_type, value = get("hash_type"), get("hash")
    if not hash_type or not value:
        return RowError(line, "missing hash_type or hash")
    try:
        normalized = normalize_hash(hash_type, value)
    except ValueError as exc:
        return RowError(line, str(exc))
    return HashRow(line, hash_type.strip().lower(), normalized, get("category"), get("note"))


def read_csv_bytes(data: bytes) -> Iterator[HashRow | RowError]:
    return read_csv(io.StringIO(data.decode("utf-8-sig", errors="replace"), newline=""))
