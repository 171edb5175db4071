"""Media hashing on synthetic drawings: exact digests, perceptual hashes, bounded decoding."""

from __future__ import annotations

import hashlib
import re
import struct
import zlib
from io import BytesIO

import imagehash
import pytest
from PIL import Image, ImageDraw

from classifiers.hashing import MAX_PIXELS, hash_media

HEX16 = re.compile(r"^[0-9a-f]{16}$")
HEX64 = re.compile(r"^[0-9a-f]{64}$")
ORIENTATION = 0x0112


def drawing(size: tuple[int, int] = (160, 120)) -> Image.Image:
    """A gradient band, a disc and a block: asymmetric, so rotations hash differently."""
    width, height = size
    image = Image.new("RGB", size, (20, 40, 200))
    draw = ImageDraw.Draw(image)
    for x in range(width):
        shade = x * 255 // width
        draw.line([(x, 0), (x, height // 3)], fill=(shade, 80, 255 - shade))
    draw.ellipse(
        [width // 16, height * 5 // 12, width * 7 // 16, height * 11 // 12], fill=(250, 200, 0)
    )
    draw.rectangle([width * 5 // 8, height // 2, width * 15 // 16, height * 5 // 6], fill=(0, 0, 0))
    return image


def encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def distance(a: str, b: str) -> int:
    return imagehash.hex_to_hash(a) - imagehash.hex_to_hash(b)


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_claiming(width: int, height: int) -> bytes:
    """A few dozen bytes whose header claims a huge greyscale image."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + png_chunk(b"IEND", b"")
    )


@pytest.fixture(scope="module")
def png_bytes() -> bytes:
    return encode(drawing(), "PNG")


# --- digests and hash shapes -----------------------------------------------------------------


@pytest.mark.parametrize("data", [b"", b"not an image at all", bytes(range(256)) * 10])
def test_exact_digests_match_hashlib_for_any_bytes(data: bytes) -> None:
    result = hash_media(data)
    assert result.sha256 == hashlib.sha256(data).hexdigest()
    assert result.md5 == hashlib.md5(data).hexdigest()
    assert result.sha1 == hashlib.sha1(data).hexdigest()
    assert result.size == len(data)


def test_image_digests_match_hashlib(png_bytes: bytes) -> None:
    result = hash_media(png_bytes)
    assert (result.sha256, result.md5, result.sha1) == (
        hashlib.sha256(png_bytes).hexdigest(),
        hashlib.md5(png_bytes).hexdigest(),
        hashlib.sha1(png_bytes).hexdigest(),
    )


def test_perceptual_hashes_have_their_lengths(png_bytes: bytes) -> None:
    result = hash_media(png_bytes)
    assert result.error is None
    assert HEX16.match(result.phash or "")
    assert HEX16.match(result.dhash or "")
    assert HEX64.match(result.pdq or "")
    assert result.pdq_quality is not None and 0 <= result.pdq_quality <= 100
    assert (result.mime, result.width, result.height) == ("image/png", 160, 120)


def test_as_dict_carries_every_field(png_bytes: bytes) -> None:
    result = hash_media(png_bytes)
    as_dict = result.as_dict()
    assert as_dict["sha256"] == result.sha256
    assert as_dict["phash"] == result.phash
    assert as_dict["error"] is None


def test_hashing_is_deterministic(png_bytes: bytes) -> None:
    assert hash_media(png_bytes) == hash_media(png_bytes)


def test_different_drawings_have_different_phash() -> None:
    original = hash_media(encode(drawing(), "PNG"))
    mirrored = hash_media(encode(drawing().transpose(Image.Transpose.FLIP_LEFT_RIGHT), "PNG"))
    assert distance(original.phash or "", mirrored.phash or "") > 8


# --- near copies -----------------------------------------------------------------------------


@pytest.mark.parametrize("quality", [95, 75, 40])
def test_reencoded_jpeg_is_a_near_copy(png_bytes: bytes, quality: int) -> None:
    png = hash_media(png_bytes)
    jpeg = hash_media(encode(drawing(), "JPEG", quality=quality))
    assert jpeg.error is None
    assert jpeg.mime == "image/jpeg"
    assert jpeg.sha256 != png.sha256
    assert distance(png.phash or "", jpeg.phash or "") <= 8


def test_resized_copy_is_a_near_copy() -> None:
    small = hash_media(encode(drawing((160, 120)), "PNG"))
    large = hash_media(encode(drawing((640, 480)), "PNG"))
    assert distance(small.phash or "", large.phash or "") <= 8


# --- broken and hostile input ----------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"garbage" * 50,
        b"\x89PNG\r\n\x1a\n" + b"\x00" * 40,
        b"\xff\xd8\xff\xe0" + b"\x00" * 40,  # JPEG marker, nothing after
    ],
)
def test_garbage_bytes_give_an_error_not_an_exception(data: bytes) -> None:
    result = hash_media(data)
    assert result.error
    assert (result.phash, result.dhash, result.pdq) == (None, None, None)
    assert result.sha256 == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("fraction", [0.2, 0.5, 0.9])
def test_truncated_png_gives_an_error(png_bytes: bytes, fraction: float) -> None:
    truncated = png_bytes[: int(len(png_bytes) * fraction)]
    result = hash_media(truncated)
    assert result.error
    assert result.phash is None
    assert result.size == len(truncated)


def test_truncated_jpeg_gives_an_error() -> None:
    jpeg = encode(drawing((640, 480)), "JPEG", quality=90)
    result = hash_media(jpeg[: len(jpeg) // 2])
    assert result.error
    assert result.phash is None


def test_image_over_the_caller_pixel_limit_is_refused() -> None:
    result = hash_media(encode(Image.new("RGB", (100, 100), "white"), "PNG"), max_pixels=1000)
    assert result.error is not None
    assert "limit" in result.error
    assert "1000" in result.error
    assert "100x100" in result.error
    assert result.phash is None


def test_image_just_under_the_pixel_limit_is_hashed() -> None:
    result = hash_media(encode(Image.new("RGB", (10, 100), "white"), "PNG"), max_pixels=1000)
    assert result.error is None
    assert result.phash is not None


def test_header_over_the_default_limit_is_refused_before_decoding() -> None:
    result = hash_media(png_claiming(9000, 9000))  # 81 Mpx > MAX_PIXELS, below Pillow's bomb limit
    assert result.error is not None
    assert f"limit of {MAX_PIXELS}" in result.error
    assert "9000x9000" in result.error


def test_decompression_bomb_header_is_refused() -> None:
    bomb = png_claiming(100_000, 100_000)
    assert len(bomb) < 200
    result = hash_media(bomb)
    assert result.error is not None
    assert "limit" in result.error
    assert result.phash is None
    assert result.sha256 == hashlib.sha256(bomb).hexdigest()


# --- modes and orientation -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "fmt"),
    [
        ("RGBA", "PNG"),
        ("P", "PNG"),
        ("P", "GIF"),
        ("CMYK", "JPEG"),
        ("L", "PNG"),
        ("L", "JPEG"),
        ("LA", "PNG"),
        ("1", "PNG"),
        ("I;16", "PNG"),
    ],
)
def test_image_modes_hash_like_the_rgb_original(png_bytes: bytes, mode: str, fmt: str) -> None:
    original = hash_media(png_bytes)
    converted = hash_media(encode(drawing().convert(mode), fmt))
    assert converted.error is None
    assert HEX16.match(converted.phash or "")
    assert HEX16.match(converted.dhash or "")
    assert HEX64.match(converted.pdq or "")
    assert (converted.width, converted.height) == (160, 120)
    assert distance(original.phash or "", converted.phash or "") <= 8


def test_transparent_background_is_treated_as_white() -> None:
    on_white = Image.new("RGB", (120, 120), "white")
    on_clear = Image.new("RGBA", (120, 120), (0, 0, 0, 0))  # transparent *black*
    for image in (on_white, on_clear):
        draw = ImageDraw.Draw(image)
        draw.ellipse([10, 10, 70, 70], fill=(200, 0, 0, 255))
        draw.rectangle([60, 80, 110, 110], fill=(0, 0, 150, 255))
    white = hash_media(encode(on_white, "PNG"))
    clear = hash_media(encode(on_clear, "PNG"))
    assert clear.error is None
    assert clear.phash == white.phash
    assert clear.dhash == white.dhash


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_exif_orientation_is_applied(fmt: str) -> None:
    pixels = drawing()
    exif = Image.Exif()
    exif[ORIENTATION] = 6  # "rotate 90 degrees clockwise to display"
    tagged = hash_media(encode(pixels, fmt, exif=exif, quality=95))
    rotated = hash_media(encode(pixels.transpose(Image.Transpose.ROTATE_270), fmt, quality=95))
    untagged = hash_media(encode(pixels, fmt, quality=95))
    assert tagged.error is None
    assert (tagged.width, tagged.height) == (120, 160)
    assert distance(tagged.phash or "", rotated.phash or "") <= 2
    assert distance(tagged.phash or "", untagged.phash or "") > 8


def test_exif_orientation_gives_identical_phash_for_lossless_pixels() -> None:
    pixels = drawing()
    exif = Image.Exif()
    exif[ORIENTATION] = 6
    tagged = hash_media(encode(pixels, "PNG", exif=exif))
    rotated = hash_media(encode(pixels.transpose(Image.Transpose.ROTATE_270), "PNG"))
    assert tagged.phash == rotated.phash
    assert tagged.dhash == rotated.dhash
    assert tagged.pdq == rotated.pdq


def animation(frames: list[Image.Image], fmt: str = "GIF") -> bytes:
    buffer = BytesIO()
    frames[0].save(buffer, fmt, save_all=True, append_images=frames[1:], duration=100, loop=0)
    return buffer.getvalue()


def test_animation_frames_are_sampled_and_looked_up() -> None:
    first = drawing()
    other = first.transpose(Image.Transpose.ROTATE_180)
    frames = []
    for n, base in enumerate([first] * 5 + [other] * 5):
        frame = base.copy()
        ImageDraw.Draw(frame).point([(n, 0)], fill=(n * 20, 0, 0))  # GIF merges equal frames
        frames.append(frame)
    result = hash_media(animation(frames))
    assert result.error is None
    assert result.frames == 10
    frame_hashes = {(e.hash_type, e.value) for e in result.extra if e.label.startswith("frame")}
    alone = hash_media(encode(other.convert("P").convert("RGB"), "PNG"))
    # A listed picture that appears only later in the animation is still looked up.
    assert any(
        kind == "phash" and distance(value, alone.phash or "") <= 8 for kind, value in frame_hashes
    )
    assert ("phash", result.phash) not in frame_hashes  # the first frame is not repeated


def test_single_frame_images_have_no_extra_hashes(png_bytes: bytes) -> None:
    result = hash_media(png_bytes)
    assert result.frames == 1
    assert result.extra == ()


def test_dihedral_views_find_a_mirrored_copy() -> None:
    picture = drawing((320, 240))
    original = hash_media(encode(picture, "PNG"), dihedral=True)
    mirrored = hash_media(encode(picture.transpose(Image.Transpose.FLIP_LEFT_RIGHT), "PNG"))
    views = {e.label: e.value for e in original.extra if e.hash_type == "pdq"}
    assert len(views) == 7
    plain = distance(original.pdq or "", mirrored.pdq or "")
    nearest = min(distance(v, mirrored.pdq or "") for v in views.values())
    assert plain > 31  # a plain hash does not survive a mirror...
    assert nearest <= 8  # ...one of the seven views does


def test_lookups_list_every_hash_once(png_bytes: bytes) -> None:
    result = hash_media(png_bytes)
    kinds = [kind for kind, *_ in result.lookups()]
    assert kinds == ["sha256", "md5", "sha1", "phash", "dhash", "pdq"]


def test_cmyk_jpeg_is_hashed_like_rgb() -> None:
    picture = drawing()
    cmyk = hash_media(encode(picture.convert("CMYK"), "JPEG", quality=95))
    rgb = hash_media(encode(picture, "JPEG", quality=95))
    assert cmyk.error is None
    assert distance(cmyk.phash or "", rgb.phash or "") <= 6
