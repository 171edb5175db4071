"""Hashes of one media file: exact digests for list exchange, perceptual hashes for near copies.

Decoding is bounded: Pillow refuses images above `MAX_PIXELS` (decompression bombs) and a broken
file yields a result with `error` set instead of an exception.
"""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import asdict, dataclass
from io import BytesIO
from typing import Any

import imagehash
import numpy as np
from PIL import Image, ImageOps

MAX_PIXELS = 64_000_000
PDQ_SIDE = 512


@dataclass(frozen=True, slots=True)
class MediaHashes:
    sha256: str
    md5: str
    sha1: str
    size: int
    phash: str | None = None
    dhash: str | None = None
    pdq: str | None = None
    pdq_quality: int | None = None
    mime: str | None = None
    width: int | None = None
    height: int | None = None
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def digests(data: bytes) -> tuple[str, str, str]:
    return (
        hashlib.sha256(data).hexdigest(),
        hashlib.md5(data, usedforsecurity=False).hexdigest(),
        hashlib.sha1(data, usedforsecurity=False).hexdigest(),
    )


def hash_media(data: bytes, *, max_pixels: int = MAX_PIXELS) -> MediaHashes:
    """Exact digests always; perceptual hashes when the bytes decode as an image."""
    sha256, md5, sha1 = digests(data)
    try:
        image, mime = _decode(data, max_pixels)
    except ImageRefused as exc:
        return MediaHashes(sha256, md5, sha1, len(data), error=str(exc))
    try:
        phash = str(imagehash.phash(image))
        dhash = str(imagehash.dhash(image))
        pdq, quality = _pdq(image)
    except (OSError, ValueError) as exc:
        return MediaHashes(
            sha256, md5, sha1, len(data), mime=mime, error=f"image could not be hashed: {exc}"
        )
    return MediaHashes(
        sha256,
        md5,
        sha1,
        len(data),
        phash=phash,
        dhash=dhash,
        pdq=pdq,
        pdq_quality=quality,
        mime=mime,
        width=image.width,
        height=image.height,
    )


class ImageRefused(ValueError):
    """The bytes are not an image we will decode (corrupt, truncated, too many pixels)."""


def _decode(data: bytes, max_pixels: int) -> tuple[Image.Image, str | None]:
    image: Image.Image
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(BytesIO(data))
            mime = image.get_format_mimetype() if hasattr(image, "get_format_mimetype") else None
            if image.width * image.height > max_pixels:
                raise ImageRefused(
                    f"image has {image.width}x{image.height} pixels, over the limit of {max_pixels}"
                )
            if image.format == "JPEG":
                image.draft("RGB", (PDQ_SIDE, PDQ_SIDE))
            image.load()
    except ImageRefused:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageRefused(f"image refused as a decompression bomb: {exc}") from None
    except Exception as exc:  # Pillow raises many types for hostile files
        raise ImageRefused(f"not a decodable image: {type(exc).__name__}: {exc}") from None
    image = ImageOps.exif_transpose(image) or image
    if image.mode not in ("RGB", "L"):
        background = Image.new("RGB", image.size, (255, 255, 255))
        rgba = image.convert("RGBA")
        background.paste(rgba, mask=rgba.getchannel("A"))
        image = background
    return image, mime


def _pdq(image: Image.Image) -> tuple[str | None, int | None]:
    try:
        import pdqhash
    except ImportError:  # optional native extension
        return None, None
    rgb = image.convert("RGB")
    if max(rgb.size) > PDQ_SIDE:
        rgb.thumbnail((PDQ_SIDE, PDQ_SIDE))
    vector, quality = pdqhash.compute(np.asarray(rgb))
    bits = "".join("1" if bit else "0" for bit in vector)
    return f"{int(bits, 2):064x}", int(quality)
