"""Classifier throughput per core: text pages per second (2,000 characters each) and pictures
per second, the served ONNX model against scikit-learn in the same run.

Run:  python benchmarks/bench_classify.py [--quick] [--pages N] [--images N]

The process is pinned to one core and onnxruntime to one thread. Pages are built from the
corpus (several texts per page, cut to 2,000 characters), so they carry its languages and
obfuscations. Measured:
- ONNX probabilities only, and with explanations (what the pipeline and `hotline classify` do);
- scikit-learn on the same pipeline (the model the ONNX file was exported from, refit here);
- a plain scikit-learn TF-IDF (words + char_wb 3-5) + logistic regression: the usual baseline;
- `hotline classify` end to end as a subprocess (start-up included), JSON lines in and out;
- the nudity detector on synthetic 1024x768 JPEGs, in batches of 8 and one by one.
The in-process text variants take turns on chunks of 100 pages (this machine's neighbours move a
whole pass by up to 2x); each prints its best chunk and its median chunk.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from classifiers.nudity import NudityDetector  # noqa: E402
from classifiers.text_features import model_text  # noqa: E402
from classifiers.text_model import TextClassifier  # noqa: E402
from models.training import corpus  # noqa: E402
from models.training.fit import Recipe, fit  # noqa: E402

PAGE_CHARS = 2000
CHUNK = 100
TARGET = ">= 3,000 pages/s per core in process"


def pages(count: int, seed: int = 11) -> list[str]:
    samples = corpus.load()
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        parts: list[str] = []
        while sum(len(p) for p in parts) < PAGE_CHARS:
            s = samples[int(rng.integers(len(samples)))]
            parts.append(model_text(s.text, s.title))
        out.append("\n".join(parts)[:PAGE_CHARS])
    return out


def rate(work: Callable[[], object], items: int, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - started)
    return items / best


def interleaved(
    variants: dict[str, Callable[[list[str]], object]], texts: list[str], rounds: int = 2
) -> dict[str, tuple[float, float]]:
    """(best, median) pages/s of each variant over chunks of `CHUNK` pages, the variants taking
    turns on every chunk. This machine shares its caches and memory with neighbours, whose load
    moves a pass over 2,000 pages by up to 2x; taking turns gives every variant the same moments,
    and the best chunk is what the code can do when the neighbours are quiet."""
    seconds: dict[str, list[float]] = {name: [] for name in variants}
    chunks = [texts[i : i + CHUNK] for i in range(0, len(texts), CHUNK)]
    for turn in range(rounds):
        for k, chunk in enumerate(chunks):
            order = list(variants.items())
            for name, work in order if (turn + k) % 2 else order[::-1]:
                started = time.perf_counter()
                work(chunk)
                seconds[name].append((time.perf_counter() - started) / len(chunk))
    return {name: (1 / min(taken), 1 / float(np.median(taken))) for name, taken in seconds.items()}


def picture(seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    image = Image.new("RGB", (1024, 768), tuple(int(v) for v in rng.integers(0, 255, 3)))
    draw = ImageDraw.Draw(image)
    for _ in range(12):
        x, y = int(rng.integers(0, 900)), int(rng.integers(0, 650))
        colour = tuple(int(v) for v in rng.integers(0, 255, 3))
        draw.ellipse((x, y, x + int(rng.integers(40, 300)), y + int(rng.integers(40, 300))), colour)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def cli_rate(texts: list[str]) -> tuple[float, float]:
    """(pages/s including start-up, start-up seconds) of `hotline classify` on `texts`."""
    stdin = "".join(
        json.dumps({"id": i, "text": t}, ensure_ascii=False) + "\n" for i, t in enumerate(texts)
    )
    command = [sys.executable, "-m", "triage_api.cli", "classify"]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    started = time.perf_counter()
    subprocess.run(command, input=b"", capture_output=True, check=True, env=env)
    startup = time.perf_counter() - started
    started = time.perf_counter()
    done = subprocess.run(command, input=stdin.encode(), capture_output=True, check=True, env=env)
    elapsed = time.perf_counter() - started
    assert done.stdout.count(b"\n") == len(texts)
    return len(texts) / elapsed, startup


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--images", type=int, default=64)
    args = parser.parse_args()
    if args.quick:
        args.pages, args.images = 300, 16
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    texts = pages(args.pages)
    print(f"{len(texts)} pages of {PAGE_CHARS} characters; pinned to one core; {TARGET}")

    served = TextClassifier()
    served.classify(texts[:50])

    samples = corpus.load()
    train_texts = [model_text(s.text, s.title) for s in samples]
    labels = [s.label for s in samples]
    ours = fit(train_texts, labels, corpus.site_groups(samples), Recipe())

    from scipy.sparse import hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    words = TfidfVectorizer(sublinear_tf=True, min_df=2).fit(train_texts)
    chars = TfidfVectorizer(
        sublinear_tf=True, min_df=2, analyzer="char_wb", ngram_range=(3, 5)
    ).fit(train_texts)
    plain = LogisticRegression(max_iter=2000).fit(
        hstack([words.transform(train_texts), chars.transform(train_texts)]).tocsr(), labels
    )
    rates = interleaved(
        {
            "onnx_probs": served.probabilities,
            "onnx_full": served.classify,
            "sklearn_ours": ours.predict_proba,
            "plain": lambda chunk: plain.predict_proba(
                hstack([words.transform(chunk), chars.transform(chunk)]).tocsr()
            ),
        },
        texts,
    )
    onnx_full, sklearn_ours, plain_rate = (
        rates[name][0] for name in ("onnx_full", "sklearn_ours", "plain")
    )
    cli, startup = cli_rate(texts)

    print(f"\ntext, pages/s on one core: best chunk of {CHUNK} (median chunk), taking turns")
    for name, title in (
        ("onnx_probs", "ONNX probabilities"),
        ("onnx_full", "ONNX with explanations (served)"),
        ("sklearn_ours", "scikit-learn, same model"),
        ("plain", "scikit-learn plain TF-IDF + LR"),
    ):
        best, median = rates[name]
        print(f"  {title:34s} {best:8.0f}  ({median:.0f})")
    print(f"  hotline classify (subprocess)      {cli:8.0f}   (start-up {startup:.2f} s)")
    print(f"  ratio ONNX served / scikit-learn same model: {onnx_full / sklearn_ours:.2f}x")
    print(f"  ratio ONNX served / plain scikit-learn:      {onnx_full / plain_rate:.2f}x")
    met = "MET" if onnx_full >= 3000 else "NOT MET"
    print(f"  target {TARGET}: {met} ({onnx_full:.0f} with explanations)")

    detector = NudityDetector()
    images = [picture(i) for i in range(args.images)]
    detector.detect(images[:2])
    batched = rate(lambda: detector.detect(images), len(images), repeat=2)
    single = rate(lambda: [detector.detect([i]) for i in images], len(images), repeat=2)
    print("\nnudity detector (NudeNet 320n), 1024x768 JPEG pictures/s on one core")
    print(f"  batches of 8   {batched:7.1f}")
    print(f"  one by one     {single:7.1f}   (batched / single: {batched / single:.2f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
