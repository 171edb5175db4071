"""Images hashed per second per core: 1024x768 JPEGs, every hash together (sha256, md5, sha1,
pHash, dHash, PDQ with quality), through `classifiers.hashing.hash_media`.

Run:  python benchmarks/bench_hashing.py [--quick] [--images N]

Baseline, measured in the same run on the same images: the obvious way, as python-threatexchange
and imagehash's own examples do it: decode at full size, then imagehash.phash, imagehash.dhash and
pdqhash.compute on the full picture, plus the three digests. Also shown: ours with the extra
lookups switched on (PDQ's 7 rotations/mirrors), and ours on 2 processes (2 cores).
Images are synthetic (gradients, shapes, noise texture), made here, JPEG quality 85.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import statistics
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import imagehash
import numpy as np
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from classifiers.hashing import hash_media

TARGET = ">= 100 images/s per core"


def synthetic_jpeg(seed: int, size: tuple[int, int] = (1024, 768)) -> bytes:
    rng = np.random.default_rng(seed)
    width, height = size
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack(
        [(x * 255 // width), (y * 255 // height), ((x + y) * 255 // (width + height))], axis=-1
    ).astype(np.int16)
    base += rng.integers(-12, 13, size=base.shape, dtype=np.int16)  # sensor-like texture
    image = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(25):
        x0, y0 = int(rng.integers(0, width - 100)), int(rng.integers(0, height - 100))
        box = [x0, y0, x0 + int(rng.integers(40, 400)), y0 + int(rng.integers(40, 300))]
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)(box, fill=colour)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def naive(data: bytes) -> tuple[str, ...]:
    """Full-size decode, every hash on the full picture: the baseline."""
    import pdqhash

    digests = (
        hashlib.sha256(data).hexdigest(),
        hashlib.md5(data).hexdigest(),
        hashlib.sha1(data).hexdigest(),
    )
    image = Image.open(io.BytesIO(data)).convert("RGB")
    vector, _quality = pdqhash.compute(np.asarray(image))
    return (*digests, str(imagehash.phash(image)), str(imagehash.dhash(image)), str(vector.sum()))


def ours(data: bytes) -> object:
    return hash_media(data)


def ours_dihedral(data: bytes) -> object:
    return hash_media(data, dihedral=True)


def rate(fn: Callable[[bytes], object], images: list[bytes], rounds: int) -> tuple[float, float]:
    """Images per second (best of rounds) and median ms per image on one core."""
    best, per_image = 0.0, []
    for _ in range(rounds):
        start = time.perf_counter()
        for data in images:
            t = time.perf_counter()
            fn(data)
            per_image.append((time.perf_counter() - t) * 1000)
        best = max(best, len(images) / (time.perf_counter() - start))
    return best, statistics.median(per_image)


def _chunk(images: list[bytes]) -> int:
    for data in images:
        hash_media(data)
    return len(images)


def parallel_rate(images: list[bytes], workers: int) -> float:
    with ProcessPoolExecutor(workers) as pool:
        list(pool.map(_chunk, [images[:4]] * workers))  # warm the processes
        start = time.perf_counter()
        parts = [images[i::workers] for i in range(workers)]
        done = sum(pool.map(_chunk, parts))
        return done / (time.perf_counter() - start)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="few images, one round (CI smoke)")
    parser.add_argument("--images", type=int, default=200)
    args = parser.parse_args()
    count = 20 if args.quick else args.images
    rounds = 1 if args.quick else 3
    print(f"making {count} synthetic 1024x768 JPEGs (quality 85)...", file=sys.stderr)
    images = [synthetic_jpeg(seed) for seed in range(count)]
    mean_kib = sum(map(len, images)) / len(images) / 1024
    for data in images[:3]:  # warm imports and caches
        ours(data)
        naive(data)

    baseline, baseline_ms = rate(naive, images, rounds)
    fast, fast_ms = rate(ours, images, rounds)
    dihedral, dihedral_ms = rate(ours_dihedral, images, rounds)
    two = parallel_rate(images * (1 if args.quick else 2), 2)

    print(f"\nhashing {count} JPEGs of 1024x768 ({mean_kib:.0f} KiB mean), all hashes per image")
    print(f"  {'method':<46} {'images/s':>9} {'ms/image':>9}")
    label = "baseline: full-size decode + hashes (1 core)"
    print(f"  {label:<46} {baseline:>9.1f} {baseline_ms:>9.2f}")
    print(f"  {'ours: hash_media (1 core)':<46} {fast:>9.1f} {fast_ms:>9.2f}")
    label = "ours + PDQ rotations/mirrors (production, 1 core)"
    print(f"  {label:<46} {dihedral:>9.1f} {dihedral_ms:>9.2f}")
    print(f"  {'ours: hash_media, 2 processes (2 cores)':<46} {two:>9.1f} {'':>9}")
    print()
    for name, value in (("all hashes", fast), ("as production runs it", dihedral)):
        met = "MET" if value >= 100 else "NOT MET"
        print(f"  images/s per core, {name}: {value:.1f}   (target {TARGET}: {met})")
    print(f"  ours / baseline: {fast / baseline:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
