"""The hash robustness study's own code: image set, transforms, distances, rates, threshold rule."""

from __future__ import annotations

from io import BytesIO

import numpy as np
import pytest
from PIL import Image

from classifiers.hashing import hash_media
from notebooks import hash_study as hs


@pytest.fixture(scope="module")
def photos() -> dict[str, Image.Image]:
    return {s.name: s.image for s in hs.sample_photos()}


def distance(a: str, b: str) -> int:
    return int(hs.hamming(hs.to_words([a]), hs.to_words([b]))[0])


def test_image_set_is_deterministic_and_offline() -> None:
    first, again = hs.synthetic_images(4, seed=11), hs.synthetic_images(4, seed=11)
    assert [s.name for s in first] == ["shapes-00", "gradient-01", "text-02", "texture-03"]
    for a, b in zip(first, again, strict=True):
        assert a.image.size in hs.SIZES and a.image.mode == "RGB"
        assert np.array_equal(np.asarray(a.image), np.asarray(b.image))
    other = hs.synthetic_images(1, seed=12)[0]
    assert not np.array_equal(np.asarray(first[0].image), np.asarray(other.image))
    quick = hs.image_set(quick=True)
    assert [s.kind for s in quick].count("photo") == 4 and len(quick) == 12


def test_every_transform_yields_a_valid_image_of_the_expected_shape() -> None:
    image = hs.synthetic_images(1, seed=3)[0].image
    w, h = image.size
    for transform in hs.TRANSFORMS:
        data = transform(image)
        decoded = Image.open(BytesIO(data))
        decoded.load()
        assert decoded.format == ("JPEG" if transform.jpeg_quality else "PNG"), transform.name
        assert decoded.mode == "RGB", transform.name
        hashes = hash_media(data)
        assert hashes.error is None and hashes.pdq and hashes.phash, transform.name
    shapes = {t.name: Image.open(BytesIO(t(image))).size for t in hs.TRANSFORMS}
    assert shapes["identity (PNG)"] == (w, h)
    assert shapes["resize 0.5x"] == (round(w / 2), round(h / 2))
    cropped = (w - round(w * 0.1), h - round(h * 0.1))
    assert shapes["crop 10% centred"] == shapes["crop 10% top-left"] == cropped
    assert shapes["border 10% white"] == (w + 2 * round(w * 0.1), h + 2 * round(h * 0.1))
    assert shapes["rotate 90"] == (h, w)
    assert Image.open(BytesIO(hs.TRANSFORMS[0](image))).tobytes() == image.tobytes()


def test_jpeg_copy_stays_within_the_default_thresholds_and_another_photo_does_not(
    photos: dict[str, Image.Image],
) -> None:
    original = hash_media(hs.encode(photos["astronaut"]))
    copy = hash_media(hs.encode(photos["astronaut"], jpeg_quality=95))
    other = hash_media(hs.encode(photos["coffee"]))
    assert original.pdq_quality is not None and original.pdq_quality >= hs.PDQ_MIN_QUALITY
    for kind, threshold in hs.DEFAULTS.items():
        a, b, c = (getattr(h, kind) for h in (original, copy, other))
        assert distance(a, b) <= threshold, kind
        assert distance(a, c) > threshold, kind
    assert copy.sha256 != original.sha256  # the exact digest misses every re-encoded copy


def test_dihedral_views_find_a_mirrored_copy(photos: dict[str, Image.Image]) -> None:
    listed = hash_media(hs.encode(photos["chelsea"]))
    assert listed.pdq is not None
    names = [t.name for t in hs.TRANSFORMS]
    _sha256, _quality, views = hs.hash_sample(photos["chelsea"])[names.index("mirror")]
    assert distance(views["pdq"][0], listed.pdq) > hs.DEFAULTS["pdq"]
    assert min(distance(v, listed.pdq) for v in views["pdq"]) <= hs.DEFAULTS["pdq"]


