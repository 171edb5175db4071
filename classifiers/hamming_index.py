"""Exact Hamming-distance range search over perceptual hashes (pHash/dHash 64-bit, PDQ 256-bit).

Why not a linear scan: 10M PDQ codes are 320 MB, and reading them all costs tens of ms per lookup.
Multi-index hashing (see `classifiers.hamming_mih`) splits every code into m chunks, each with a
direct-address table in CSR form (bucket offsets + row positions sorted by chunk value). A lookup
reads the buckets of the few thousand chunk values near the query's, which by pigeonhole hold
every code within the radius, and verifies those candidates with a full popcount: no missed
match, no false one. Where the probes would cost more than a scan (large radius, tiny index), the
query is answered by a scan instead: slower, as exact.

New codes go to a small in-memory "delta" that is scanned; see `HammingIndex.add` for when it is
merged. Persistence (atomic, .npy, memory-mapped loading) is in `classifiers.hamming_store`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from classifiers import hamming_mih as mih

if TYPE_CHECKING:
    from numpy.typing import NDArray

    Arr = NDArray[Any]
    U64 = NDArray[np.uint64]
    I64 = NDArray[np.int64]

DELTA_MIN = 8192  # the delta is merged once larger than this ...
DELTA_FRACTION = 1024  # ... and than len(base) / DELTA_FRACTION
BLOCK_ITEMS = 1 << 16  # probes + candidates per block of queries: keeps temporaries in cache
INLINE_MAX_CHUNKS = 4  # keep slot-ordered copies of 64-bit codes for layouts of <= 4 tables


def codes_from_hex(values: Sequence[str], bits: int) -> np.ndarray:
    """Hex strings (`bits // 4` digits, either case) -> uint8 array (n, bits // 8), byte order
    of the string. ValueError names the first bad value."""
    _check_bits(bits)
    width = bits // 4
    n = len(values)
    if n == 0:
        return np.zeros((0, bits // 8), dtype=np.uint8)
    try:
        joined = "".join(values)
        raw = bytes.fromhex(joined) if len(joined) == n * width else b""
    except (TypeError, ValueError):
        raw = b""
    if len(raw) != n * (bits // 8):  # fromhex skips spaces, so a wrong length is a bad value too
        for value in values:
            if not isinstance(value, str) or len(value) != width:
                raise ValueError(f"{bits}-bit hash must be {width} hex digits, got {value!r:.100}")
            try:
                ok = len(bytes.fromhex(value)) == bits // 8
            except ValueError:
                ok = False
            if not ok:
                raise ValueError(f"{bits}-bit hash {value!r:.100} is not hexadecimal")
        raise ValueError("hex values could not be decoded")  # pragma: no cover - unreachable
    return np.frombuffer(raw, dtype=np.uint8).reshape(n, bits // 8).copy()


def _check_bits(bits: int) -> None:
    if not isinstance(bits, int) or bits < 8 or bits % 8:
        raise ValueError(f"bits must be a positive multiple of 8, got {bits!r}")


@dataclass(frozen=True, slots=True)
class _Plan:
    """The probes of one radius: table (column of the chunk values) and XOR mask of each, and
    the modelled work per query (probes + candidates) that sizes the query blocks."""

    cols: Arr
    masks: Arr
    work: int


class HammingIndex:
    """Exact range search by Hamming distance over fixed-width codes, with caller-chosen ids.

    Base segment: codes (n, W) uint64, ids (n,) int64, and the m chunk tables concatenated into
    one CSR (`offsets` over all tables' buckets, `positions` = rows sorted by table then chunk
    value). Delta segment: codes added since, scanned. Arrays may be read-only memory maps.
    """

    bits: int
    widths: tuple[int, ...]  # chunk widths of the base tables
    _codes: U64
    _ids: I64
    _offsets: Arr
    _positions: Arr
    _slot_codes: Arr

    def __init__(self, bits: int, *, chunks: int | None = None) -> None:
        _check_bits(bits)
        self.bits = bits
        self.words = -(-bits // 64)
        if chunks is not None and not 1 <= -(-bits // chunks) <= mih.MAX_CHUNK_BITS:
            raise ValueError(
                f"{chunks} chunks of {bits} bits exceed {mih.MAX_CHUNK_BITS}-bit tables"
            )
        self._fixed_chunks = chunks
        self._layout_n = 0  # base size the layout was chosen for
        self._rebuild(np.zeros((0, self.words), np.uint64), np.zeros(0, np.int64))
        self._delta_codes: list[U64] = []
        self._delta_ids: list[I64] = []
        self._delta_len = 0

    # ---------------------------------------------------------------- building

    @classmethod
    def build(
        cls, codes: np.ndarray, ids: np.ndarray, *, bits: int, chunks: int | None = None
    ) -> HammingIndex:
        """Index `codes` (uint8, (n, bits // 8), hex byte order) under `ids` (int64, (n,)).
        `chunks` overrides the layout chosen by `choose_chunks` (for measurements)."""
        index = cls(bits, chunks=chunks)
        words, id_arr = index._check_input(codes, ids)
        index._rebuild(words, id_arr)
        return index

    def _check_input(self, codes: np.ndarray, ids: np.ndarray) -> tuple[U64, I64]:
        codes = np.asarray(codes)
        ids = np.asarray(ids)
        if codes.dtype != np.uint8 or codes.ndim != 2 or codes.shape[1] != self.bits // 8:
            raise ValueError(
                f"codes must be uint8 of shape (n, {self.bits // 8}), got {codes.dtype} "
                f"{codes.shape}"
            )
        if ids.ndim != 1 or len(ids) != len(codes) or ids.dtype.kind not in "iu":
            raise ValueError(f"ids must be integers of shape ({len(codes)},), got {ids.shape}")
        return self._to_words(codes), ids.astype(np.int64)

    def _to_words(self, codes: np.ndarray) -> U64:
        """uint8 (n, bits/8) -> uint64 (n, W), zero-padded; byte order kept in memory."""
        padded = np.zeros((len(codes), self.words * 8), dtype=np.uint8)
        padded[:, : codes.shape[1]] = codes
        return padded.view(np.uint64)

    def _rebuild(self, codes64: U64, ids: I64) -> None:
        m = self._fixed_chunks or mih.choose_chunks(self.bits, len(codes64))
        self._set_base(codes64, ids, m)
        n = self._layout_n = len(codes64)
        raw = codes64.view(np.uint8)
        row_bits = max(1, (n - 1).bit_length())
        rows = np.arange(n, dtype=np.int64)
        positions = np.empty(n * m, dtype=np.int32 if n < 2**31 else np.int64)
        index_dtype = np.int32 if n * m < 2**31 else np.int64
        offsets: Arr = np.empty(mih.bucket_count(self.widths) + 1, dtype=index_dtype)
        offsets[0] = 0
        for j, (start, width) in enumerate(
            zip(mih.chunk_starts(self.widths), self.widths, strict=True)
        ):
            values = mih.chunk_column(raw, start, width)
            counts = np.bincount(values, minlength=2**width)
            base = int(self._table_base[j])
            np.cumsum(counts, out=offsets[base + 1 : base + 2**width + 1])
            offsets[base + 1 : base + 2**width + 1] += j * n
            # Sorting (value, row) packed in one int64 is ~10x faster than an argsort.
            values <<= row_bits
            values |= rows
            values.sort()
            positions[j * n : (j + 1) * n] = values & ((1 << row_bits) - 1)
        self._offsets = offsets
        self._positions = positions
        self._slot_codes = self._inline_codes()

    def _set_base(self, codes64: U64, ids: I64, m: int) -> None:
        self._codes = codes64
        self._ids = ids
        self.widths = mih.chunk_widths(self.bits, m)
        bases = [sum(2**w for w in self.widths[:j]) for j in range(m)]
        self._table_base = np.array(bases, dtype=np.int64)
        # For tiny query batches the keys are computed with Python ints: (shift, mask, base).
        self._key_spec = [
            (64 * self.words - start - w, (1 << w) - 1, base)
            for start, w, base in zip(
                mih.chunk_starts(self.widths), self.widths, bases, strict=True
            )
        ]
        self._offsets = np.zeros(1, dtype=np.int32)  # placeholders until the tables are set
        self._positions = np.zeros(0, dtype=np.int32)
        self._slot_codes = np.zeros(0, dtype=np.uint64)
        self._plans: dict[int, _Plan | None] = {}

    def add(self, codes: np.ndarray, ids: np.ndarray) -> None:
        """Add codes without rebuilding: they join the delta, which every search scans. Once the
        delta holds more than max(DELTA_MIN, len(base) / DELTA_FRACTION) codes it is merged: its
        rows are inserted into the existing tables (O(n), no re-sort), or, if the base has grown
        2x past the size its layout was chosen for, the tables are rebuilt with a new layout.
        A merge writes new in-memory arrays: a memory-mapped base is not copied before that."""
        words, id_arr = self._check_input(codes, ids)
        if len(words) == 0:
            return
        self._delta_codes.append(words)
        self._delta_ids.append(id_arr)
        self._delta_len += len(words)
        if self._delta_len > max(DELTA_MIN, len(self._codes) // DELTA_FRACTION):
            self.merge()

    def merge(self) -> None:
        """Fold the delta into the base tables now (see `add`)."""
        if not self._delta_len:
            return
        new_codes, new_ids = self._delta()
        self._delta_codes, self._delta_ids, self._delta_len = [], [], 0
        codes = np.concatenate([self._codes, new_codes])
        ids = np.concatenate([self._ids, new_ids])
        want = self._fixed_chunks or mih.choose_chunks(self.bits, len(codes))
        if len(self._codes) == 0 or (want != len(self.widths) and len(codes) >= 2 * self._layout_n):
            self._rebuild(codes, ids)
            return
        layout_n = self._layout_n
        n0 = len(self._codes)
        keys: Arr = self._keys(new_codes).T.reshape(-1)
        rows = np.tile(np.arange(n0, len(codes), dtype=np.int64), len(self.widths))
        order = np.argsort(keys, kind="stable")
        keys, rows = keys[order], rows[order]
        total = len(codes) * len(self.widths)
        index_dtype = np.int32 if total < 2**31 else np.int64
        offsets: Arr = self._offsets.astype(index_dtype)
        at = offsets[keys + 1]
        positions = np.insert(self._positions, at, rows)
        slot_codes = self._slot_codes
        if len(slot_codes):
            slot_codes = np.insert(slot_codes, at, new_codes[rows - n0, 0])
        # Bucket b moves by the number of new keys < b: a step function, built without a
        # searchsorted over every bucket.
        steps = np.diff(np.concatenate([[0], keys + 1, [len(offsets)]]))
        offsets += np.arange(len(keys) + 1, dtype=index_dtype).repeat(steps)
        self._set_base(codes, ids, len(self.widths))
        self._layout_n = layout_n
        self._offsets = offsets
        self._positions = positions.astype(np.int32 if len(codes) < 2**31 else np.int64)
        self._slot_codes = slot_codes

    def _delta(self) -> tuple[U64, I64]:
        if len(self._delta_codes) > 1:
            self._delta_codes = [np.concatenate(self._delta_codes)]
            self._delta_ids = [np.concatenate(self._delta_ids)]
        if not self._delta_codes:
            return np.zeros((0, self.words), np.uint64), np.zeros(0, np.int64)
        return self._delta_codes[0], self._delta_ids[0]

    def __len__(self) -> int:
        return len(self._codes) + self._delta_len

    # ---------------------------------------------------------------- searching

    def search(self, code: np.ndarray, max_distance: int) -> list[tuple[int, int]]:
        """(id, distance) of every code within max_distance, sorted by distance then id."""
        code = np.asarray(code)
        if code.ndim != 1:
            raise ValueError(f"code must be uint8 of shape ({self.bits // 8},), got {code.shape}")
        queries = self._query_words(code[None, :])
        return _collect(self._hits(queries, _radius(max_distance)), 1)[0]

    def search_many(self, codes: np.ndarray, max_distance: int) -> list[list[tuple[int, int]]]:
        """`search` for each row of codes (uint8, (q, bits // 8)), vectorized over the batch."""
        queries = self._query_words(np.asarray(codes))
        return _collect(self._hits(queries, _radius(max_distance)), len(queries))

    def _query_words(self, codes: Arr) -> U64:
        if codes.dtype != np.uint8 or codes.ndim != 2 or codes.shape[1] != self.bits // 8:
            raise ValueError(
                f"codes must be uint8 of shape (n, {self.bits // 8}), got {codes.dtype} "
                f"{codes.shape}"
            )
        if self.bits % 64 == 0:  # no padding needed: view the caller's bytes
            return np.ascontiguousarray(codes).view(np.uint64)
        return self._to_words(codes)

    def _hits(self, queries: U64, r: int) -> list[tuple[Arr, Arr, Arr, Arr]]:
        """(query index, id, row, distance) arrays of the base and of the delta."""
        parts = [self._search_base(queries, r)]
        if self._delta_len:
            delta_codes, delta_ids = self._delta()
            qi, row, d = mih.scan(delta_codes, queries, r)
            parts.append((qi, delta_ids[row], row + len(self._codes), d))
        return parts

    def _search_base(self, queries: U64, r: int) -> tuple[Arr, Arr, Arr, Arr]:
        n = len(self._codes)
        plan = self._plan(r)
        if plan is None or n == 0:
            qi, row, d = mih.scan(self._codes, queries, r) if n else (np.zeros(0, np.int64),) * 3
            return qi, self._ids[row], row, d
        step = max(1, BLOCK_ITEMS // plan.work)
        if step >= len(queries):
            qi, row, d = self._probe(queries, r, plan)
        else:
            out = [
                self._probe(queries[lo : lo + step], r, plan) for lo in range(0, len(queries), step)
            ]
            starts = range(0, len(queries), step)
            qi = np.concatenate([o[0] + lo for o, lo in zip(out, starts, strict=True)])
            row, d = (np.concatenate([o[k] for o in out]) for k in (1, 2))
        return qi, self._ids[row], row, d

    def _plan(self, r: int) -> _Plan | None:
        """The probes for radius r; None when a scan is cheaper."""
        if r in self._plans:
            return self._plans[r]
        n = len(self._codes)
        radii = mih.radii(self.widths, r, n)
        sizes = [mih.ball_size(w, rad) for w, rad in zip(self.widths, radii, strict=True)]
        cost = mih.mih_cost(self.widths, r, n)
        plan = None
        if (
            max(sizes) <= mih.MAX_PROBES_PER_TABLE
            and cost < n * self.words * mih.COST_SCAN_NS_PER_WORD
        ):
            balls = [
                mih.ball(w, rad) if rad >= 0 else mih.ball(w, 0)[:0]
                for w, rad in zip(self.widths, radii, strict=True)
            ]
            cols = np.repeat(np.arange(len(self.widths)), sizes)
            plan = _Plan(
                cols, np.concatenate(balls), sum(sizes) + int(cost / mih.COST_CANDIDATE_NS)
            )
        self._plans[r] = plan
        return plan

    def _keys(self, codes64: U64) -> Arr:
        """(n, m) global bucket keys: table base + chunk value. Table j's base is a multiple of
        2**w_j (wider tables come first), so a probe's key is key ^ mask."""
        if len(codes64) > 4:
            return mih.chunk_values(codes64, self.widths) + self._table_base
        rows = []
        for code in codes64.view(np.uint8):
            value = int.from_bytes(code.tobytes(), "big")
            rows.append([((value >> shift) & mask) + base for shift, mask, base in self._key_spec])
        return np.array(rows, dtype=np.int64).reshape(len(codes64), len(self.widths))

    def _probe(self, queries: U64, r: int, plan: _Plan) -> tuple[Arr, Arr, Arr]:
        """MIH lookup of a block of queries: (query index, row, distance) of the hits, with
        repeats when a row is found through several tables. Few numpy calls, since on one
        query each call's fixed cost is a good part of the time."""
        keys = self._keys(queries)
        single = len(queries) == 1
        flat = keys[0].take(plan.cols) if single else keys[:, plan.cols].reshape(-1)
        flat ^= np.tile(plan.masks, len(queries)) if not single else plan.masks
        lo = self._offsets.take(flat)
        hi = self._offsets[1:].take(flat)
        lengths = hi - lo
        ends = lengths.cumsum()
        slots = np.arange(int(ends[-1]) if len(ends) else 0, dtype=np.int64)
        slots += (hi - ends).repeat(lengths)  # each bucket's start, less its output offset
        qi = None if single else (np.arange(len(flat)) // len(plan.masks)).repeat(lengths)
        if len(self._slot_codes):  # codes stored in slot order: no second indirection
            d = mih.distances(self._slot_codes.take(slots)[:, None], queries, qi)
            keep = np.flatnonzero(d <= r)
            rows = self._positions.take(slots[keep])
        else:
            all_rows = self._positions.take(slots)
            d = mih.distances(self._codes.take(all_rows, axis=0), queries, qi)
            keep = np.flatnonzero(d <= r)
            rows = all_rows[keep]
        return (np.zeros(len(keep), np.int64) if qi is None else qi[keep]), rows, d[keep]

    def _inline_codes(self) -> Arr:
        """Single-word codes copied into slot order (m * 8 bytes per code): verifying a
        candidate then reads the bucket itself, not a random row; measured ~1.5-2x faster at
        10M 64-bit codes. Wider codes would cost m * 32 bytes per code: they do without."""
        if self.words != 1 or len(self.widths) > INLINE_MAX_CHUNKS:
            return np.zeros(0, dtype=np.uint64)
        return self._codes[:, 0].take(self._positions)

    # ---------------------------------------------------------------- persistence

    def save(self, directory: Path) -> None:
        """Write the index (delta included) to `directory` atomically; see hamming_store."""
        from classifiers.hamming_store import save_index

        save_index(self, Path(directory))

    @classmethod
    def load(cls, directory: Path, *, mmap: bool = True) -> HammingIndex:
        """Open a saved index; with mmap the arrays are shared read-only page-cache maps."""
        from classifiers.hamming_store import load_index

        return load_index(cls, Path(directory), mmap=mmap)


def _radius(max_distance: int) -> int:
    if not isinstance(max_distance, int | np.integer) or max_distance < 0:
        raise ValueError(f"max_distance must be an integer >= 0, got {max_distance!r}")
    return int(max_distance)


def _collect(parts: list[tuple[Arr, Arr, Arr, Arr]], nq: int) -> list[list[tuple[int, int]]]:
    """Merge (query, id, row, distance) hit arrays into per-query lists sorted by (distance,
    id), dropping repeats of a row found through several tables."""
    if len(parts) == 1:
        qi, ids, rows, d = parts[0]
    else:
        qi, ids, rows, d = (np.concatenate([p[k] for p in parts]) for k in range(4))
    if nq == 1 and len(rows) <= 64:  # the common single lookup: a few hits, plain Python
        unique = dict(zip(rows.tolist(), zip(ids.tolist(), d.tolist(), strict=True), strict=True))
        return [sorted(unique.values(), key=lambda pair: (pair[1], pair[0]))]
    order = np.lexsort((rows, ids, d, qi))
    qi, ids, rows, d = qi[order], ids[order], rows[order], d[order]
    if len(qi) > 1:
        first = np.ones(len(qi), dtype=bool)
        first[1:] = (qi[1:] != qi[:-1]) | (rows[1:] != rows[:-1])
        qi, ids, d = qi[first], ids[first], d[first]
    bounds = np.searchsorted(qi, np.arange(nq + 1)).tolist()
    pairs = list(zip(ids.tolist(), d.tolist(), strict=True))
    return [pairs[bounds[k] : bounds[k + 1]] for k in range(nq)]
