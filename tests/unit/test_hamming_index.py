"""Exact Hamming range search: every result set equals a numpy brute force, on uniform and
clustered codes, 64 and 256 bits, radii 0 / design / beyond, through MIH and through the scan."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from classifiers import hamming_index, hamming_mih, hamming_store
from classifiers.hamming_index import HammingIndex, codes_from_hex

DESIGN = {64: 8, 256: 31}
BEYOND = {64: 12, 256: 40}


def distance_matrix(codes: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """(q, n) Hamming distances by unpacking every bit: slow, obviously right."""
    return np.stack([np.unpackbits(codes ^ q[None, :], axis=1).sum(axis=1) for q in queries])


def expected(dist: np.ndarray, ids: np.ndarray, r: int) -> list[list[tuple[int, int]]]:
    out = []
    for row in dist:
        keep = np.flatnonzero(row <= r)
        pairs = zip(ids[keep].tolist(), row[keep].tolist(), strict=True)
        out.append(sorted(pairs, key=lambda p: (p[1], p[0])))
    return out


def brute(codes: np.ndarray, ids: np.ndarray, query: np.ndarray, r: int) -> list[tuple[int, int]]:
    return expected(distance_matrix(codes, query[None, :]), ids, r)[0]


def flip(rng: np.random.Generator, code: np.ndarray, k: int) -> np.ndarray:
    bits = np.unpackbits(code)
    where = rng.choice(len(bits), size=k, replace=False)
    bits[where] ^= 1
    return np.packbits(bits)


def uniform(rng: np.random.Generator, n: int, bits: int) -> np.ndarray:
    return rng.integers(0, 256, size=(n, bits // 8), dtype=np.uint8)


def clustered(rng: np.random.Generator, n: int, bits: int) -> np.ndarray:
    """Real hash lists: many near-identical codes (re-encodes, crops) around a few originals."""
    centers = uniform(rng, max(1, n // 100), bits)
    out = centers[rng.integers(0, len(centers), n)].copy()
    spread = DESIGN[bits] + 6
    for i in range(n):
        out[i] = flip(rng, out[i], int(rng.integers(0, spread)))
    return out


def queries_for(rng: np.random.Generator, codes: np.ndarray, bits: int, q: int) -> np.ndarray:
    picks = codes[rng.integers(0, len(codes), q)]
    near = np.stack([flip(rng, c, int(rng.integers(0, DESIGN[bits] + 4))) for c in picks])
    return np.concatenate([near, uniform(rng, 5, bits)])


@pytest.fixture(params=["mih", "scan"])
def path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Force the probing path or the scan fallback, whatever the cost model would choose."""
    cost = 1e9 if request.param == "mih" else 0.0
    monkeypatch.setattr(hamming_mih, "COST_SCAN_NS_PER_WORD", cost)
    return str(request.param)


@pytest.mark.parametrize("bits", [64, 256])
@pytest.mark.parametrize("data", ["uniform", "clustered"])
def test_matches_brute_force(bits: int, data: str, path: str) -> None:
    rng = np.random.default_rng(bits + len(data))
    n = 6000
    codes = uniform(rng, n, bits) if data == "uniform" else clustered(rng, n, bits)
    ids = rng.permutation(n).astype(np.int64) * 7 + 1000
    index = HammingIndex.build(codes, ids, bits=bits)
    queries = queries_for(rng, codes, bits, 25)
    dist = distance_matrix(codes, queries)
    for r in (0, 1, DESIGN[bits], BEYOND[bits]):
        want = expected(dist, ids, r)
        assert index.search_many(queries, r) == want, (bits, data, r)
        assert [index.search(q, r) for q in queries[:5]] == want[:5]
    assert any(want), "the test data must produce hits"
    assert index.search_many(queries[:0], DESIGN[bits]) == []


@pytest.mark.parametrize(
    ("bits", "chunks"),
    [(64, 3), (64, 4), (64, 7), (72, 4), (128, 6), (128, 13), (256, 12), (256, 16)],
)
def test_other_layouts_and_widths_are_exact(
    bits: int, chunks: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hamming_mih, "COST_SCAN_NS_PER_WORD", 1e9)  # always probe
    rng = np.random.default_rng(chunks)
    codes = uniform(rng, 1500, bits)
    codes[:300] = codes[0]  # duplicates
    ids = np.arange(len(codes), dtype=np.int64)
    index = HammingIndex.build(codes, ids, bits=bits, chunks=chunks)
    queries = np.stack([flip(rng, codes[i], i % 9) for i in range(0, 1500, 100)])
    dist = distance_matrix(codes, queries)
    for r in (0, 3, 9, 17, 33):
        assert index.search_many(queries, r) == expected(dist, ids, r)