def test_hamming_and_words_agree_with_python_integers() -> None:
    rng = np.random.default_rng(5)
    codes = [rng.bytes(32).hex() for _ in range(20)]
    words = hs.to_words(codes)
    assert words.shape == (20, 4) and words.dtype == np.uint64
    got = hs.hamming(words[:, None, :], words[None, :, :])
    want = [[(int(a, 16) ^ int(b, 16)).bit_count() for b in codes] for a in codes]
    assert got.tolist() == want


def tiny_study(rows: list[list[list[str]]], quality: int = 100) -> hs.Study:
    """A Study over hand-made 64-bit codes: rows[image][transform] = views of one copy."""
    n, t = len(rows), len(rows[0])
    codes = hs.to_words([v for image in rows for copy in image for v in copy])
    views = codes.reshape(n, t, -1, 1)
    return hs.Study(
        names=[f"i{k}" for k in range(n)],
        kinds=["synthetic"] * n,
        transforms=[f"t{k}" for k in range(t)],
        codes={"phash": views[:, :, :1], "phash+": views},
        quality=np.full((n, t), quality),
        sha256=np.array([[f"{i}-{j}" for j in range(t)] for i in range(n)]),
        hashing_s=0.0,
    )


def test_copy_and_cross_distances() -> None:
    zero, one_bit, far = "0" * 16, "0" * 15 + "1", "f" * 16
    study = tiny_study([[[zero, zero], [far, one_bit]], [[far, far], [far, far]]])
    assert hs.copy_distances(study, "phash").tolist() == [[0, 64], [0, 0]]
    assert hs.copy_distances(study, "phash+").tolist() == [[0, 1], [0, 0]]
    # copies of i0 against i1's original (all ones), and copies of i1 against i0's (zero)
    assert sorted(hs.cross_distances(study, "phash").tolist()) == [0, 64, 64, 64]


def test_random_check_matches_brute_force() -> None:
    study = tiny_study([[["0" * 16]], [["00000000ffffffff"]]])
    check = hs.random_check(study, "phash", n_codes=50_000, seed=3)
    codes = np.frombuffer(np.random.default_rng(3).bytes(50_000 * 8), dtype=np.uint64)
    queries = hs.to_words(["0" * 16, "00000000ffffffff"])[:, 0]
    dist = np.bitwise_count(codes[None, :] ^ queries[:, None]).astype(int)
    for t in hs.THRESHOLDS["phash"]:
        assert check.per_comparison[t] == pytest.approx(np.mean(dist <= t))
        assert check.per_lookup[t] == pytest.approx(np.mean(dist.min(axis=1) <= t))
    assert check.lookups == 2 and check.codes == 50_000
    assert hs.exact_random_rate(64, 64) == 1.0 and hs.exact_random_rate(64, 0) == 2.0**-64
    assert check.exact[10] == pytest.approx(hs.exact_random_rate(64, 10))


def test_threshold_rule_respects_random_rate_and_margin() -> None:
    grid = hs.THRESHOLDS["phash"]
    check = hs.RandomCheck(
        codes=1,
        lookups=1,
        per_comparison={t: hs.exact_random_rate(64, t) for t in grid},
        per_lookup={t: 0.0 for t in grid},
        exact={t: hs.exact_random_rate(64, t) for t in grid},
        seconds=0.0,
    )
    assert hs.choose_threshold("phash", check, np.array([30])) == 10  # 12 fails the random rate
    assert hs.choose_threshold("phash", check, np.array([12])) == 8  # 10 + 2 would reach 12
    assert hs.choose_threshold("phash", check, np.array([5])) is None


def test_tables_render() -> None:
    table = hs.markdown_table(["a", "bb"], [[1, 2.5], ["long cell", ""]])
    lines = table.splitlines()
    assert len(lines) == 4 and len({len(line) for line in lines}) == 1
    assert lines[1].startswith("|---")
