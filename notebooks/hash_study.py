"""Perceptual-hash robustness study: image set, transforms, evaluation and threshold choice.

Shared by `notebooks/hash_robustness.ipynb` and `benchmarks/bench_hash_robustness.py`. Hashes come
from `classifiers.hashing.hash_media` (what production runs), fed encoded bytes: PNG for lossless
transforms, JPEG for the JPEG ones. Images are the sample photos bundled with scikit-learn and
scikit-image plus synthetic drawings generated from a seed; nothing is downloaded.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import partial
from io import BytesIO
from math import comb

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFont, ImageOps

from classifiers.hashing import hash_media

BASE_BITS = {"phash": 64, "dhash": 64, "pdq": 256}
# "x+": every hash of type x that `hash_media` returns for a file and production looks up: the
# plain one plus `extra` (border-trimmed view; for PDQ also the 7 rotations and mirrors).
HASH_BITS = {**BASE_BITS, **{f"{kind}+": bits for kind, bits in BASE_BITS.items()}}
THRESHOLDS: dict[str, tuple[int, ...]] = {
    kind: (16, 24, 31, 40, 50, 63) if bits == 256 else (4, 6, 8, 10, 12, 14)
    for kind, bits in HASH_BITS.items()
}
PDQ_MIN_QUALITY = 50  # PDQ hashes below this quality are conventionally not matched
RANDOM_CODES = 1_000_000
MAX_RANDOM_RATE = 1e-7  # per comparison: <= 0.1 expected false matches per lookup in 1M codes
MARGIN_SHARE = 1 / 32  # bits kept between a threshold and the closest different images (2 or 8)
# The defaults a full run chose (benchmarks/bench_hash_robustness.py; docs/hash-thresholds.md)
DEFAULTS = {"phash": 10, "dhash": 8, "pdq": 63}
SIZES = ((640, 480), (800, 600), (1024, 768), (768, 1024))
CAPTION = "kaznet.example  2024  demo"

Generator = np.random.Generator
Size = tuple[int, int]


def quick_mode() -> bool:
    """True when HASH_STUDY_QUICK=1: a smaller image set (the random-code count stays 1M)."""
    return os.environ.get("HASH_STUDY_QUICK", "") not in ("", "0")


# --------------------------------------------------------------------------- image set


@dataclass(frozen=True)
class Sample:
    name: str
    kind: str  # "photo" or "synthetic"
    image: Image.Image


def sample_photos() -> list[Sample]:
    """The 12 photos bundled with scikit-learn and scikit-image (all load offline), as RGB."""
    from skimage import data
    from sklearn.datasets import load_sample_images

    arrays = dict(zip(("china", "flower"), load_sample_images().images, strict=True))
    for name in ("astronaut", "coffee", "chelsea", "rocket", "camera", "hubble_deep_field"):
        arrays[name] = getattr(data, name)()
    arrays["ihc"] = data.immunohistochemistry()
    arrays["coins"], arrays["moon"] = data.coins(), data.moon()
    arrays["motorcycle"] = data.stereo_motorcycle()[0]
    return [Sample(n, "photo", Image.fromarray(a).convert("RGB")) for n, a in arrays.items()]


def _colour(rng: Generator) -> tuple[int, int, int]:
    r, g, b = (int(v) for v in rng.integers(0, 256, 3))
    return r, g, b


def _draw_shapes(rng: Generator, image: Image.Image, count: int) -> Image.Image:
    draw, (w, h) = ImageDraw.Draw(image), image.size
    for _ in range(count):
        x0, x1 = sorted(int(v) for v in rng.integers(0, w, 2))
        y0, y1 = sorted(int(v) for v in rng.integers(0, h, 2))
        shape, fill = int(rng.integers(0, 4)), _colour(rng)
        if shape == 0:
            draw.rectangle((x0, y0, x1, y1), fill=fill)
        elif shape == 1:
            draw.ellipse((x0, y0, x1, y1), fill=fill)
        elif shape == 2:
            corners = rng.integers(0, (w, h), (5, 2))
            draw.polygon([(int(x), int(y)) for x, y in corners], fill=fill)
        else:
            draw.line((x0, y0, x1, y1), fill=fill, width=int(rng.integers(3, 30)))
    return image


def shapes_image(rng: Generator, size: Size) -> Image.Image:
    """Random rectangles, ellipses, polygons and thick lines on a plain background."""
    return _draw_shapes(rng, Image.new("RGB", size, _colour(rng)), int(rng.integers(8, 25)))


def gradient_image(rng: Generator, size: Size) -> Image.Image:
    """A linear gradient between random colours in a random direction, plus a few shapes."""
    w, h = size
    angle = rng.uniform(0, 2 * np.pi)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    ramp = x / w * np.cos(angle) + y / h * np.sin(angle)
    ramp = (ramp - ramp.min()) / np.ptp(ramp)
    a, b = rng.integers(0, 256, (2, 3))
    image = Image.fromarray((a + ramp[..., None] * (b - a)).clip(0, 255).astype(np.uint8))
    return _draw_shapes(rng, image, int(rng.integers(2, 6)))


def text_image(rng: Generator, size: Size) -> Image.Image:
    """Lines of invented words in random sizes and colours on a coloured background."""
    syllables = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"]
    w, h = size
    image = Image.new("RGB", size, _colour(rng))
    draw = ImageDraw.Draw(image)
    y = int(rng.integers(0, h // 10))
    while y < h:
        font_size = int(rng.integers(h // 30, h // 8))
        words = ("".join(rng.choice(syllables, rng.integers(1, 4))) for _ in range(5))
        line = " ".join(word.capitalize() for word in words)
        font = ImageFont.load_default(size=font_size)
        draw.text((int(rng.integers(0, w // 4)), y), line, fill=_colour(rng), font=font)
        y += int(font_size * rng.uniform(1.2, 2.0))
    return image


def texture_image(rng: Generator, size: Size) -> Image.Image:
    """Multi-octave value noise (half of them marbled by a sine) on a random 3-colour palette."""
    w, h = size
    field = np.zeros((h, w), np.float32)
    for octave in range(1, 6):
        cells = rng.random((2 + 2**octave, 2 + 2**octave)).astype(np.float32)
        layer = Image.fromarray(cells, "F").resize(size, Image.Resampling.BICUBIC)
        field += np.asarray(layer) / 1.7**octave
    if rng.random() < 0.5:
        x = np.arange(w, dtype=np.float32)[None, :] / w
        field = np.sin((x * rng.uniform(3, 12) + field * 4) * np.pi)
    field = (field - field.min()) / np.ptp(field)
    palette = rng.integers(0, 256, (3, 3)).astype(np.float32)
    low = np.clip(1 - 2 * field, 0, 1)[..., None]
    high = np.clip(2 * field - 1, 0, 1)[..., None]
    pixels = low * palette[0] + (1 - low - high) * palette[1] + high * palette[2]
    return Image.fromarray(pixels.clip(0, 255).astype(np.uint8))


GENERATORS: dict[str, Callable[[Generator, Size], Image.Image]] = {
    "shapes": shapes_image,
    "gradient": gradient_image,
    "text": text_image,
    "texture": texture_image,
}


def synthetic_images(count: int, seed: int = 4) -> list[Sample]:
    """`count` drawings, cycling through the generators; the same seed gives the same pixels."""
    rng = np.random.default_rng(seed)
    samples = []
    for n in range(count):
        kind = list(GENERATORS)[n % len(GENERATORS)]
        size = SIZES[int(rng.integers(0, len(SIZES)))]
        samples.append(Sample(f"{kind}-{n:02d}", "synthetic", GENERATORS[kind](rng, size)))
    return samples


def image_set(quick: bool | None = None, seed: int = 4) -> list[Sample]:
    """12 photos + 48 synthetic images, or 4 + 8 in quick mode (default: `quick_mode()`)."""
    if quick is None:
        quick = quick_mode()
    photos = sample_photos()
    return photos[:4] + synthetic_images(8, seed) if quick else photos + synthetic_images(48, seed)


# --------------------------------------------------------------------------- transforms


def encode(image: Image.Image, jpeg_quality: int | None = None) -> bytes:
    """PNG (fast, lossless) or JPEG at `jpeg_quality`."""
    buffer = BytesIO()
    if jpeg_quality is None:
        image.save(buffer, "PNG", compress_level=1)
    else:
        image.save(buffer, "JPEG", quality=jpeg_quality)
    return buffer.getvalue()


def resize(image: Image.Image, factor: float) -> Image.Image:
    size = (max(1, round(image.width * factor)), max(1, round(image.height * factor)))
    return image.resize(size, Image.Resampling.LANCZOS)


def crop(image: Image.Image, fraction: float, one_sided: bool = False) -> Image.Image:
    """Remove `fraction` of the width and of the height: half from each side, or all from the
    left and the top (`one_sided`)."""
    w, h = image.size
    dx, dy = round(w * fraction), round(h * fraction)
    if one_sided:
        return image.crop((dx, dy, w, h))
    return image.crop((dx // 2, dy // 2, w - (dx - dx // 2), h - (dy - dy // 2)))


def border(image: Image.Image, fraction: float, fill: str) -> Image.Image:
    """Pad every side by `fraction` of the image's width (left/right) and height (top/bottom)."""
    dx, dy = round(image.width * fraction), round(image.height * fraction)
    return ImageOps.expand(image, (dx, dy, dx, dy), fill=fill)