def test_too_few_chunks_rejected() -> None:
    with pytest.raises(ValueError, match=f"{hamming_mih.MAX_CHUNK_BITS}-bit"):
        HammingIndex(64, chunks=2)


@pytest.mark.parametrize("bits", [64, 256])
def test_boundary_distance_found_and_one_more_not(bits: int, path: str) -> None:
    rng = np.random.default_rng(1)
    codes = uniform(rng, 3000, bits)
    query = uniform(rng, 1, bits)[0]
    r = DESIGN[bits]
    codes[10] = flip(rng, query, r)
    codes[11] = flip(rng, query, r + 1)
    codes[12] = query
    ids = np.arange(3000, dtype=np.int64)
    hits = HammingIndex.build(codes, ids, bits=bits).search(query, r)
    assert hits == [(12, 0), (10, r)]


def test_duplicate_codes_with_different_ids_all_returned(path: str) -> None:
    rng = np.random.default_rng(2)
    code = uniform(rng, 1, 256)
    codes = np.concatenate([uniform(rng, 500, 256), np.repeat(code, 4, axis=0)])
    ids = np.arange(len(codes), dtype=np.int64)[::-1].copy()
    index = HammingIndex.build(codes, ids, bits=256)
    assert index.search(code[0], 0) == [(0, 0), (1, 0), (2, 0), (3, 0)]


