"""Exact Hamming range search: our HammingIndex (MIH) against faiss IndexBinaryFlat and numpy.

Run:  python benchmarks/bench_index.py [--quick]

For 64-bit codes (pHash/dHash) at distance <= 8 and 256-bit codes (PDQ) at distance <= 31, and
N = 1M and 10M known codes (100k with --quick), all in one process on one machine:
  1. makes N uniform random codes and Q query codes; for a few hundred queries it plants
     near-duplicates in the data (one at a random distance 0..r, and for a third of them one more
     at exactly r+1 that must not be returned), so that there are real hits; then the same on
     clustered codes at N = 1M (clusters of ~100 near-identical codes, half of the queries near
     one), as real hash lists are;
  2. builds our index (time, bytes of its arrays, RSS growth), saves it (atomic, fsync'd) and
     loads it back memory-mapped, as the workers will (times);
  3. measures single lookups (`search`, one call per query: lookups/s, p50, p99) and a batch
     (`search_many` of all queries: queries/s), on the built index and on the loaded one;
  4. the same for faiss `IndexBinaryFlat.range_search` and for a numpy brute force (one
     np.bitwise_count pass over the whole array per query) on a subset of the queries (they are
     slow at 10M: the subset sizes are printed);
  5. checks that the three give identical (id, distance) sets for every query of the subset,
     that our single and batched results agree on every query, and that every planted code is
     found or not found as it must be.
Every method runs on one thread (faiss.omp_set_num_threads(1); numpy and our index are
single-threaded), so the figures are per core. An extra line gives faiss batched on 2 threads.
The machine has 2 cores that other work may share: each table prints how busy the machine was
while it ran and how much of that was this script, to read the figures with that in mind.
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import faiss  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from classifiers.hamming_index import HammingIndex  # noqa: E402

RADIUS = {64: 8, 256: 31}
TARGET_RATIO = 20.0
TARGET_LOAD_S = 5.0


# --------------------------------------------------------------------------- measuring


def rss_bytes() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class Busy:
    """How busy the machine was (all cores) and how much of it was this process."""

    def __enter__(self) -> Busy:
        self.t0 = time.perf_counter()
        self.cpu0 = _machine_cpu()
        self.own0 = _own_cpu()
        return self

    def __exit__(self, *exc: object) -> None:
        wall = time.perf_counter() - self.t0
        busy, total = (a - b for a, b in zip(_machine_cpu(), self.cpu0, strict=True))
        cores = os.cpu_count() or 1
        self.machine = busy / total * cores if total else 0.0  # cores busy on average
        self.own = (_own_cpu() - self.own0) / wall if wall else 0.0

    def line(self) -> str:
        other = max(0.0, self.machine - self.own)
        return (
            f"  machine: {self.machine:.2f} of {os.cpu_count()} cores busy on average, "
            f"this script {self.own:.2f}, other work {other:.2f}"
        )


def _machine_cpu() -> tuple[float, float]:
    with open("/proc/stat") as handle:
        fields = [float(v) for v in handle.readline().split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass
class Timing:
    name: str
    queries: int
    single_s: list[float]
    batch_s: float

    @property
    def rate(self) -> float:
        return len(self.single_s) / sum(self.single_s)

    @property
    def batch_rate(self) -> float:
        return self.queries / self.batch_s

    def pct(self, p: float) -> float:
        return float(np.percentile(np.array(self.single_s), p)) * 1e3


Results = list[list[tuple[int, int]]]


def timed(
    name: str,
    queries: np.ndarray,
    single: Callable[[np.ndarray], list[tuple[int, int]]],
    batch: Callable[[np.ndarray], Results],
) -> tuple[Timing, Results, Results]:
    single(queries[0])  # warm-up (plans, page cache)
    times, singles = [], []
    for q in queries:
        t = time.perf_counter()
        singles.append(single(q))
        times.append(time.perf_counter() - t)
    t = time.perf_counter()
    batched = batch(queries)
    return Timing(name, len(queries), times, time.perf_counter() - t), singles, batched


# --------------------------------------------------------------------------- baselines


def faiss_results(
    lims: np.ndarray, dist: np.ndarray, labels: np.ndarray, ids: np.ndarray
) -> Results:
    out = []
    for k in range(len(lims) - 1):
        lo, hi = int(lims[k]), int(lims[k + 1])
        pairs = zip(ids[labels[lo:hi]].tolist(), dist[lo:hi].astype(int).tolist(), strict=True)
        out.append(sorted(pairs, key=lambda p: (p[1], p[0])))
    return out


def numpy_search(columns: list[np.ndarray], ids: np.ndarray, q: np.ndarray, r: int) -> list:
    """Brute force: popcount of every code XOR the query, one pass per 64-bit word."""
    d = np.bitwise_count(columns[0] ^ q[0]).astype(np.uint16)
    for k in range(1, len(columns)):
        d += np.bitwise_count(columns[k] ^ q[k])
    hit = np.flatnonzero(d <= r)
    return sorted(zip(ids[hit].tolist(), d[hit].tolist(), strict=True), key=lambda p: (p[1], p[0]))


# --------------------------------------------------------------------------- one scenario


def noisy_copies(rng: np.random.Generator, base: np.ndarray, mean_flips: np.ndarray) -> np.ndarray:
    """Copies of base rows, each bit flipped with probability mean_flips / bits (per row)."""
    bits = base.shape[1] * 8
    out = base.copy()
    for lo in range(0, len(base), 65536):
        p = (mean_flips[lo : lo + 65536] / bits)[:, None]
        flips = rng.random((len(p), bits), dtype=np.float32) < p
        out[lo : lo + 65536] ^= np.packbits(flips, axis=1)
    return out


def make_data(
    rng: np.random.Generator, bits: int, n: int, nq: int, planted: int, clustered: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[tuple[int, int, int]]]:
    """Codes, queries, and planted near-duplicates: (query, row, distance) each. Clustered:
    clusters of ~100 codes around n/100 originals, each code 0..2r bits (on average) from its
    original, and half of the queries near an original: how real hash lists look."""
    r = RADIUS[bits]
    queries = rng.integers(0, 256, size=(nq, bits // 8), dtype=np.uint8)
    if clustered:
        centers = rng.integers(0, 256, size=(max(1, n // 100), bits // 8), dtype=np.uint8)
        picks = centers[rng.integers(0, len(centers), n)]
        codes = noisy_copies(rng, picks, rng.uniform(0, 2 * r, n))
        near = centers[rng.integers(0, len(centers), nq // 2)]
        queries[: nq // 2] = noisy_copies(rng, near, rng.uniform(0, r, nq // 2))
    else:
        codes = rng.integers(0, 256, size=(n, bits // 8), dtype=np.uint8)
    ids = rng.permutation(n).astype(np.int64) * 3 + 1_000_000  # database-like, not row numbers
    rows = rng.choice(n, size=planted + planted // 3, replace=False)
    plants = []
    for k, row in enumerate(rows.tolist()):
        qi = k if k < planted else k - planted
        dist = int(rng.integers(0, r + 1)) if k < planted else r + 1
        bits_arr = np.unpackbits(queries[qi])
        bits_arr[rng.choice(bits, size=dist, replace=False)] ^= 1
        codes[row] = np.packbits(bits_arr)
        plants.append((qi, row, dist))
    order = rng.permutation(nq)  # planted queries spread through the query list
    inverse = np.argsort(order)
    queries = queries[order]
    plants = [(int(inverse[qi]), row, dist) for qi, row, dist in plants]
    return codes, ids, queries, plants


def run(
    bits: int, n: int, nq: int, n_faiss: int, n_numpy: int, tmp: Path, clustered: bool = False
) -> dict[str, float]:
    r = RADIUS[bits]
    rng = np.random.default_rng(bits * 1000 + n % 997 + clustered)
    kind = "clustered" if clustered else "uniform"
    print(f"\n=== {bits}-bit codes, N = {n:,} {kind}, distance <= {r} ===", flush=True)
    t = time.perf_counter()
    codes, ids, queries, plants = make_data(rng, bits, n, nq, min(300, nq // 4), clustered)
    print(
        f"  data: {n:,} {kind} codes + {len(plants)} planted near-duplicates of queries "
        f"({time.perf_counter() - t:.1f} s to make)"
    )

    gc.collect()
    rss0 = rss_bytes()
    t = time.perf_counter()
    index = HammingIndex.build(codes, ids, bits=bits)
    build_s = time.perf_counter() - t
    rss_growth = rss_bytes() - rss0
    arrays = [index._codes, index._ids, index._offsets, index._positions, index._slot_codes]
    index_bytes = sum(a.nbytes for a in arrays)
    target = tmp / f"index_{bits}_{n}"
    t = time.perf_counter()
    index.save(target)
    save_s = time.perf_counter() - t
    t = time.perf_counter()
    loaded = HammingIndex.load(target)
    load_s = time.perf_counter() - t
    t = time.perf_counter()
    HammingIndex.load(target, mmap=False)
    read_s = time.perf_counter() - t
    print(
        f"  ours: {len(index.widths)} chunks of {sorted(set(index.widths))} bits; "
        f"build {build_s:.2f} s, save {save_s:.2f} s, load (mmap) {load_s * 1e3:.1f} ms, "
        f"load (read into memory, mmap=False) {read_s:.2f} s"
    )
    print(
        f"  ours: index arrays {index_bytes / 2**20:,.0f} MiB = {index_bytes / n * 1e6 / 2**20:.1f}"
        f" MiB per million hashes ({index_bytes / n:.1f} B/hash: codes {bits // 8}, id 8, "
        f"positions {index._positions.nbytes / n:.1f}, offsets {index._offsets.nbytes / n:.1f}, "
        f"codes in slot order {index._slot_codes.nbytes / n:.1f});"
        f" RSS growth after build {rss_growth / 2**20:,.0f} MiB "
        f"({rss_growth / n * 1e6 / 2**20:.1f} MiB per million)"
    )

    with Busy() as busy:
        timings = []
        ours, ours_single, ours_batch = timed(
            "ours (built, in memory)",
            queries,
            lambda q: index.search(q, r),
            lambda qs: index.search_many(qs, r),
        )
        timings.append(ours)
        mm, mm_single, mm_batch = timed(
            "ours (loaded, mmap)",
            queries,
            lambda q: loaded.search(q, r),
            lambda qs: loaded.search_many(qs, r),
        )
        timings.append(mm)

        faiss.omp_set_num_threads(1)
        flat = faiss.IndexBinaryFlat(bits)
        t = time.perf_counter()
        flat.add(codes)
        faiss_add_s = time.perf_counter() - t

        def faiss_single(q: np.ndarray) -> list[tuple[int, int]]:
            # faiss returns distances < radius for binary indexes, hence r + 1.
            return faiss_results(*flat.range_search(q[None, :], r + 1), ids)[0]

        sub = queries[:n_faiss]
        fa, fa_single, fa_batch = timed(
            "faiss IndexBinaryFlat",
            sub,
            faiss_single,
            lambda qs: faiss_results(*flat.range_search(qs, r + 1), ids),
        )
        timings.append(fa)
        faiss.omp_set_num_threads(2)
        t = time.perf_counter()
        fa2 = faiss_results(*flat.range_search(sub, r + 1), ids)
        fa2_rate = len(sub) / (time.perf_counter() - t)
        faiss.omp_set_num_threads(1)
        gc.collect()

        columns = [np.ascontiguousarray(codes.view(np.uint64)[:, k]) for k in range(bits // 64)]
        q64 = queries.view(np.uint64)
        nsub = list(range(n_numpy))
        npy, npy_single, _ = timed(
            "numpy brute force",
            np.array(nsub),
            lambda k: numpy_search(columns, ids, q64[int(k)], r),
            lambda ks: [numpy_search(columns, ids, q64[int(k)], r) for k in ks],
        )
        timings.append(npy)

    # ---- correctness
    problems = []
    if ours_single != ours_batch or mm_single != ours_single or mm_batch != ours_single:
        problems.append("ours: single / batched / loaded results differ")
    if fa_single != ours_single[:n_faiss] or fa_batch != fa_single or fa2 != fa_single:
        problems.append("faiss results differ from ours")
    if npy_single != ours_single[:n_numpy]:
        problems.append("numpy results differ from ours")
    id_of = ids.tolist()
    for qi, row, dist in plants:
        found = (id_of[row], dist) in ours_single[qi]
        if found != (dist <= r):
            problems.append(f"planted code at distance {dist} of query {qi}: found={found}")
    hits = sum(len(x) for x in ours_single)
    with_hits = sum(1 for x in ours_single if x)
    print(
        f"  identical results: {'YES' if not problems else 'NO'} - ours single vs batched vs "
        f"loaded on all {nq} queries, vs faiss on {n_faiss}, vs numpy on {n_numpy}; "
        f"{len(plants)} planted codes found/excluded as they must be; {hits} hits, "
        f"{with_hits} queries with hits"
    )
    for problem in problems[:10]:
        print(f"  !! {problem}")

    # ---- table
    print(
        f"  {'method (1 thread)':26s} {'queries':>7s} {'lookups/s':>10s} {'p50 ms':>8s} "
        f"{'p99 ms':>8s} {'batch q/s':>10s}"
    )
    for tm in timings:
        print(
            f"  {tm.name:26s} {tm.queries:7d} {tm.rate:10,.0f} {tm.pct(50):8.3f} "
            f"{tm.pct(99):8.3f} {tm.batch_rate:10,.0f}"
        )
    print(
        f"  {'faiss flat batched, 2 thr':26s} {len(sub):7d} {'':>10s} {'':>8s} {'':>8s} "
        f"{fa2_rate:10,.0f}"
    )
    print(f"  faiss add: {faiss_add_s:.2f} s")
    ratio = mm.rate / fa.rate
    print(
        f"  ratio ours(mmap)/faiss-flat: single {ratio:.1f}x, batched "
        f"{mm.batch_rate / fa.batch_rate:.1f}x (target >= {TARGET_RATIO:.0f}x at 10M); "
        f"ours(mmap)/numpy: single {mm.rate / npy.rate:.0f}x"
    )
    print(
        f"  ratio ours(in memory)/faiss-flat: single {ours.rate / fa.rate:.1f}x, batched "
        f"{ours.batch_rate / fa.batch_rate:.1f}x; ratio of p50 latencies faiss/ours(mmap): "
        f"{fa.pct(50) / mm.pct(50):.1f}x (less sensitive to other work on the machine)"
    )
    print(busy.line(), flush=True)

    gc.collect()
    shutil.rmtree(target)
    return {"load_s": load_s, "ratio": ratio, "ok": float(not problems)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="N = 100k only, fewer queries")
    args = parser.parse_args()
    # (N, queries for ours, for faiss, for numpy, clustered)
    if args.quick:
        plan = [(100_000, 400, 200, 100, False), (100_000, 200, 100, 50, True)]
    else:
        plan = [
            (1_000_000, 2000, 500, 200, False),
            (10_000_000, 2000, 200, 50, False),
            (1_000_000, 1000, 200, 50, True),
        ]
    print(
        f"bench_index: numpy {np.__version__}, faiss {faiss.__version__}, "
        f"{os.cpu_count()} cores; every method on 1 thread"
    )
    print(
        "columns: lookups/s = 1 / mean latency of single-query calls; p50/p99 of those; "
        "batch q/s = queries / time of one batched call over the same queries"
    )
    summary = []
    tmp = Path(tempfile.mkdtemp(prefix="hl_bench_index_"))
    try:
        for bits in (64, 256):
            for n, nq, n_faiss, n_numpy, clustered in plan:
                result = run(bits, n, nq, n_faiss, n_numpy, tmp, clustered)
                summary.append((bits, n, clustered, result))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("\nsummary")
    ok = True
    for bits, n, clustered, res in summary:
        ok = ok and bool(res["ok"])
        print(
            f"  {bits:3d}-bit N={n:>10,} {'clustered' if clustered else 'uniform  '}: "
            f"ours(mmap)/faiss-flat {res['ratio']:6.1f}x "
            f"(target >= {TARGET_RATIO:.0f}x at 10M), load {res['load_s'] * 1e3:7.1f} ms "
            f"(target < {TARGET_LOAD_S:.0f} s), results identical: {'yes' if res['ok'] else 'NO'}"
        )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"  peak RSS of this script: {peak:.2f} GiB")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
