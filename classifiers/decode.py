"""Safe image decoding for hashing: bounded pixels and frames, orientation applied, one colour mode.

Hostile files are the norm here. Pillow is asked to refuse decompression bombs (a pixel limit,
checked from the header before any pixel is decoded), JPEGs are decoded at reduced scale when the
hashes do not need full size (DCT scaling in libjpeg, several times faster), animated images give a
few evenly spaced frames, and anything Pillow cannot read becomes `ImageRefused` with the reason.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from io import BytesIO

from PIL import Image, ImageOps

MAX_PIXELS = 64_000_000
MAX_FRAMES = 8  # sampled frames of an animation
MAX_FRAMES_SEEKED = 400  # frames of an animation walked through at most (GIF seeks are sequential)
ORIENTATION = 0x0112  # EXIF tag
HASH_SIDE = 256  # perceptual hashes downsample to 64x64 (PDQ) or less: 256 px is plenty


class ImageRefused(ValueError):
    """The bytes are not an image we will decode (corrupt, truncated, too many pixels)."""


@dataclass(frozen=True, slots=True)
class DecodedImage:
    """The frames to hash (RGB, orientation applied) and what the file said about itself."""

    frames: tuple[Image.Image, ...]
    mime: str | None
    width: int
    height: int
    frame_count: int

    @property
    def first(self) -> Image.Image:
        return self.frames[0]


def decode(
    data: bytes,
    *,
    max_pixels: int = MAX_PIXELS,
    max_frames: int = MAX_FRAMES,
    draft_side: int | None = HASH_SIDE,
) -> DecodedImage:
    """Decode `data` for hashing, or raise ImageRefused saying why not.

    A JPEG may come out as small as `draft_side` (None: full size, for reading text in it)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(BytesIO(data))
            mime = image.get_format_mimetype() if hasattr(image, "get_format_mimetype") else None
            width, height = image.size
            if width * height > max_pixels:
                raise ImageRefused(
                    f"image has {width}x{height} pixels, over the limit of {max_pixels}"
                )
            if image.getexif().get(ORIENTATION, 1) in (5, 6, 7, 8):  # shown turned a quarter
                width, height = height, width
            count = int(getattr(image, "n_frames", 1) or 1)
            if count > 1:
                frames = _sample_frames(image, count, max_frames, max_pixels)
            else:
                if image.format == "JPEG" and draft_side:
                    image.draft("RGB", (draft_side, draft_side))
                image.load()
                frames = [_to_rgb(image)]
    except ImageRefused:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageRefused(f"image refused as a decompression bomb: {exc}") from None
    except Exception as exc:  # Pillow raises many types for hostile files
        raise ImageRefused(f"not a decodable image: {type(exc).__name__}: {exc}") from None
    return DecodedImage(tuple(frames), mime, width, height, count)


def _sample_frames(
    image: Image.Image, count: int, wanted: int, max_pixels: int
) -> list[Image.Image]:
    """Evenly spaced frames, the first always; frames past MAX_FRAMES_SEEKED are not walked."""
    reachable = min(count, MAX_FRAMES_SEEKED)
    if reachable * image.width * image.height > 4 * max_pixels:
        reachable = max(1, (4 * max_pixels) // (image.width * image.height))
    step = max(1, reachable // max(1, wanted))
    picks = sorted({*range(0, reachable, step)})[:wanted]
    frames = []
    for index in picks:
        image.seek(index)
        image.load()
        frames.append(_to_rgb(image.copy()))
    return frames


def _to_rgb(image: Image.Image) -> Image.Image:
    """EXIF orientation applied; CMYK, palette, 16-bit and alpha flattened onto white."""
    image = ImageOps.exif_transpose(image) or image
    if image.mode == "RGB":
        return image
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", image.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        high = image.getextrema()[1]
        if isinstance(high, int | float) and high > 255:  # real 16-bit samples: keep the top byte
            image = image.point(lambda v: v * (255 / high)).convert("L")
    return image.convert("RGB")
