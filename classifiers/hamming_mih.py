"""Multi-index hashing: the layout, the cost model and the numpy kernels of `HammingIndex`.

A code of `bits` bits is split into m chunks (the wider ones first). Writing r = m*s + a
(0 <= a < m), a code within distance r of the query has one of a+1 chosen chunks within s bits of
the query's chunk, or one of the other m-a-1 chunks within s-1 bits: otherwise its distance would
be at least (a+1)(s+1) + (m-a-1)s = r+1 (Norouzi, Punjani & Fleet, "Fast search in Hamming space
with multi-index hashing", CVPR 2012). So probing, in each table, every chunk value within its
radius of the query's finds every code within r: the candidates are then verified exactly.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache
from itertools import combinations
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from numpy.typing import NDArray

    Arr = NDArray[Any]
    U64 = NDArray[np.uint64]

MAX_CHUNK_BITS = 22  # 16 MB of offsets per table; 24-bit tables measured slower (cache, TLB)
MAX_PROBES_PER_TABLE = 200_000  # past this the enumeration costs more than any scan
# Measured per-item costs (ns, numpy 2, one core) used to pick the layout and the scan fallback.
COST_PROBE_NS = 40.0
COST_CANDIDATE_NS = 60.0
COST_SCAN_NS_PER_WORD = 3.0
SCAN_BLOCK = 1 << 17  # (query, row) pairs per block of a scan


def design_distance(bits: int) -> int:
    """The radius the layout is tuned for: 8 of 64 bits (pHash/dHash), 31 of 256 bits (PDQ)."""
    return max(1, (bits * 31) // 256)


@lru_cache(maxsize=256)
def ball(width: int, radius: int) -> Arr:
    """All `width`-bit values with at most `radius` bits set: one table's probe XOR masks."""
    masks = [0]
    for k in range(1, min(radius, width) + 1):
        masks.extend(sum(1 << b for b in combo) for combo in combinations(range(width), k))
    out = np.array(masks, dtype=np.int64)
    out.flags.writeable = False
    return out


def bucket_count(widths: Sequence[int]) -> int:
    return sum(2**w for w in widths)


@lru_cache(maxsize=4096)
def ball_size(width: int, radius: int) -> int:
    return sum(math.comb(width, k) for k in range(0, min(radius, width) + 1)) if radius >= 0 else 0


def chunk_widths(bits: int, m: int) -> tuple[int, ...]:
    """m chunk widths as equal as possible, the wider ones first."""
    return tuple(bits // m + (1 if j < bits % m else 0) for j in range(m))


def radii(widths: Sequence[int], r: int, n: int) -> list[int]:
    """Per-table probe radius for range r (refined pigeonhole, see the module docstring); the
    a+1 tables with the larger radius are those where it costs least."""
    m = len(widths)
    s, a = divmod(r, m)
    extra = [table_cost(w, s, n) - table_cost(w, s - 1, n) for w in widths]
    chosen = set(sorted(range(m), key=lambda j: (extra[j], j))[: a + 1])
    return [s if j in chosen else s - 1 for j in range(m)]


def table_cost(width: int, radius: int, n: int) -> float:
    probes = ball_size(width, radius)
    return probes * (COST_PROBE_NS + COST_CANDIDATE_NS * n / 2.0**width)


def mih_cost(widths: Sequence[int], r: int, n: int) -> float:
    return sum(table_cost(w, rad, n) for w, rad in zip(widths, radii(widths, r, n), strict=True))


def choose_chunks(bits: int, n: int, r: int | None = None) -> int:
    """Number of chunks minimizing the modelled lookup cost at the design radius for n codes,
    with at most 16 buckets per code (or 2**18 in all), so that small indexes stay small."""
    r = design_distance(bits) if r is None else r
    best_m, best_cost = bits, math.inf
    for m in range(max(1, -(-bits // MAX_CHUNK_BITS)), max(1, bits // 4) + 1):
        widths = chunk_widths(bits, m)
        if bucket_count(widths) > max(16 * n, 1 << 18) and m < bits // 4:
            continue
        cost = mih_cost(widths, r, n)
        if cost < best_cost:
            best_m, best_cost = m, cost
    return best_m


def chunk_starts(widths: Sequence[int]) -> list[int]:
    return [sum(widths[:j]) for j in range(len(widths))]


def chunk_column(raw: Arr, start: int, width: int) -> Arr:
    """Chunk value, bits [start, start + width) of each code read as a big-endian bit string
    (the hex string's order), from the codes' bytes raw (n, 8W): (n,) int64."""
    first, skip = divmod(start, 8)
    nbytes = (skip + width + 7) // 8
    acc = raw[:, first].astype(np.int64)
    for k in range(1, nbytes):
        acc <<= 8
        acc |= raw[:, first + k]
    acc >>= nbytes * 8 - skip - width
    acc &= (1 << width) - 1
    return acc


def chunk_values(codes64: U64, widths: Sequence[int]) -> Arr:
    """(n, m) int64 chunk values of the codes."""
    raw = codes64.view(np.uint8)
    columns = [chunk_column(raw, s, w) for s, w in zip(chunk_starts(widths), widths, strict=True)]
    return np.stack(columns, axis=1) if columns else np.zeros((len(raw), 0), np.int64)


def distances(cand: U64, queries: U64, qi: Arr | None) -> Arr:
    """Hamming distances between candidate rows (c, W) and queries[qi] (queries[0] if qi is
    None); overwrites cand."""
    if qi is None:
        np.bitwise_xor(cand, queries[0], out=cand)
    else:
        np.bitwise_xor(cand, queries.take(qi, axis=0), out=cand)
    counts = np.bitwise_count(cand)
    if cand.shape[1] == 1:
        return counts.reshape(-1)
    d = counts[:, 0].astype(np.uint16)
    for k in range(1, cand.shape[1]):
        d += counts[:, k]
    return d


def scan(codes64: U64, queries: U64, r: int) -> tuple[Arr, Arr, Arr]:
    """Brute force: (query index, row, distance) of every pair within r, in blocks of rows."""
    n, words = codes64.shape
    qs: list[Arr] = []
    rows: list[Arr] = []
    ds: list[Arr] = []
    step = max(1024, SCAN_BLOCK // max(1, len(queries)))
    for lo in range(0, n, step):
        block = codes64[lo : lo + step]
        d = np.bitwise_count(block[None, :, 0] ^ queries[:, 0, None])
        if words > 1:
            d = d.astype(np.uint16)
            for k in range(1, words):
                d += np.bitwise_count(block[None, :, k] ^ queries[:, k, None])
        q, row = np.nonzero(d <= r)
        qs.append(q)
        rows.append(row + lo)
        ds.append(d[q, row])
    if not qs:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(qs), np.concatenate(rows), np.concatenate(ds)
