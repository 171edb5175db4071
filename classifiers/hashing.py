"""Hashes of one media file: exact digests for list exchange, perceptual hashes for near copies.

Decoding is bounded (see `classifiers.decode`); a broken file yields a result with `error` set
instead of an exception. Frames of an animation after the first, and optionally PDQ's rotations and
mirrors, are kept as `extra`: further hashes to look up, so a listed frame or a flipped copy is
still found.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from PIL import Image, ImageChops

from classifiers.decode import MAX_PIXELS, ImageRefused, decode
from classifiers.signals import SIGNAL_TYPES, WORKING_SIDE, Pdq, SignalValue

__all__ = ["MAX_PIXELS", "ExtraHash", "ImageRefused", "MediaHashes", "digests", "hash_media"]

DIHEDRAL_LABELS = ("r90", "r180", "r270", "flip-v", "flip-h", "r90-flip-v", "r90-flip-h")


@dataclass(frozen=True, slots=True)
class ExtraHash:
    """One more perceptual hash of the same file: another frame, or a rotated/mirrored view."""

    hash_type: str
    value: str
    label: str
    quality: int | None = None


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
    frames: int | None = None
    extra: tuple[ExtraHash, ...] = field(default_factory=tuple)
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def lookups(self) -> list[tuple[str, str, int | None, str | None]]:
        """Every (hash type, value, quality, view) to look up; view None is the file itself."""
        found: list[tuple[str, str, int | None, str | None]] = [
            ("sha256", self.sha256, None, None),
            ("md5", self.md5, None, None),
            ("sha1", self.sha1, None, None),
        ]
        for kind, value in (("phash", self.phash), ("dhash", self.dhash)):
            if value:
                found.append((kind, value, None, None))
        if self.pdq:
            found.append(("pdq", self.pdq, self.pdq_quality, None))
        found.extend((e.hash_type, e.value, e.quality, e.label) for e in self.extra)
        return found


def digests(data: bytes) -> tuple[str, str, str]:
    sha256, md5, sha1 = (SIGNAL_TYPES[name] for name in ("sha256", "md5", "sha1"))
    return (
        sha256.hash_bytes(data).hex,  # type: ignore[attr-defined]
        md5.hash_bytes(data).hex,  # type: ignore[attr-defined]
        sha1.hash_bytes(data).hex,  # type: ignore[attr-defined]
    )


def hash_media(data: bytes, *, max_pixels: int = MAX_PIXELS, dihedral: bool = False) -> MediaHashes:
    """Exact digests always; perceptual hashes when the bytes decode as an image."""
    sha256, md5, sha1 = digests(data)
    try:
        decoded = decode(data, max_pixels=max_pixels)
    except ImageRefused as exc:
        return MediaHashes(sha256, md5, sha1, len(data), error=str(exc))
    try:
        working = _working(decoded.first)
        # PDQ's eight views come from one pass; the first of them is the plain hash.
        views = Pdq.hash_dihedral(working) if dihedral else []
        first = _perceptual(working, pdq=views[0] if views else None)
        extra = [
            ExtraHash(kind, value, f"frame {n}", quality)
            for n, frame in enumerate(decoded.frames[1:], start=1)
            for kind, (value, quality) in _perceptual(frame).items()
        ]
        trimmed = trim_border(working)
        if trimmed is not None:
            extra.extend(
                ExtraHash(kind, value, "border trimmed", quality)
                for kind, (value, quality) in _perceptual(trimmed).items()
            )
        if views:
            extra.extend(
                ExtraHash("pdq", view.hex, label, view.quality)
                for view, label in zip(views[1:], DIHEDRAL_LABELS, strict=True)
            )
    except (OSError, ValueError) as exc:
        return MediaHashes(
            sha256,
            md5,
            sha1,
            len(data),
            mime=decoded.mime,
            error=f"image could not be hashed: {exc}",
        )
    return MediaHashes(
        sha256,
        md5,
        sha1,
        len(data),
        phash=first["phash"][0],
        dhash=first["dhash"][0],
        pdq=first["pdq"][0],
        pdq_quality=first["pdq"][1],
        mime=decoded.mime,
        width=decoded.width,
        height=decoded.height,
        frames=decoded.frame_count,
        extra=tuple(_unique(extra, first)),
    )


def trim_border(image: Image.Image, *, tolerance: int = 24) -> Image.Image | None:
    """The picture inside a uniform frame or padding, or None when there is none to remove.

    Borders and letterboxing move every perceptual hash far away; hashing the framed picture too
    lets a bordered copy meet its original. The frame's colour is the top-left corner's.
    """
    rgb = image.convert("RGB")
    background = Image.new("RGB", rgb.size, rgb.getpixel((0, 0)))
    difference = ImageChops.difference(rgb, background).convert("L")
    box = difference.point(lambda v: 255 if v > tolerance else 0).getbbox()
    if box is None:
        return None
    left, top, right, bottom = box
    width, height = rgb.size
    if (right - left) * (bottom - top) > 0.97 * width * height:
        return None  # under 3 % of the area: not a frame, or not worth another lookup
    if right - left < 16 or bottom - top < 16:
        return None
    return rgb.crop(box)


def _working(image: Image.Image) -> Image.Image:
    if max(image.size) <= WORKING_SIDE:
        return image
    small = image.copy()
    small.thumbnail((WORKING_SIDE, WORKING_SIDE), Image.Resampling.BILINEAR)
    return small


def _perceptual(
    image: Image.Image, *, pdq: SignalValue | None = None
) -> dict[str, tuple[str, int | None]]:
    small = _working(image)
    found = {}
    for kind in SIGNAL_TYPES.images():
        value = pdq if kind is Pdq and pdq is not None else kind.hash_image(small)
        found[kind.name] = (value.hex, value.quality)
    return found


def _unique(extra: list[ExtraHash], first: dict[str, tuple[str, int | None]]) -> list[ExtraHash]:
    """Drop frames that hash like the first one or like each other: nothing new to look up."""
    seen = {(kind, value) for kind, (value, _) in first.items()}
    kept = []
    for item in extra:
        if (item.hash_type, item.value) not in seen:
            seen.add((item.hash_type, item.value))
            kept.append(item)
    return kept
