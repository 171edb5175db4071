"""Text in images: Tesseract (Debian's `tesseract-ocr` with `-rus`, `-kaz`) reads screenshots and
pictures so that a price list drawn as an image reaches the text model like any page text.

Without Tesseract, or without any of its rus/kaz/eng data, the signal is `unavailable` with the
reason: never an empty text passed off as "nothing found". Images are decoded by our bounded
decoder, cut to `MAX_SIDE`, and handed over as PNG on stdin under a time limit.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from io import BytesIO

from classifiers.decode import ImageRefused, decode

WANTED_LANGUAGES = ("rus", "kaz", "eng")
MAX_SIDE = 2400  # longer sides are cut (screenshots) or scaled (pictures)
MIN_SIDE = 24  # icons and spacers carry no text worth the time
TIMEOUT_S = 20.0


class OcrUnavailable(RuntimeError):
    """Tesseract or its language data is missing; the message says what to install."""


@dataclass(frozen=True, slots=True)
class OcrText:
    text: str
    languages: str
    error: str | None = None


def tesseract(binary: str | None = None) -> tuple[str, str]:
    """(path, "rus+kaz+eng" or the subset installed), or OcrUnavailable.

    `binary`, else `HOTLINE_TESSERACT`, else `tesseract` on the PATH."""
    path = binary or os.environ.get("HOTLINE_TESSERACT") or shutil.which("tesseract")
    if not path:
        raise OcrUnavailable(
            "tesseract is not installed (apt-get install tesseract-ocr tesseract-ocr-rus "
            "tesseract-ocr-kaz)"
        )
    return _probe(path)


@lru_cache(maxsize=8)
def _probe(path: str) -> tuple[str, str]:
    try:
        listed = subprocess.run(
            [path, "--list-langs"], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise OcrUnavailable(f"tesseract at {path} does not run: {exc}") from None
    installed = set(listed.stdout.split()) | set(listed.stderr.split())
    languages = [lang for lang in WANTED_LANGUAGES if lang in installed]
    if not languages:
        raise OcrUnavailable(
            f"tesseract at {path} has none of {', '.join(WANTED_LANGUAGES)} "
            "(apt-get install tesseract-ocr-rus tesseract-ocr-kaz)"
        )
    return path, "+".join(languages)


def read_text(data: bytes, *, timeout_s: float = TIMEOUT_S, binary: str | None = None) -> OcrText:
    """The text Tesseract reads in the image `data`; an image it cannot read gives `error`."""
    path, languages = tesseract(binary)
    try:
        image = decode(data, max_frames=1, draft_side=None).first
    except ImageRefused as exc:
        return OcrText("", languages, str(exc))
    if min(image.size) < MIN_SIDE:
        return OcrText("", languages, f"image {image.width}x{image.height} is too small to read")
    if image.height > MAX_SIDE:  # a long screenshot: its top is what a visitor sees first
        image = image.crop((0, 0, image.width, MAX_SIDE))
    if image.width > MAX_SIDE:
        image = image.resize((MAX_SIDE, max(1, image.height * MAX_SIDE // image.width)))
    png = BytesIO()
    image.save(png, format="PNG")
    env = dict(os.environ, OMP_THREAD_LIMIT="1")
    try:
        done = subprocess.run(
            [path, "stdin", "stdout", "-l", languages, "--psm", "3"],
            input=png.getvalue(),
            capture_output=True,
            timeout=timeout_s,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return OcrText("", languages, f"tesseract took longer than {timeout_s:g} s")
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        return OcrText(
            "", languages, f"tesseract failed: {message[-1] if message else done.returncode}"
        )
    return OcrText(done.stdout.decode("utf-8", "replace").strip(), languages)
