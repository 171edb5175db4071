"""Hash lists from python-threatexchange and HMA (OpenMediaMatch), format name `hma`.

Accepted, one item per line; blank lines and lines starting with `#` are skipped:

1. `<signal_type> <hash> [more fields]`, separated by spaces or tabs: what
   `threatexchange dataset --print-signals --signals-only` prints, and what `hotline hashlist
   export --format hma` writes. Fields after the hash are ignored.
2. `'<collab>' <signal_type> <hash> [metadata]`: `threatexchange dataset --print-signals`, which
   starts each line with the Python repr of the collaboration's name (single or double quotes);
   the name becomes the row's source, the metadata is ignored.
3. A CSV whose first line is the header `collab,signal_type,signal_str[,category,tags]`
   (`threatexchange dataset --print-signals --csv`): `collab` becomes the source, ThreatExchange's
   opinion category and tags go into the note. One record per line (no multi-line fields).
4. A JSON object naming one item's signals as HMA's bank content does:
   `{"pdq": "<hex>", "video_md5": "<hex>"}`, or that map under `"signals"` as HMA's
   `POST /bank/<name>/content` answers (`{"id": 7, "signals": {...}}`). One row per signal, all
   with that line's number.

Signal-type names (case-insensitive) and the hash type each becomes: see `SIGNAL_TYPES`
(`pdq`; `md5`, `video_md5`, `photo_md5`; `sha256`, `video_sha256`, `photo_sha256`; `sha1`;
ThreatExchange's old indicator types `HASH_PDQ`, `HASH_MD5`, `VIDEO_HASH_MD5`, `HASH_SHA256`,
`HASH_VIDEO_SHA256`; and our own `phash`, `dhash`). Any other name is a RowError for its line.
Not accepted: a bare hash without its type (`dataset -s pdq -S` output; prefix each line with
`pdq `), and the old CLI's `simple.<TYPE>.te` state files.
"""

from __future__ import annotations

import ast
import csv
import json
import re
from collections.abc import Iterator
from typing import IO

from classifiers.hashlist import HashRow, RowError, make_row, read_lines, shown

SIGNAL_TYPES: dict[str, str] = {
    "pdq": "pdq",
    "hash_pdq": "pdq",
    "md5": "md5",
    "video_md5": "md5",
    "photo_md5": "md5",
    "hash_md5": "md5",
    "video_hash_md5": "md5",
    "sha256": "sha256",
    "video_sha256": "sha256",
    "photo_sha256": "sha256",
    "hash_sha256": "sha256",
    "hash_video_sha256": "sha256",
    "sha1": "sha1",
    "hash_sha1": "sha1",
    "phash": "phash",
    "dhash": "dhash",
}
# Known threatexchange signal types that are not hashes of media bytes or pixels.
NOT_MEDIA_HASHES = frozenset(
    {"url_md5", "text_md5", "url", "raw_text", "trend_query", "tlsh", "pdq_ocr", "clip"}
    | {"video_tmk_pdqf", "tmk", "vpdq", "hash_tmk", "hash_url_md5"}
)
_COLLAB = re.compile(r"""('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")\s+""")
_TE_CSV_HEADER = "collab,signal_type,signal_str"


def hash_type_for(signal_type: str) -> str:
    """Our hash type for a threatexchange/HMA signal-type name, or ValueError saying why not."""
    name = signal_type.strip().lower()
    if name in SIGNAL_TYPES:
        return SIGNAL_TYPES[name]
    if name in NOT_MEDIA_HASHES:
        raise ValueError(f"signal type '{shown(name)}' is not a media hash this hotline matches")
    raise ValueError(
        f"unknown signal type '{shown(signal_type)}' (accepted: {', '.join(SIGNAL_TYPES)})"
    )


def read_hma(stream: IO[bytes] | IO[str]) -> Iterator[HashRow | RowError]:
    """Rows of a threatexchange/HMA export: variants 1, 2 and 4 may be mixed; a CSV is all CSV."""
    te_csv: dict[str, int] | None = None
    seen_content = False
    for line in read_lines(stream):
        if line.text is None:
            yield RowError(line.number, line.error)
            continue
        text = line.text.strip()
        if not text or text.startswith("#"):
            continue
        if not seen_content:
            seen_content = True
            if text.replace(" ", "").lower().startswith(_TE_CSV_HEADER):
                te_csv = _csv_header(text)
                continue
        if te_csv is not None:
            yield _csv_row(line.number, text, te_csv)
        elif text.startswith("{"):
            yield from _json_signals(line.number, text)
        else:
            yield _text_row(line.number, text)


def _text_row(number: int, text: str) -> HashRow | RowError:
    source = None
    match = _COLLAB.match(text)
    if match:
        try:
            source = ast.literal_eval(match.group(1))
        except (ValueError, SyntaxError):
            return RowError(number, "the quoted collaboration name is not a valid string")
        text = text[match.end() :]
    fields = text.split(None, 2)
    if len(fields) < 2:
        return RowError(number, f"expected '<signal_type> <hash>', got '{shown(text)}'")
    return _signal(number, fields[0], fields[1], source=source)


def _signal(number: int, signal_type: str, value: object, **extra: object) -> HashRow | RowError:
    try:
        hash_type = hash_type_for(signal_type)
    except ValueError as exc:
        return RowError(number, str(exc))
    return make_row(number, hash_type, value, **extra)


def _csv_header(text: str) -> dict[str, int]:
    names = next(csv.reader([text]))
    return {name.strip().lower(): position for position, name in enumerate(names)}


def _csv_row(number: int, text: str, columns: dict[str, int]) -> HashRow | RowError:
    try:
        fields = next(csv.reader([text]))
    except csv.Error as exc:
        return RowError(number, f"unreadable CSV: {exc}")

    def get(name: str) -> str:
        position = columns.get(name)
        return fields[position].strip() if position is not None and position < len(fields) else ""

    opinion = "; ".join(
        f"threatexchange {name}: {get(name)}" for name in ("category", "tags") if get(name)
    )
    if not get("signal_type") or not get("signal_str"):
        return RowError(number, "missing signal_type or signal_str")
    return _signal(
        number,
        get("signal_type"),
        get("signal_str"),
        source=get("collab") or None,
        note=opinion or None,
    )


def _json_signals(number: int, text: str) -> Iterator[HashRow | RowError]:
    try:
        item = json.loads(text)
    except json.JSONDecodeError as exc:
        yield RowError(number, f"not valid JSON ({exc.msg} at column {exc.colno})")
        return
    except (ValueError, RecursionError):
        yield RowError(number, "not valid JSON (too deeply nested or a number too long)")
        return
    signals = item.get("signals", item) if isinstance(item, dict) else None
    if not isinstance(signals, dict) or not signals:
        yield RowError(number, 'expected a JSON object of signals, like {"pdq": "<hex>"}')
        return
    for signal_type, value in signals.items():
        yield _signal(number, signal_type, value)
