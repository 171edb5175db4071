"""`hotline hash`, `hotline match` and `hotline index rebuild`: media files against the lists.

One JSON line per file, in the order given; a file that cannot be read or decoded gets an `error`
line and the others still run (exit 2 when any file was unusable).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_BAD_INPUT = 0, 2
HASH_FIELDS = ("sha256", "md5", "sha1", "phash", "dhash", "pdq", "pdq_quality")
DEFAULT_MAX_BYTES = 100 * 1024 * 1024


def cmd_hash(args: argparse.Namespace) -> int:
    from classifiers.hashing import hash_media

    status = EXIT_OK
    for name in args.files:
        try:
            hashes = hash_media(read_limited(Path(name), args.max_bytes))
        except OSError as exc:
            print(json.dumps({"path": name, "error": exc.strerror or str(exc)}, ensure_ascii=False))
            status = EXIT_BAD_INPUT
            continue
        row: dict[str, Any] = {"path": name} | {k: getattr(hashes, k) for k in HASH_FIELDS}
        if hashes.frames and hashes.frames > 1:
            row["frames"] = hashes.frames
        if hashes.error:
            row["error"] = hashes.error
        print(json.dumps(row, ensure_ascii=False))
    return status


def cmd_match(args: argparse.Namespace) -> int:
    from classifiers.hashing import hash_media
    from triage_api.config import get_settings
    from triage_api.db import session_scope
    from triage_api.matching import find_hits

    settings = get_settings()
    status = EXIT_OK
    rows: dict[str, dict[str, Any]] = {}
    lookups = {}
    for name in args.files:
        try:
            hashes = hash_media(
                read_limited(Path(name), args.max_bytes), dihedral=settings.match_pdq_dihedral
            )
        except OSError as exc:
            rows[name], status = {"path": name, "error": exc.strerror or str(exc)}, EXIT_BAD_INPUT
            continue
        rows[name] = {"path": name, "matches": []}
        if hashes.error:  # exact digests still match an undecodable file
            rows[name]["error"] = hashes.error
        lookups[name] = hashes.lookups()
    with session_scope() as session:
        hits = find_hits(session, lookups, settings, max_distance=args.max_distance)
    for hit in sorted(hits, key=lambda h: (h.item, h.distance, h.list_name)):
        match = {
            "list": hit.list_name,
            "category": hit.category,
            "hash_type": hit.hash_type,
            "distance": hit.distance,
        }
        if hit.via:
            match["via"] = hit.via
        rows[hit.item]["matches"].append(match)
    for name in args.files:
        print(json.dumps(rows[name], ensure_ascii=False))
    return status


def cmd_index_rebuild(args: argparse.Namespace) -> int:
    from triage_api.config import get_settings
    from triage_api.db import session_scope
    from triage_api.known_index import known_index

    settings = get_settings()
    index = known_index(settings.index_dir, save_after=settings.index_save_after)
    with session_scope() as session:
        sizes = index.rebuild(session)
    for kind, size in sizes.items():
        print(f"{kind}: {size} hash(es) indexed in {settings.index_dir / kind}")
    return EXIT_OK


def read_limited(path: Path, limit: int) -> bytes:
    with path.open("rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise OSError(f"file is larger than {limit} bytes")
    return data


def add_commands(sub: Any, add: Callable[..., argparse.ArgumentParser]) -> None:
    """Register the media commands on the `hotline` parser."""
    hashing = add("hash", cmd_hash, "print the hashes of files as JSON lines")
    hashing.add_argument("files", nargs="+")
    hashing.add_argument("--max-bytes", type=int, default=DEFAULT_MAX_BYTES)

    match = add("match", cmd_match, "look files up in the hash lists; one JSON line per file")
    match.add_argument("files", nargs="+")
    match.add_argument(
        "--max-distance",
        type=int,
        metavar="N",
        help="Hamming distance for every perceptual hash (default: the configured thresholds)",
    )
    match.add_argument("--max-bytes", type=int, default=DEFAULT_MAX_BYTES)

    index = sub.add_parser("index", help="the known-hash indexes").add_subparsers(
        dest="index_command", required=True
    )
    add("rebuild", cmd_index_rebuild, "rebuild the Hamming indexes from the database", index)
