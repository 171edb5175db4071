"""Saving and loading a `HammingIndex`: plain .npy files, replaced atomically, loaded as maps.

Why memory maps: every worker process of a machine opens the same files read-only, so the
kernel keeps one copy in the page cache however many workers there are, and opening 10M codes
costs milliseconds, not a read of a gigabyte. Why atomic: a worker that opens the directory while
it is being replaced must see either the old index or the new one, never a mixture.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import secrets
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import numpy as np

if TYPE_CHECKING:
    from classifiers.hamming_index import HammingIndex

from classifiers.hamming_mih import bucket_count

FORMAT_VERSION = 1
ARRAYS = ("codes", "ids", "offsets", "positions", "slot_codes", "delta_codes", "delta_ids")
EXCHANGE = 2  # linux/fs.h

T = TypeVar("T", bound="HammingIndex")


def save_index(index: HammingIndex, directory: Path) -> None:
    """Write every array (the delta too) into a fresh sibling directory, fsync it, then swap it
    into place: one atomic renameat2(RENAME_EXCHANGE) where Linux has it, else two renames (a
    reader racing the second one sees no directory and can retry, never a half-written one)."""
    directory = directory.resolve()
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = directory.parent / f".{directory.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}"
    tmp.mkdir()
    try:
        delta_codes, delta_ids = index._delta()
        meta = np.array(
            [FORMAT_VERSION, index.bits, len(index.widths), index._fixed_chunks or 0,
             index._layout_n],
            dtype=np.int64,
        )  # fmt: skip
        arrays = {
            "meta": meta,
            "codes": index._codes,
            "ids": index._ids,
            "offsets": index._offsets,
            "positions": index._positions,
            "slot_codes": index._slot_codes,
            "delta_codes": delta_codes,
            "delta_ids": delta_ids,
        }
        for name, array in arrays.items():
            with open(tmp / f"{name}.npy", "wb") as handle:
                np.save(handle, np.ascontiguousarray(array), allow_pickle=False)
                handle.flush()
                os.fsync(handle.fileno())
        _fsync_dir(tmp)
        if directory.exists() and _exchange(tmp, directory):
            shutil.rmtree(tmp)  # tmp now holds the old index; open maps of it stay valid
        else:
            old = None
            if directory.exists():
                old = directory.parent / f".{directory.name}.old-{secrets.token_hex(4)}"
                os.rename(directory, old)
            os.rename(tmp, directory)
            if old is not None:
                shutil.rmtree(old)
        _fsync_dir(directory.parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def load_index(cls: type[T], directory: Path, *, mmap: bool = True) -> T:
    """Open an index saved by `save_index`; ValueError if the files do not fit together."""

    def read(name: str) -> np.ndarray:
        array = np.load(directory / f"{name}.npy", mmap_mode="r" if mmap else None)
        return np.asarray(array)  # a plain ndarray view of the map: no copy, no subclass overhead

    meta = np.load(directory / "meta.npy")
    if len(meta) != 5 or int(meta[0]) != FORMAT_VERSION:
        raise ValueError(f"{directory}: not a hamming index of format {FORMAT_VERSION}")
    _, bits, m, fixed, layout_n = (int(v) for v in meta)
    index = cls(bits, chunks=fixed or None)
    arrays = {name: read(name) for name in ARRAYS}
    n = len(arrays["codes"])
    words = index.words
    index._set_base(index._codes, index._ids, m)
    buckets = bucket_count(index.widths) + 1
    if (
        arrays["codes"].shape != (n, words)
        or arrays["ids"].shape != (n,)
        or arrays["positions"].shape != (n * m,)
        or arrays["offsets"].shape != (buckets,)
        or arrays["slot_codes"].shape not in ((0,), (n * m,))
        or arrays["delta_codes"].shape[1:] != (words,)
        or arrays["delta_ids"].shape != (len(arrays["delta_codes"]),)
    ):
        raise ValueError(f"{directory}: index arrays have inconsistent shapes")
    index._set_base(arrays["codes"], arrays["ids"], m)
    index._layout_n = layout_n
    index._offsets = arrays["offsets"]
    index._positions = arrays["positions"]
    index._slot_codes = arrays["slot_codes"]
    if len(arrays["delta_codes"]):
        # The delta is small and grows by appends: keep it in private memory.
        index._delta_codes = [np.array(arrays["delta_codes"])]
        index._delta_ids = [np.array(arrays["delta_ids"])]
        index._delta_len = len(arrays["delta_ids"])
    return index


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux renameat2); False where that is not available."""
    name = ctypes.util.find_library("c")
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(name, use_errno=True)
        at_fdcwd = -100
        result = libc.renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), EXCHANGE)
        return bool(result == 0)
    return False


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
