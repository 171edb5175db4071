"""Every signal type passes one contract; PDQ's hex form is the reference implementation's."""

from __future__ import annotations

import hashlib
from io import BytesIO

import numpy as np
import pytest
from PIL import Image, ImageDraw

from classifiers.signals import SIGNAL_TYPES, Pdq, SignalRegistry, SignalType
from classifiers.signals.perceptual import WORKING_SIDE


def scene(seed: int, size: tuple[int, int] = (320, 240)) -> Image.Image:
    """Random rectangles and discs on a gradient: a synthetic picture with structure."""
    rng = np.random.default_rng(seed)
    width, height = size
    ramp = np.linspace(0, 255, width, dtype=np.float64)
    pixels = np.stack([np.tile(ramp, (height, 1))] * 3, axis=-1)
    pixels[..., rng.integers(0, 3)] = 255 - pixels[..., 0]
    image = Image.fromarray(pixels.astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(12):
        x, y = int(rng.integers(0, width - 40)), int(rng.integers(0, height - 40))
        w, h = int(rng.integers(20, 120)), int(rng.integers(20, 90))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        (draw.rectangle if rng.random() < 0.5 else draw.ellipse)([x, y, x + w, y + h], fill=colour)
    return image


def png(image: Image.Image) -> bytes:
    buffer = BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture(params=list(SIGNAL_TYPES), ids=list(SIGNAL_TYPES))
def signal(request: pytest.FixtureRequest) -> type[SignalType]:
    return SIGNAL_TYPES[request.param]


def sample(signal: type[SignalType], seed: int = 1) -> str:
    image = scene(seed)
    if signal.perceptual:
        return signal.hash_image(image).hex  # type: ignore[attr-defined]
    return signal.hash_bytes(png(image)).hex  # type: ignore[attr-defined]


# The contract every signal type passes.


def test_hash_is_normalized_hex_of_the_declared_width(signal: type[SignalType]) -> None:
    value = sample(signal)
    assert len(value) == signal.bits // 4 == signal.hex_digits()
    assert signal.normalize(value) == value
    assert signal.normalize(f"  {value.upper()} ") == value


def test_normalize_refuses_wrong_length_and_non_hex(signal: type[SignalType]) -> None:
    value = sample(signal)
    with pytest.raises(ValueError, match="hex digits"):
        signal.normalize(value[:-1])
    with pytest.raises(ValueError, match="not hexadecimal"):
        signal.normalize("z" + value[1:])
    with pytest.raises(ValueError):
        signal.normalize("")


def test_distance_is_zero_to_itself_symmetric_and_positive_to_another(
    signal: type[SignalType],
) -> None:
    a, b = sample(signal, 1), sample(signal, 2)
    assert signal.distance(a, a) == 0
    assert signal.distance(a, b) == signal.distance(b, a) > 0
    assert signal.distance(a, b) <= signal.bits


def test_hashing_is_deterministic(signal: type[SignalType]) -> None:
    assert sample(signal, 3) == sample(signal, 3)


def test_registry_finds_types_by_name_in_any_case() -> None:
    assert SIGNAL_TYPES.get_type(" PDQ ") is Pdq
    assert [t.name for t in SIGNAL_TYPES.files()] == ["sha256", "md5", "sha1"]
    assert [t.name for t in SIGNAL_TYPES.images()] == ["phash", "dhash", "pdq"]
    with pytest.raises(ValueError, match="unknown hash type 'tlsh'"):
        SIGNAL_TYPES.get_type("tlsh")


def test_registry_refuses_two_types_with_one_name() -> None:
    class Another(Pdq):
        pass

    with pytest.raises(ValueError, match="two signal types are named 'pdq'"):
        SignalRegistry([Pdq, Another])


def test_exact_digests_are_hashlib() -> None:
    data = png(scene(4))
    assert SIGNAL_TYPES["sha256"].hash_bytes(data).hex == hashlib.sha256(data).hexdigest()  # type: ignore[attr-defined]
    assert SIGNAL_TYPES["md5"].hash_bytes(data).hex == hashlib.md5(data).hexdigest()  # type: ignore[attr-defined]


def test_perceptual_values_accept_the_0x_prefix() -> None:
    value = sample(Pdq)
    assert Pdq.normalize("0x" + value) == value


def test_low_quality_pdq_is_not_matchable() -> None:
    flat = Pdq.hash_image(Image.new("RGB", (200, 200), (90, 90, 90)))
    rich = Pdq.hash_image(scene(5))
    assert flat.quality is not None and flat.quality < 50
    assert not Pdq.matchable(flat)
    assert Pdq.matchable(rich)


# PDQ's hex form, proven against an independent implementation of the published algorithm.


def _box(values: np.ndarray, window: int, axis: int) -> np.ndarray:
    """PDQ's 1-D box filter: a centred moving mean whose window is clipped at the edges."""
    half = (window + 2) // 2
    before, after = window - half, half - 1
    moved = np.moveaxis(values, axis, 0)
    padded = np.concatenate([np.zeros((1, *moved.shape[1:])), np.cumsum(moved, axis=0)])
    n = moved.shape[0]
    lo = np.clip(np.arange(n) - before, 0, n)
    hi = np.clip(np.arange(n) + after + 1, 0, n)
    shape = (-1,) + (1,) * (moved.ndim - 1)
    mean = (padded[hi] - padded[lo]) / (hi - lo).reshape(shape)
    return np.moveaxis(mean, 0, axis)


def reference_pdq_bits(image: Image.Image) -> np.ndarray:
    """Bits k = 16*i + j of the 16x16 DCT block above its median, as Meta's PDQ paper describes."""
    rgb = np.asarray(image.convert("RGB"), dtype=np.float64)
    luma = rgb @ np.array([0.299, 0.587, 0.114])
    for axis in (0, 1):
        window = (luma.shape[axis] + 2 * 64 - 1) // (2 * 64)
        for _ in range(2):  # the Jarosz filter: two box passes
            luma = _box(luma, window, axis)
    rows = ((np.arange(64) + 0.5) * luma.shape[0] / 64).astype(int)
    cols = ((np.arange(64) + 0.5) * luma.shape[1] / 64).astype(int)
    block = luma[np.ix_(rows, cols)]
    i, j = np.arange(1, 17)[:, None], np.arange(64)[None, :]
    dct = np.sqrt(2 / 64) * np.cos(np.pi / 128 * i * (2 * j + 1))
    coefficients = (dct @ block @ dct.T).ravel()
    return (coefficients > np.median(coefficients)).astype(np.uint8)


def reference_hex(bits: np.ndarray) -> str:
    """The reference `toHexString`: word 15 first, each word's bit 15 first, so bit 255 leads."""
    return np.packbits(bits[::-1]).tobytes().hex()


@pytest.mark.parametrize("seed", [11, 12, 13, 14])
def test_pdq_hex_is_the_reference_implementations_form(seed: int) -> None:
    image = scene(seed, (WORKING_SIDE, WORKING_SIDE * 3 // 4))
    ours = Pdq.hash_image(image).hex
    bits = reference_pdq_bits(image)
    assert ours == reference_hex(bits)  # bit for bit: same algorithm, same hex form
    # The other plausible orders are far away: the test can tell them apart.
    assert Pdq.distance(ours, np.packbits(bits).tobytes().hex()) > 60
    assert (
        Pdq.distance(ours, reference_hex(np.ascontiguousarray(bits.reshape(16, 16).T).ravel())) > 60
    )


def jpeg(image: Image.Image, quality: int = 85) -> bytes:
    buffer = BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


@pytest.mark.parametrize("seed", [21, 22, 23])
def test_our_reduced_decoding_stays_near_full_size_hashes(seed: int) -> None:
    """Partners hash full-size pictures; our faster path must land within a few bits of them."""
    import imagehash
    import pdqhash

    from classifiers.hashing import hash_media
    from classifiers.signals.perceptual import bits_to_hex

    data = jpeg(scene(seed, (1024, 768)))
    full = Image.open(BytesIO(data)).convert("RGB")
    ours = hash_media(data)
    assert imagehash.hex_to_hash(ours.phash) - imagehash.phash(full) <= 4
    assert imagehash.hex_to_hash(ours.dhash) - imagehash.dhash(full) <= 4
    reference = bits_to_hex(pdqhash.compute(np.asarray(full))[0])
    assert Pdq.distance(ours.pdq or "", reference) <= 16
