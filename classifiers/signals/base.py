"""One hash algorithm is one `SignalType`: its name, its hex form, how to hash, how to compare.

Modelled on python-threatexchange's SignalType so names and hex forms are the ones other hotlines
exchange. Exact digests hash the file's bytes; perceptual hashes hash a decoded image and are
compared by Hamming distance through a `HammingIndex`.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from PIL import Image

_HEX = re.compile(r"[0-9a-f]+")


def shown(value: object, limit: int = 40) -> str:
    """A value from a file, safe to print on an operator's terminal: short, no control codes."""
    text = str(value).strip()
    text = "".join(c if c.isprintable() else "?" for c in text[:limit])
    return text + ("…" if len(str(value).strip()) > limit else "")


@dataclass(frozen=True, slots=True)
class SignalValue:
    """A hash in its exchange (hex) form, with the algorithm's quality score when it has one."""

    hex: str
    quality: int | None = None


class SignalType(ABC):
    name: ClassVar[str]
    bits: ClassVar[int]
    perceptual: ClassVar[bool] = False
    # Below this quality a hash says too little about the image to be matched (PDQ: flat images).
    min_quality: ClassVar[int | None] = None

    @classmethod
    def hex_digits(cls) -> int:
        return cls.bits // 4

    @classmethod
    def normalize(cls, value: str) -> str:
        """Lower-case hex of the right length, or ValueError saying what is wrong."""
        text = value.strip().lower()
        if cls.perceptual and text.startswith("0x"):  # written as an integer; digests never are
            text = text[2:]
        expected = cls.hex_digits()
        if not _HEX.fullmatch(text):
            raise ValueError(
                f"{cls.name} value '{shown(value)}' is not hexadecimal "
                f"({expected} hex digits expected)"
            )
        if len(text) != expected:
            raise ValueError(
                f"{cls.name} value '{shown(value)}' must have {expected} hex digits, "
                f"got {len(text)}"
            )
        return text

    @classmethod
    def distance(cls, a: str, b: str) -> int:
        """Hamming distance for perceptual hashes; 0 or `bits` (different) for exact digests."""
        if not cls.perceptual:
            return 0 if a == b else cls.bits
        return (int(a, 16) ^ int(b, 16)).bit_count()

    @classmethod
    def matchable(cls, value: SignalValue) -> bool:
        return cls.min_quality is None or (value.quality or 0) >= cls.min_quality


class FileSignal(SignalType):
    """A digest of the bytes: matches only the identical file."""

    @classmethod
    @abstractmethod
    def hash_bytes(cls, data: bytes) -> SignalValue: ...


class ImageSignal(SignalType):
    """A perceptual hash of the picture: survives re-encoding, resizing and small edits."""

    perceptual = True

    @classmethod
    @abstractmethod
    def hash_image(cls, image: Image.Image) -> SignalValue:
        """Hash an RGB image already reduced to at most `WORKING_SIDE` pixels a side."""
