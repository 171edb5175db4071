"""`hotline classify`: JSON lines in (`id`, `text`, optional `title`, `url`), JSON lines out
(`id`, `label`, `scores`, `explanation`, `model`, `version`), in input order.

A line that is not a JSON object with an id and a text, is not UTF-8, or is longer than
`--max-line-bytes` gets an `error` line with its line number; the others are still classified
(exit 2 when any line was unusable, 1 when the model cannot be loaded).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

EXIT_OK, EXIT_NO_MODEL, EXIT_BAD_INPUT = 0, 1, 2
DEFAULT_MAX_LINE = 4 * 1024 * 1024
BATCH = 256


def cmd_classify(args: argparse.Namespace) -> int:
    from classifiers.text_features import model_text
    from classifiers.text_model import ModelUnavailable, TextClassifier

    try:
        model = TextClassifier(args.model)
    except ModelUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_NO_MODEL
    out = sys.stdout
    status = EXIT_OK
    pending: list[tuple[Any, str]] = []
    rows: list[dict[str, Any]] = []

    def flush() -> None:
        results = iter(model.classify([text for _, text in pending]))
        for row in rows:
            if "error" not in row:
                row |= next(results).as_dict() | {"model": model.name, "version": model.version}
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
        out.flush()
        pending.clear()
        rows.clear()

    for number, line in _lines(sys.stdin.buffer, args.max_line_bytes):
        item, error = _parse(line)
        if error is not None:
            rows.append({"id": item, "line": number, "error": error})
            status = EXIT_BAD_INPUT
        else:
            identifier, text, title = item
            rows.append({"id": identifier})
            pending.append((identifier, model_text(text, title)))
        if len(rows) >= BATCH:
            flush()
    flush()
    return status


def _lines(stream: IO[bytes], limit: int) -> Iterator[tuple[int, bytes | None]]:
    """(line number, bytes) per non-empty line; None for a line over `limit`, whose rest is
    skipped without being held in memory."""
    number = 0
    while True:
        line = stream.readline(limit + 1)
        if not line:
            return
        number += 1
        if len(line) > limit and not line.endswith(b"\n"):
            while (rest := stream.readline(1 << 20)) and not rest.endswith(b"\n"):
                pass
            yield number, None
            continue
        if line.strip():
            yield number, line


def _parse(line: bytes | None) -> tuple[Any, str | None]:
    """((id, text, title), None) or (id or None, the reason the line cannot be classified)."""
    if line is None:
        return None, "line is longer than --max-line-bytes"
    try:
        row = json.loads(line.decode("utf-8"))
    except UnicodeDecodeError:
        return None, "line is not UTF-8"
    except json.JSONDecodeError as exc:
        return None, f"not JSON: {exc.msg} at column {exc.colno}"
    if not isinstance(row, dict):
        return None, "expected a JSON object with id and text"
    identifier = row.get("id")
    if identifier is None or isinstance(identifier, dict | list):
        return None, "missing id (a string or a number)"
    text, title = row.get("text"), row.get("title")
    if not isinstance(text, str):
        return identifier, "missing text (a string)"
    if title is not None and not isinstance(title, str):
        return identifier, "title must be a string"
    return (identifier, text, title), None


def add_commands(sub: Any, add: Callable[..., argparse.ArgumentParser]) -> None:
    classify = add("classify", cmd_classify, "classify JSON lines of page texts from stdin")
    classify.add_argument("--model", type=Path, help="ONNX text model (default: the shipped one)")
    classify.add_argument("--max-line-bytes", type=int, default=DEFAULT_MAX_LINE)
