"""Hash-list file formats: readers that stream rows in, writers that stream rows out.

Formats (`FORMATS`), each read line by line with a length cap, every row checked:

- `csv`: a header naming `hash_type` and `hash`, optionally `category`, `source`, `note`,
  `quality`, in any order and case; other columns are ignored. A BOM, CRLF line ends, quoted
  fields (also spanning lines, as the `csv` writer quotes a note with a line break) and short rows
  are fine. Blank lines are skipped.
- `jsonl` (also `.ndjson`): one JSON object per line with `hash_type`, `hash` and optionally
  `category`, `source`, `note`, `quality` (a number or a numeric string); other keys are ignored.
  A line that is not a JSON object is a RowError for that line, not the end of the import.
- `hma`: python-threatexchange and HMA exports, see `classifiers.hashlist_te`.

Values: hex in any case with surrounding spaces; `0x` before a pHash, dHash or PDQ; `quality`
only on PDQ rows, 0-100.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable, Iterator
from pathlib import PurePath
from typing import IO, NamedTuple, TextIO

from classifiers.hashlist import (
    MAX_RECORD,
    HashListFormatError,
    HashRow,
    Line,
    RowError,
    make_row,
    read_lines,
)
from classifiers.hashlist_te import read_hma

Reader = Callable[[IO[bytes] | IO[str]], Iterator[HashRow | RowError]]
OPTIONAL_COLUMNS = ("category", "source", "note", "quality")
EXTENSIONS = {
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".txt": "hma",
    ".te": "hma",
    ".hma": "hma",
}


class ListedHash(NamedTuple):
    """One stored hash on its way out, with the list it belongs to."""

    hash_type: str
    value: str
    category: str | None
    source: str | None
    note: str | None
    quality: int | None
    list_name: str


class _BadLine(Exception):
    def __init__(self, line: Line) -> None:
        super().__init__(line.error)
        self.line = line


class _CsvLines:
    """Feeds `csv.reader` bounded lines; an unreadable line or overlong record raises `_BadLine`.

    `csv.reader` resets its state on the next call, so reading resumes on the following line.
    """

    def __init__(self, stream: IO[bytes] | IO[str]) -> None:
        self._lines = read_lines(stream)
        self.number = 0
        self.record_chars = 0

    def __iter__(self) -> _CsvLines:
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self.number = line.number
        if line.text is None:
            raise _BadLine(line)
        self.record_chars += len(line.text)
        if self.record_chars > MAX_RECORD:
            message = f"record longer than {MAX_RECORD} characters (an unclosed quote?)"
            raise _BadLine(Line(line.number, None, message))
        return line.text


def read_csv(stream: IO[bytes] | IO[str]) -> Iterator[HashRow | RowError]:
    """Rows of a CSV with a header naming at least `hash_type` and `hash`."""
    lines = _CsvLines(stream)
    reader = csv.reader(lines)
    header: list[str] = []
    while not header:
        try:
            header = [name.strip().lower() for name in next(reader)]
        except StopIteration:
            raise HashListFormatError(
                "the file is empty; expected a header 'hash_type,hash'"
            ) from None
        except _BadLine as bad:
            raise HashListFormatError(f"line {bad.line.number}: {bad.line.error}") from None
        except csv.Error as exc:
            raise HashListFormatError(f"line {lines.number}: {exc}") from None
        if all(not name for name in header):
            header = []
    positions = _columns(header)
    while True:
        start, lines.record_chars = lines.number + 1, 0
        try:
            fields = next(reader)
        except StopIteration:
            return
        except _BadLine as bad:
            yield RowError(bad.line.number, bad.line.error)
            continue
        except csv.Error as exc:
            yield RowError(start, f"unreadable CSV: {exc}")
            continue
        if all(not field.strip() for field in fields):
            continue
        yield _csv_row(start, fields, positions)


def _columns(header: list[str]) -> tuple[int, ...]:
    """Positions of hash_type, hash and the optional columns in a row (-1: absent)."""
    if "hash_type" not in header or "hash" not in header:
        hint = ""
        if "signal_type" in header:
            hint = "; a threatexchange dataset CSV is read with --format hma"
        raise HashListFormatError(
            f"header must name 'hash_type' and 'hash', got {[n[:40] for n in header[:10]]!r}{hint}"
        )
    wanted = ("hash_type", "hash", *OPTIONAL_COLUMNS)
    for name in wanted:
        if header.count(name) > 1:
            raise HashListFormatError(f"column '{name}' appears {header.count(name)} times")
    return tuple(header.index(name) if name in header else -1 for name in wanted)


def _csv_row(line: int, fields: list[str], positions: tuple[int, ...]) -> HashRow | RowError:
    count = len(fields)
    hash_type, value, category, source, note, quality = (
        fields[p] if 0 <= p < count else None for p in positions
    )
    return make_row(
        line, hash_type, value, category=category, source=source, note=note, quality=quality
    )


def read_jsonl(stream: IO[bytes] | IO[str]) -> Iterator[HashRow | RowError]:
    """Rows of a JSON-lines file, one object per line."""
    for line in read_lines(stream):
        if line.text is None:
            yield RowError(line.number, line.error)
            continue
        text = line.text.strip()
        if not text:
            continue
        try:
            item = json.loads(text)
        except json.JSONDecodeError as exc:
            yield RowError(line.number, f"not valid JSON ({exc.msg} at column {exc.colno})")
            continue
        except (ValueError, RecursionError):
            yield RowError(line.number, "not valid JSON (too deeply nested or a number too long)")
            continue
        if not isinstance(item, dict):
            yield RowError(
                line.number, 'expected a JSON object like {"hash_type": ..., "hash": ...}'
            )
            continue
        yield make_row(
            line.number,
            item.get("hash_type"),
            item.get("hash"),
            **{name: item.get(name) for name in OPTIONAL_COLUMNS},
        )


READERS: dict[str, Reader] = {"csv": read_csv, "jsonl": read_jsonl, "hma": read_hma}
FORMATS = tuple(READERS)


def detect_format(path: str) -> tuple[str, str]:
    """The format for a file name and why, or HashListFormatError asking for `--format`."""
    suffix = PurePath(path).suffix.lower()
    if suffix in EXTENSIONS:
        return EXTENSIONS[suffix], f"from the {suffix} extension"
    raise HashListFormatError(
        f"cannot tell the format of '{path}' from its extension; pass --format {'|'.join(FORMATS)}"
    )


def read_rows(stream: IO[bytes] | IO[str], fmt: str) -> Iterator[HashRow | RowError]:
    if fmt not in READERS:
        raise HashListFormatError(f"unknown format '{fmt}'; use one of {', '.join(FORMATS)}")
    return READERS[fmt](stream)


def write_csv(out: TextIO, rows: Iterable[ListedHash]) -> int:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["hash_type", "hash", *OPTIONAL_COLUMNS, "list"])
    count = 0
    for row in rows:
        writer.writerow(
            [
                row.hash_type,
                row.value,
                row.category or "",
                row.source or "",
                row.note or "",
                "" if row.quality is None else row.quality,
                row.list_name,
            ]
        )
        count += 1
    return count


def write_jsonl(out: TextIO, rows: Iterable[ListedHash]) -> int:
    count = 0
    for row in rows:
        item: dict[str, object] = {"hash_type": row.hash_type, "hash": row.value}
        for name in OPTIONAL_COLUMNS:
            value = getattr(row, name)
            if value is not None and value != "":
                item[name] = value
        item["list"] = row.list_name
        out.write(json.dumps(item, ensure_ascii=False) + "\n")
        count += 1
    return count


def write_hma(out: TextIO, rows: Iterable[ListedHash]) -> int:
    """`<hash_type> <hash>` lines: type and hash only (category, note, quality are dropped)."""
    count = 0
    for row in rows:
        out.write(f"{row.hash_type} {row.value}\n")
        count += 1
    return count


WRITERS: dict[str, Callable[[TextIO, Iterable[ListedHash]], int]] = {
    "csv": write_csv,
    "jsonl": write_jsonl,
    "hma": write_hma,
}
