"""Perceptual hashes: pHash and dHash (64 bits, imagehash) and PDQ (256 bits, Meta's format).

PDQ's hex form is the reference implementation's `toHexString` (word 15 first, most significant
bit first), which is also what python-threatexchange and HMA print: `pdqhash` returns the bits
most significant first, so joining them in order gives that form.
"""

from __future__ import annotations

import imagehash
import numpy as np
from PIL import Image

from classifiers.signals.base import ImageSignal, SignalValue

WORKING_SIDE = 384  # images are reduced to this before hashing: PDQ differs from full size by
# no more than at 512 (measured: mean 4.8 bits, max 10, on 1024x768 JPEGs) and runs 1.5x faster
GREY_SIDE = 128  # pHash/dHash shrink to 32x32 and 9x8: from 128 px it differs by < 1 bit on average


def _grey(image: Image.Image) -> Image.Image:
    """Greyscale, box-reduced while the short side stays >= GREY_SIDE: 2x faster, same hash."""
    grey = image.convert("L")
    factor = min(grey.size) // GREY_SIDE
    return grey.reduce(factor) if factor > 1 else grey


class PHash(ImageSignal):
    name = "phash"
    bits = 64

    @classmethod
    def hash_image(cls, image: Image.Image) -> SignalValue:
        return SignalValue(str(imagehash.phash(_grey(image))))


class DHash(ImageSignal):
    name = "dhash"
    bits = 64

    @classmethod
    def hash_image(cls, image: Image.Image) -> SignalValue:
        return SignalValue(str(imagehash.dhash(_grey(image))))


class Pdq(ImageSignal):
    name = "pdq"
    bits = 256
    min_quality = 50  # Meta's recommendation: below 50 the image is too flat to match on

    @classmethod
    def hash_image(cls, image: Image.Image) -> SignalValue:
        import pdqhash

        vector, quality = pdqhash.compute(np.asarray(image.convert("RGB")))
        return SignalValue(bits_to_hex(vector), int(quality))

    @classmethod
    def hash_dihedral(cls, image: Image.Image) -> list[SignalValue]:
        """The 8 rotations and mirrors in one pass: original, r90, r180, r270, fv, fh, ..."""
        import pdqhash

        vectors, quality = pdqhash.compute_dihedral(np.asarray(image.convert("RGB")))
        return [SignalValue(bits_to_hex(vector), int(quality)) for vector in vectors]


def bits_to_hex(vector: np.ndarray) -> str:
    """A 0/1 vector, most significant bit first, as lower-case hex."""
    packed = np.packbits(np.asarray(vector, dtype=np.uint8))
    return packed.tobytes().hex()
