"""Text in images: read by Tesseract when installed, marked unavailable when not."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from classifiers.ocr import OcrUnavailable, read_text, tesseract

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def _poster(lines: list[str]) -> bytes:
    image = Image.new("RGB", (1000, 80 + 70 * len(lines)), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(str(FONT), 40)
    for i, line in enumerate(lines):
        draw.text((30, 30 + 70 * i), line, fill="black", font=font)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def _installed() -> bool:
    try:
        tesseract()
    except OcrUnavailable:
        return False
    return FONT.is_file()


@pytest.mark.skipif(not _installed(), reason="tesseract or the DejaVu font is not installed")
def test_reads_russian_kazakh_and_english() -> None:
    found = read_text(_poster(["Прайс на закладки", "Қазақстан әділет", "price list"]))
    assert found.error is None and found.languages.startswith("rus")
    words = found.text.casefold()
    for word in ("прайс", "закладки", "қазақстан", "әділет", "price"):
        assert word in words, found.text


@pytest.mark.skipif(not _installed(), reason="tesseract is not installed")
def test_a_bad_or_tiny_image_gives_an_error_not_a_crash() -> None:
    assert "not a decodable image" in (read_text(b"\x89PNG broken").error or "")
    tiny = io.BytesIO()
    Image.new("RGB", (8, 8)).save(tiny, "PNG")
    assert "too small" in (read_text(tiny.getvalue()).error or "")


def test_without_tesseract_the_signal_is_unavailable(tmp_path: Path) -> None:
    with pytest.raises(OcrUnavailable, match=r"does not run|not installed"):
        read_text(_poster(["x"]) if FONT.is_file() else b"", binary=str(tmp_path / "none"))