@pytest.mark.parametrize("bits", [64, 256])
def test_empty_index(bits: int) -> None:
    index = HammingIndex(bits)
    query = np.zeros(bits // 8, np.uint8)
    assert len(index) == 0
    assert index.search(query, 10) == []
    assert index.search_many(np.zeros((3, bits // 8), np.uint8), 10) == [[], [], []]
    empty = HammingIndex.build(np.zeros((0, bits // 8), np.uint8), np.zeros(0, np.int64), bits=bits)
    assert empty.search(query, bits) == []


@pytest.mark.parametrize(("bits", "chunks"), [(64, None), (64, 4), (256, None)])
def test_incremental_add_equals_fresh_build(
    bits: int, chunks: int | None, path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hamming_index, "DELTA_MIN", 500)
    rng = np.random.default_rng(3)
    codes = clustered(rng, 4000, bits)
    ids = rng.integers(0, 2**40, 4000)
    queries = queries_for(rng, codes, bits, 20)
    index = HammingIndex.build(codes[:2000], ids[:2000], bits=bits, chunks=chunks)
    assert bool(len(index._slot_codes)) == (chunks == 4)  # 64-bit codes copied in slot order
    index.add(codes[2000:2300], ids[2000:2300])  # stays in the delta
    assert len(index._codes) == 2000 and len(index) == 2300
    fresh = HammingIndex.build(codes[:2300], ids[:2300], bits=bits, chunks=chunks)
    for r in (0, DESIGN[bits], BEYOND[bits]):
        assert index.search_many(queries, r) == fresh.search_many(queries, r)
    index.add(codes[2300:2600], ids[2300:2600])  # past DELTA_MIN: inserted into the tables
    assert len(index._codes) == 2600 and index._delta_len == 0
    for r in (0, DESIGN[bits], BEYOND[bits]):
        expected = [brute(codes[:2600], ids[:2600], q, r) for q in queries]
        assert index.search_many(queries, r) == expected
    assert index._offsets[-1] == len(index._positions) == 2600 * len(index.widths)
    if chunks == 4:
        assert (index._slot_codes == index._codes[:, 0].take(index._positions)).all()


def test_add_to_empty_index_and_layout_regrowth(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hamming_index, "DELTA_MIN", 100)
    rng = np.random.default_rng(4)
    codes = uniform(rng, 3000, 64)
    ids = np.arange(3000, dtype=np.int64)
    index = HammingIndex(64)
    for lo in range(0, 3000, 150):
        index.add(codes[lo : lo + 150], ids[lo : lo + 150])
    assert len(index) == 3000
    queries = np.stack([flip(rng, codes[i], i % 11) for i in range(0, 3000, 97)])
    assert index.search_many(queries, 8) == [brute(codes, ids, q, 8) for q in queries]


@pytest.mark.parametrize("bits", [64, 256])
def test_save_load_round_trip_mmap_and_add(bits: int, tmp_path: Path, path: str) -> None:
    rng = np.random.default_rng(5)
    codes = clustered(rng, 3000, bits)
    ids = np.arange(3000, dtype=np.int64) + 10**12
    index = HammingIndex.build(codes[:2500], ids[:2500], bits=bits)
    index.add(codes[2500:2700], ids[2500:2700])  # the delta must be saved too
    target = tmp_path / "idx"
    index.save(target)
    index.save(target)  # replacing an existing index
    assert sorted(p.name for p in target.iterdir()) == sorted(
        f"{name}.npy" for name in (*hamming_store.ARRAYS, "meta")
    )
    assert [p.name for p in tmp_path.iterdir()] == ["idx"]  # no temp directory left behind
    loaded = HammingIndex.load(target)
    assert isinstance(loaded._codes.base, np.memmap) and not loaded._codes.flags.writeable
    queries = queries_for(rng, codes, bits, 20)
    r = DESIGN[bits]
    assert len(loaded) == 2700
    assert loaded.search_many(queries, r) == index.search_many(queries, r)
    base = loaded._codes
    loaded.add(codes[2700:], ids[2700:])
    assert loaded._codes is base  # the mapped base was not copied
    want = [brute(codes, ids, q, r) for q in queries]
    assert loaded.search_many(queries, r) == want
    loaded.merge()  # into private arrays; the files stay as saved
    assert loaded._delta_len == 0 and loaded._codes.flags.writeable
    assert loaded.search_many(queries, r) == want
    assert len(HammingIndex.load(target)) == 2700
    in_memory = HammingIndex.load(target, mmap=False)
    assert in_memory._codes.flags.writeable
    assert in_memory.search_many(queries, r) == index.search_many(queries, r)


def test_codes_from_hex() -> None:
    assert codes_from_hex(["c2bdbdc033633cc1"], 64).tolist() == [
        [0xC2, 0xBD, 0xBD, 0xC0, 0x33, 0x63, 0x3C, 0xC1]
    ]
    pdq = "3c17e23d39c201c2be21c33cc23d39c2fe29fe61433cbdc31dc6e22119de19de"
    out = codes_from_hex([pdq, pdq.upper()], 256)
    assert out.shape == (2, 32) and out.dtype == np.uint8 and out[0, 0] == 0x3C
    assert (out[0] == out[1]).all()
    assert codes_from_hex([], 64).shape == (0, 8)
    for bad in ["c2bdbdc033633cc", "c2bdbdc033633cc1a", "c2bdbdc03363 cc1", "g2bdbdc033633cc1"]:
        with pytest.raises(ValueError, match=repr(bad)[1:-1]):
            codes_from_hex(["0" * 16, bad], 64)
    with pytest.raises(ValueError):
        codes_from_hex(["0" * 16, None], 64)  # type: ignore[list-item]


def test_hex_codes_search_by_bit_distance() -> None:
    codes = codes_from_hex(["0" * 16, "0" * 15 + "1", "f" * 16, "8" + "0" * 15], 64)
    index = HammingIndex.build(codes, np.array([1, 2, 3, 4]), bits=64)
    assert index.search(codes_from_hex(["0" * 16], 64)[0], 1) == [(1, 0), (2, 1), (4, 1)]
    assert index.search(codes_from_hex(["0" * 16], 64)[0], 64) == [(1, 0), (2, 1), (4, 1), (3, 64)]


def test_wrong_shapes_raise() -> None:
    codes = np.zeros((4, 8), np.uint8)
    with pytest.raises(ValueError):
        HammingIndex.build(codes, np.arange(3), bits=64)
    with pytest.raises(ValueError):
        HammingIndex.build(codes, np.arange(4), bits=256)
    with pytest.raises(ValueError):
        HammingIndex.build(codes.astype(np.int64), np.arange(4), bits=64)
    with pytest.raises(ValueError):
        HammingIndex.build(codes, np.arange(4.0), bits=64)
    with pytest.raises(ValueError):
        HammingIndex(60)
    index = HammingIndex.build(codes, np.arange(4), bits=64)
    with pytest.raises(ValueError):
        index.search(np.zeros(32, np.uint8), 3)
    with pytest.raises(ValueError):
        index.search(np.zeros((1, 8), np.uint8), 3)
    with pytest.raises(ValueError):
        index.search_many(np.zeros(8, np.uint8), 3)
    with pytest.raises(ValueError):
        index.search(np.zeros(8, np.uint8), -1)
    with pytest.raises(ValueError):
        index.add(np.zeros((2, 9), np.uint8), np.arange(2))