def enhance(image: Image.Image, factor: float, what: str) -> Image.Image:
    """`what` is "Brightness" or "Contrast" (ImageEnhance): 1.3 is +30 %, 0.7 is -30 %."""
    return getattr(ImageEnhance, what)(image).enhance(factor)


def caption(image: Image.Image, height: float) -> Image.Image:
    """White text on a dark translucent box in the bottom-right corner, `height` of the image."""
    font = ImageFont.load_default(size=max(8, round(image.height * height)))
    layer = Image.new("RGBA", image.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    left, top, right, bottom = draw.textbbox((0, 0), CAPTION, font=font)
    pad = max(2, (bottom - top) // 3)
    x, y = image.width - (right - left) - 3 * pad, image.height - (bottom - top) - 3 * pad
    draw.rectangle((x - pad, y - pad, image.width - pad, image.height - pad), fill=(0, 0, 0, 140))
    draw.text((x - left, y - top), CAPTION, font=font, fill=(255, 255, 255, 230))
    return Image.alpha_composite(image.convert("RGBA"), layer).convert("RGB")


@dataclass(frozen=True)
class Transform:
    name: str
    apply: Callable[[Image.Image], Image.Image]
    jpeg_quality: int | None = None  # encoded as JPEG at this quality, else PNG

    def __call__(self, image: Image.Image) -> bytes:
        return encode(self.apply(image), self.jpeg_quality)


TRANSFORMS: tuple[Transform, ...] = (
    Transform("identity (PNG)", lambda image: image),
    *(Transform(f"resize {f}x", partial(resize, factor=f)) for f in (0.25, 0.5, 0.75, 1.5, 2.0)),
    *(Transform(f"jpeg q{q}", lambda image: image, q) for q in (30, 50, 70, 95)),
    *(
        Transform(f"crop {p}% {where}", partial(crop, fraction=p / 100, one_sided=one))
        for where, one in (("centred", False), ("top-left", True))
        for p in (2, 5, 10)
    ),
    *(
        Transform(f"border {p}% {c}", partial(border, fraction=p / 100, fill=c))
        for c in ("white", "black")
        for p in (5, 10)
    ),
    *(
        Transform(f"{what.lower()} {sign}30%", partial(enhance, factor=f, what=what))
        for what in ("Brightness", "Contrast")
        for sign, f in (("+", 1.3), ("-", 0.7))
    ),
    Transform("caption 3% high", partial(caption, height=0.03)),
    Transform("caption 6% high", partial(caption, height=0.06)),
    Transform("mirror", ImageOps.mirror),
    Transform("rotate 90", partial(Image.Image.transpose, method=Image.Transpose.ROTATE_90)),
)


# --------------------------------------------------------------------------- hashing


def to_words(hex_codes: Sequence[str]) -> np.ndarray:
    """Hex codes -> uint64 array (n, bits/64), most significant word first."""
    raw = b"".join(bytes.fromhex(code) for code in hex_codes)
    return np.frombuffer(raw, dtype=">u8").astype(np.uint64).reshape(len(hex_codes), -1)


def hamming(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Bit distance between uint64 word arrays (broadcast over all but the last axis)."""
    return np.bitwise_count(a ^ b).sum(axis=-1, dtype=np.int32)


Hashed = tuple[str, int, dict[str, list[str]]]


def hash_sample(image: Image.Image) -> list[Hashed]:
    """(sha256, PDQ quality, hash type -> [plain hash, extra hashes]) of every transform, hashed
    as production hashes a file (`dihedral=True`, its default)."""
    rows = []
    for transform in TRANSFORMS:
        h = hash_media(transform(image), dihedral=True)
        if h.error or not (h.phash and h.dhash and h.pdq) or h.pdq_quality is None:
            raise RuntimeError(f"{transform.name}: not hashed ({h.error})")
        views = {"phash": [h.phash], "dhash": [h.dhash], "pdq": [h.pdq]}
        for extra in h.extra:
            if extra.hash_type in views and not extra.label.startswith("frame"):
                views[extra.hash_type].append(extra.value)
        rows.append((h.sha256, h.pdq_quality, views))
    return rows


@dataclass
class Study:
    names: list[str]
    kinds: list[str]
    transforms: list[str]
    # hash type -> (images, transforms, views, words) uint64; view 0 is the plain hash, "x+" types
    # have more views (padded with the plain hash where a file had fewer extra hashes)
    codes: dict[str, np.ndarray]
    quality: np.ndarray  # (images, transforms) PDQ quality
    sha256: np.ndarray  # (images, transforms) hex digests
    hashing_s: float


def run_study(samples: Sequence[Sample], workers: int = 1) -> Study:
    """Hash every sample under every transform (in `workers` processes when > 1)."""
    start = time.perf_counter()
    images = [s.image for s in samples]
    if workers > 1:
        with ProcessPoolExecutor(workers) as pool:
            results = list(pool.map(hash_sample, images))
    else:
        results = [hash_sample(image) for image in images]
    rows = [row for result in results for row in result]
    shape = (len(samples), len(TRANSFORMS))
    codes = {}
    for kind in BASE_BITS:
        width = max(len(row[2][kind]) for row in rows)
        padded = [v for row in rows for v in (row[2][kind] + row[2][kind][:1] * width)[:width]]
        codes[f"{kind}+"] = to_words(padded).reshape(*shape, width, -1)
        codes[kind] = codes[f"{kind}+"][:, :, :1, :]
    return Study(
        names=[s.name for s in samples],
        kinds=[s.kind for s in samples],
        transforms=[t.name for t in TRANSFORMS],
        codes=codes,
        quality=np.array([r[1] for r in rows]).reshape(shape),
        sha256=np.array([r[0] for r in rows]).reshape(shape),
        hashing_s=time.perf_counter() - start,
    )


# --------------------------------------------------------------------------- evaluation


def _listed(study: Study, kind: str) -> np.ndarray:
    """(images, words): the plain hash of each original, as a hash list holds it."""
    return study.codes[kind][:, 0, 0, :]


def copy_distances(study: Study, kind: str) -> np.ndarray:
    """(images, transforms): distance of each transformed copy to its own original."""
    return hamming(study.codes[kind], _listed(study, kind)[:, None, None, :]).min(axis=2)


def matched_distances(study: Study, kind: str) -> np.ndarray:
    """`copy_distances` as production can match them: for PDQ, a copy below quality 50 cannot
    match (distance set above every threshold) and an image whose original is below 50 cannot be
    listed (NaN: left out of the recall)."""
    dist = copy_distances(study, kind).astype(float)
    if kind.startswith("pdq"):
        dist[study.quality < PDQ_MIN_QUALITY] = HASH_BITS[kind] + 1
        dist[study.quality[:, 0] < PDQ_MIN_QUALITY] = np.nan
    return dist


def recall(dist: np.ndarray, threshold: int) -> float:
    """Share of copies within `threshold` (NaN distances left out)."""
    kept = dist[~np.isnan(dist)]
    return float(np.mean(kept <= threshold)) if kept.size else float("nan")


def cross_distances(study: Study, kind: str, min_quality: int = 0) -> np.ndarray:
    """Distances of every copy of image i to the original of every image j != i (pairs where
    either PDQ quality is below `min_quality` left out)."""
    queries = study.codes[kind][:, :, :, None, :]
    dist = hamming(queries, _listed(study, kind)[None, None, None, :, :]).min(axis=2)
    n, t = study.quality.shape
    keep = ~np.eye(n, dtype=bool)[:, None, :].repeat(t, axis=1)
    if min_quality:
        keep &= (study.quality >= min_quality)[:, :, None]
        keep &= (study.quality[:, 0] >= min_quality)[None, None, :]
    return dist[keep]


def exact_random_rate(bits: int, threshold: int) -> float:
    """P(distance <= threshold) between a fixed code and a uniform random one."""
    return sum(comb(bits, k) for k in range(threshold + 1)) / 2**bits


@dataclass
class RandomCheck:
    codes: int
    lookups: int
    per_comparison: dict[int, float]  # measured share of (lookup, code) pairs within t
    per_lookup: dict[int, float]  # measured share of lookups matching any of the codes
    exact: dict[int, float]  # binomial per comparison, x views per lookup (a union bound)
    seconds: float


def random_check(
    study: Study, kind: str, n_codes: int = RANDOM_CODES, seed: int = 7
) -> RandomCheck:
    """Hashes of the study against `n_codes` uniform random codes, as if they were a hash list
    with no true match in it. A lookup is one copy with all its views; with V views per copy
    every V-th copy is looked up, so every type costs about the same."""
    start = time.perf_counter()
    bits = HASH_BITS[kind]
    words = bits // 64
    rng = np.random.default_rng(seed)
    columns = np.frombuffer(rng.bytes(n_codes * bits // 8), dtype=np.uint64).reshape(words, -1)
    views = study.codes[kind].shape[2]
    queries = study.codes[kind].reshape(-1, views, words)[::views]
    histogram = np.zeros(bits + 1, np.int64)
    minima = []
    xor, ones = np.empty(n_codes, np.uint64), np.empty(n_codes, np.uint8)
    dist, best = np.empty(n_codes, np.uint16), np.empty(n_codes, np.uint16)
    for lookup in queries:  # one 64-bit column at a time, in place: ~5 ms per column and view
        for v, query in enumerate(lookup):
            for w in range(words):
                np.bitwise_count(np.bitwise_xor(columns[w], query[w], out=xor), out=ones)
                if w:
                    np.add(dist, ones, out=dist)
                else:
                    np.copyto(dist, ones)
            np.minimum(best, dist, out=best) if v else np.copyto(best, dist)
        counts = np.bincount(best, minlength=bits + 1)
        histogram += counts
        minima.append(int(np.flatnonzero(counts)[0]))
    cumulative = np.cumsum(histogram) / (len(queries) * n_codes)
    return RandomCheck(
        codes=n_codes,
        lookups=len(queries),
        per_comparison={t: float(cumulative[t]) for t in THRESHOLDS[kind]},
        per_lookup={t: float(np.mean(np.array(minima) <= t)) for t in THRESHOLDS[kind]},
        exact={
            t: min(1.0, queries.shape[1] * exact_random_rate(bits, t)) for t in THRESHOLDS[kind]
        },
        seconds=time.perf_counter() - start,
    )


def choose_threshold(
    kind: str, check: RandomCheck, cross: np.ndarray, max_rate: float = MAX_RANDOM_RATE
) -> int | None:
    """The largest grid threshold t whose false-match rate against random codes (measured and
    exact) is <= `max_rate` per comparison and with no pair of different images within
    t + margin (1/32 of the bits: 2 for 64-bit hashes, 8 for PDQ)."""
    margin = round(HASH_BITS[kind] * MARGIN_SHARE)
    closest = int(cross.min()) if cross.size else HASH_BITS[kind]
    ok = [
        t
        for t in THRESHOLDS[kind]
        if max(check.per_comparison[t], check.exact[t]) <= max_rate and t + margin < closest
    ]
    return max(ok) if ok else None


@dataclass
class Evaluation:
    copies: dict[str, np.ndarray]  # kind -> (images, transforms) `matched_distances`
    cross: dict[str, np.ndarray]  # kind -> distances between different images
    random: dict[str, RandomCheck]
    chosen: dict[str, int | None]

    @property
    def defaults(self) -> dict[str, int | None]:
        """Per hash type, the threshold chosen for the lookups production makes ("x+")."""
        return {kind: self.chosen[f"{kind}+"] for kind in BASE_BITS}


def evaluate(study: Study, n_codes: int = RANDOM_CODES) -> Evaluation:
    """Distances, false-match checks and the chosen threshold of every hash type. PDQ hashes
    below quality 50 are left out of the different-image check and never match a copy."""
    copies = {kind: matched_distances(study, kind) for kind in HASH_BITS}
    cross = {k: cross_distances(study, k, PDQ_MIN_QUALITY if "pdq" in k else 0) for k in HASH_BITS}
    random = {kind: random_check(study, kind, n_codes) for kind in HASH_BITS}
    chosen = {kind: choose_threshold(kind, random[kind], cross[kind]) for kind in HASH_BITS}
    for kind in ("pdq", "pdq+"):
        cross[f"{kind}, any quality"] = cross_distances(study, kind)
    return Evaluation(copies, cross, random, chosen)


# --------------------------------------------------------------------------- tables


def markdown_table(header: Sequence[object], rows: Sequence[Sequence[object]]) -> str:
    """A pipe table that reads as plain text too."""
    cells = [[str(c) for c in header], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = ["| " + " | ".join(map(str.ljust, row, widths)) + " |" for row in cells]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def recall_table(study: Study, ev: Evaluation, kind: str) -> str:
    """Recall of `kind` per transform (rows) and threshold (columns)."""
    dist, grid = ev.copies[kind], THRESHOLDS[kind]
    rows = [
        [name, *(f"{recall(dist[:, j], t):.2f}" for t in grid)]
        for j, name in enumerate(study.transforms)
    ]
    rows.append(["mean", *(f"{recall(dist, t):.2f}" for t in grid)])
    return markdown_table([f"{kind}: transform", *(f"<= {t}" for t in grid)], rows)


def summary_table(study: Study, ev: Evaluation) -> str:
    """Recall per transform at the chosen thresholds, next to the exact sha256 baseline."""
    exact = (study.sha256 != study.sha256[:, :1]).astype(float)  # 0: the same file
    chosen = {k: t for k, t in ev.chosen.items() if t is not None}
    columns = [(exact, 0), *((ev.copies[k], t) for k, t in chosen.items())]
    header = ["transform", "sha256", *(f"{k} <= {t}" for k, t in chosen.items())]
    photo = np.array(study.kinds) == "photo"
    rows = [
        [name, *(f"{recall(d[:, j], t):.2f}" for d, t in columns)]
        for j, name in enumerate(study.transforms)
    ]
    for label, mask in (
        ("mean", slice(None)),
        ("mean, photos", photo),
        ("mean, synthetic", ~photo),
    ):
        rows.append([label, *(f"{recall(d[mask], t):.2f}" for d, t in columns)])
    return markdown_table(header, rows)


def false_match_table(ev: Evaluation) -> str:
    """Per hash type and threshold: false matches against random codes and different images."""
    rows = []
    for kind, check in ev.random.items():
        for t in THRESHOLDS[kind]:
            rate, exact, hit = check.per_comparison[t], check.exact[t], check.per_lookup[t]
            pairs = f"{int(np.sum(ev.cross[kind] <= t))} / {ev.cross[kind].size}"
            mark = "chosen" if ev.chosen[kind] == t else ""
            rows.append([kind, t, f"{rate:.2e}", f"{exact:.2e}", f"{hit:.4f}", pairs, mark])
    header = ["hash", "t", "random, measured", "random, exact", "lookups hit", "image pairs", ""]
    return markdown_table(header, rows)


def closest_pairs_table(ev: Evaluation) -> str:
    """How close different images come, per hash type."""
    rows = [
        [kind, d.size, int(d.min()), *(f"{np.percentile(d, p):.0f}" for p in (0.1, 1, 50))]
        for kind, d in ev.cross.items()
    ]
    return markdown_table(["hash", "pairs", "min", "0.1 %", "1 %", "median"], rows)


def quality_report(study: Study) -> str:
    """Which originals, and how many copies, have a PDQ quality below 50."""
    names, qualities = study.names, study.quality[:, 0]
    low = [f"{n} ({q})" for n, q in zip(names, qualities, strict=True) if q < PDQ_MIN_QUALITY]
    copies = int(np.sum(study.quality < PDQ_MIN_QUALITY))
    return (
        f"PDQ quality < {PDQ_MIN_QUALITY}: {len(low)} of {len(names)} originals"
        f"{' (' + ', '.join(low) + ')' if low else ''}; {copies} of {study.quality.size} hashes"
    )
