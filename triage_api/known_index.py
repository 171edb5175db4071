"""The machine's Hamming indexes over the known-hash lists, one per perceptual hash type.

Each index lives under `<data_dir>/index/<type>/`, memory-mapped, so every worker of a machine
shares one copy in the page cache. It covers `known_hashes` rows up to a watermark (their highest
id) and remembers the ids just below it, because ids from concurrent imports can commit out of
order; a process adds newer rows in memory at each refresh, and when enough accumulate it saves the
index for the others (under a file lock, so one process writes at a time). Rows are never removed
from an index: a hit whose row is gone from the database is dropped when hits are read back.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import Session

from classifiers.hamming_index import HammingIndex, codes_from_hex
from classifiers.signals import SIGNAL_TYPES
from triage_api.models import KnownHash

BATCH = 100_000
META = "meta.json"
MARGIN = 2_000  # ids this far below the watermark may still commit late: look again


class TypeIndex:
    """One perceptual type's index and the highest `known_hashes.id` it holds."""

    def __init__(self, directory: Path, hash_type: str) -> None:
        self.directory = directory
        self.hash_type = hash_type
        self.bits = SIGNAL_TYPES[hash_type].bits
        self.index = HammingIndex(self.bits)
        self.watermark = 0
        self.saved_watermark = 0
        self.generation = ""
        self.recent: set[int] = set()
        self._load()

    def _load(self) -> None:
        meta = _read_meta(self.directory)
        if meta is None:
            return
        try:
            self.index = HammingIndex.load(self.directory / "data", mmap=True)
        except (OSError, ValueError):  # a torn or foreign directory: rebuild from the database
            self.index, meta = HammingIndex(self.bits), {"watermark": 0, "generation": ""}
        self.watermark = self.saved_watermark = int(meta["watermark"])  # type: ignore[call-overload]
        self.generation = str(meta["generation"])
        self.recent = {int(i) for i in meta.get("recent", [])}  # type: ignore[attr-defined]

    def stale(self) -> bool:
        """Another process saved a newer index since this one was loaded."""
        meta = _read_meta(self.directory)
        return meta is not None and str(meta["generation"]) != self.generation

    def catch_up(self, session: Session) -> int:
        """Add rows not yet indexed (past the watermark, or late just below it); say how many."""
        added, cursor = 0, self.watermark - MARGIN
        while True:
            rows = session.execute(
                sa.select(KnownHash.id, KnownHash.value)
                .where(KnownHash.hash_type == self.hash_type, KnownHash.id > cursor)
                .order_by(KnownHash.id)
                .limit(BATCH)
            ).all()
            if not rows:
                break
            cursor = rows[-1].id
            fresh = [row for row in rows if row.id not in self.recent]
            if fresh:
                ids = np.fromiter((row.id for row in fresh), dtype=np.int64, count=len(fresh))
                self.index.add(codes_from_hex([row.value for row in fresh], self.bits), ids)
                self.recent.update(int(i) for i in ids)
                self.watermark = max(self.watermark, int(ids[-1]))
                added += len(fresh)
        floor = self.watermark - MARGIN
        self.recent = {i for i in self.recent if i > floor}
        return added

    def save(self) -> None:
        generation = os.urandom(8).hex()
        self.index.save(self.directory / "data")
        _write_meta(
            self.directory,
            {"watermark": self.watermark, "generation": generation, "recent": sorted(self.recent)},
        )
        self.generation, self.saved_watermark = generation, self.watermark


class KnownIndex:
    """All perceptual types' indexes of one data directory, kept current with the database."""

    def __init__(self, directory: Path, *, save_after: int = 50_000) -> None:
        self.directory = directory
        self.save_after = save_after
        self._lock = threading.Lock()
        self.types = {
            kind.name: TypeIndex(directory / kind.name, kind.name) for kind in SIGNAL_TYPES.images()
        }

    def refresh(self, session: Session) -> None:
        top = session.scalar(sa.select(sa.func.max(KnownHash.id))) or 0
        with self._lock:
            for name, part in list(self.types.items()):
                if part.stale():
                    part = self.types[name] = TypeIndex(part.directory, name)
                reset = top < part.watermark  # the database was reset under us: start again
                if reset:
                    part = self.types[name] = _empty(part.directory, name)
                part.catch_up(session)
                if reset or part.watermark - part.saved_watermark >= self.save_after:
                    with _exclusive(self.directory) as got:
                        if got and (reset or not part.stale()):
                            part.save()

    def search(self, hash_type: str, value: str, max_distance: int) -> list[tuple[int, int]]:
        part = self.types[hash_type]
        code = codes_from_hex([value], part.bits)[0]
        with self._lock:  # an index must not be searched while a refresh adds to it
            return part.index.search(code, max_distance)

    def rebuild(self, session: Session) -> dict[str, int]:
        """Build every index from the database and save it; return the size of each."""
        sizes = {}
        with self._lock, _exclusive(self.directory, wait=True):
            for kind in list(self.types):
                part = _empty(self.directory / kind, kind)
                part.catch_up(session)
                part.save()
                self.types[kind] = part
                sizes[kind] = len(part.index)
        return sizes


def _empty(directory: Path, hash_type: str) -> TypeIndex:
    """A TypeIndex that ignores what is on disk (it will be rebuilt and saved over it)."""
    part = TypeIndex.__new__(TypeIndex)
    part.directory, part.hash_type = directory, hash_type
    part.bits = SIGNAL_TYPES[hash_type].bits
    part.index, part.watermark, part.saved_watermark = HammingIndex(part.bits), 0, 0
    part.generation, part.recent = "", set()
    return part


_INDEXES: dict[Path, KnownIndex] = {}
_INDEXES_LOCK = threading.Lock()


def known_index(directory: Path, *, save_after: int = 50_000) -> KnownIndex:
    """This process's index of `directory`, loaded once and shared by its threads."""
    with _INDEXES_LOCK:
        found = _INDEXES.get(directory)
        if found is None:
            found = _INDEXES[directory] = KnownIndex(directory, save_after=save_after)
        return found


def forget_indexes() -> None:
    """Drop loaded indexes (tests that reset the database)."""
    with _INDEXES_LOCK:
        _INDEXES.clear()


def _read_meta(directory: Path) -> dict[str, object] | None:
    try:
        meta = json.loads((directory / META).read_text())
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) and "watermark" in meta else None


def _write_meta(directory: Path, meta: dict[str, object]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    temporary = directory / f".{META}.{os.getpid()}"
    temporary.write_text(json.dumps(meta))
    temporary.replace(directory / META)


@contextmanager
def _exclusive(directory: Path, *, wait: bool = False) -> Iterator[bool]:
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".lock", "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
