"""Perceptual-hash robustness: recall per transform, false-match rates and default thresholds.

Run:  python benchmarks/bench_hash_robustness.py [--quick] [--workers N] [--codes N]

What it does, offline and bounded (about 2 minutes on 2 idle cores for the full run):
  1. builds the image set of `notebooks/hash_study.py`: the 12 photos bundled with scikit-learn and
     scikit-image and 48 synthetic drawings from a fixed seed (4 + 8 with --quick);
  2. hashes each image under 28 transforms (resize, JPEG, crop, border, brightness, contrast,
     caption, mirror, rotation) with production's `hash_media` (dihedral PDQ views included);
  3. prints recall per transform and threshold for pHash, dHash and PDQ, alone and with the extra
     hashes production also looks up ("+": border-trimmed view, PDQ's 7 rotations and mirrors),
     false-match rates against >= 1M uniform random codes and between different images of the
     set, and the thresholds the rule chooses;
  4. baseline in the same run: exact sha256 matching, which finds only the identical file.
The figures for docs/hash-thresholds.md come from a full run of this script.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from notebooks import hash_study as hs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="4 photos + 8 synthetic images")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="hashing procs")
    parser.add_argument("--codes", type=int, default=hs.RANDOM_CODES, help="random codes (>= 1M)")
    args = parser.parse_args()
    if args.codes < 1_000_000:
        parser.error("--codes must be at least 1000000")

    wall = time.perf_counter()
    samples = hs.image_set(quick=args.quick)
    photos = sum(s.kind == "photo" for s in samples)
    study = hs.run_study(samples, workers=args.workers)
    ev = hs.evaluate(study, n_codes=args.codes)
    n_hashes = study.quality.size

    print()
    print("Kaznet Hotline Triage — perceptual-hash robustness (classifiers.hashing.hash_media)")
    print(
        f"  mode: {'quick' if args.quick else 'full'}; {len(samples)} images ({photos} photos, "
        f"{len(samples) - photos} synthetic) x {len(study.transforms)} transforms = {n_hashes} "
        f"files hashed in {study.hashing_s:.1f} s with {args.workers} processes "
        f"({n_hashes / study.hashing_s:.1f} files/s, dihedral PDQ included); "
        f"{os.cpu_count()} cores; Python {platform.python_version()}, numpy {np.__version__}"
    )
    print(f"  {hs.quality_report(study)}")
    for kind in hs.HASH_BITS:
        print()
        print(hs.recall_table(study, ev, kind))
    print()
    print(
        f"False matches. random: share of (lookup, code) pairs within t against {args.codes:,} "
        "uniform random codes, measured and exact (binomial, times the views per lookup); lookups "
        "hit: share of lookups with any code within t; image pairs: copies of one image within t "
        "of a different image's original (PDQ: quality >= 50 only)."
    )
    print(
        "  lookups: "
        + ", ".join(
            f"{k} {c.lookups} x {c.codes:,} in {c.seconds:.1f} s" for k, c in ev.random.items()
        )
    )
    print(hs.false_match_table(ev))
    print()
    print("Closest different images (distance of a copy to another image's original)")
    print(hs.closest_pairs_table(ev))
    print()
    margins = {bits: round(bits * hs.MARGIN_SHARE) for bits in (64, 256)}
    print(
        f"Rule: the largest grid threshold t whose false-match rate against random codes is <= "
        f"{hs.MAX_RANDOM_RATE:g} per comparison (measured and exact; <= "
        f"{hs.MAX_RANDOM_RATE * 1e6:g} expected false matches per lookup in a 1M-code list) and "
        f"with no two different images of the set within t + {margins[64]} (64-bit) or "
        f"t + {margins[256]} (PDQ) bits."
    )
    print("  chosen: " + ", ".join(f"{k} <= {t}" for k, t in ev.chosen.items()))
    defaults = ev.defaults
    print(
        "  defaults (the choice for what production looks up, x+): "
        + ", ".join(f"{k} <= {t}" for k, t in defaults.items())
        + f"; PDQ only at quality >= {hs.PDQ_MIN_QUALITY}"
    )
    agree = "agrees" if defaults == hs.DEFAULTS else f"DIFFERS from {hs.DEFAULTS}"
    print(f"  documented defaults (hash_study.DEFAULTS, docs/hash-thresholds.md): this run {agree}")
    print()
    print("Recall at the chosen thresholds; baseline: exact sha256 of the file")
    print(hs.summary_table(study, ev))
    exact = float(np.mean(study.sha256 == study.sha256[:, :1]))
    ratios = ", ".join(
        f"{k} {hs.recall(ev.copies[k], t):.2f} ({hs.recall(ev.copies[k], t) / exact:.1f}x)"
        for k, t in ev.chosen.items()
        if t is not None
    )
    print(f"  mean recall over all copies: sha256 {exact:.2f} (baseline); {ratios}")
    print(f"  total wall time: {time.perf_counter() - wall:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
