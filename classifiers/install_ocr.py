"""Find Tesseract with Russian and Kazakh data for reading text in images, or install Debian's
packages when running as root. OCR is optional: without it the signal is marked unavailable, so
this always exits 0 and says which it is.

Run as `python -m classifiers.install_ocr`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

from classifiers.ocr import OcrUnavailable, _probe, tesseract

PACKAGES = ("tesseract-ocr", "tesseract-ocr-rus", "tesseract-ocr-kaz", "tesseract-ocr-eng")


def _found() -> str | None:
    _probe.cache_clear()
    try:
        path, languages = tesseract()
    except OcrUnavailable:
        return None
    return f"{path} ({languages})"


def main() -> int:
    found = _found()
    missing = found is None or not found.endswith("(rus+kaz+eng)")
    if missing and shutil.which("apt-get") and os.geteuid() == 0:
        print("installing Tesseract with Russian, Kazakh and English data…")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        command = ["apt-get", "install", "-y", "-qq", *PACKAGES]
        if subprocess.run(command, env=env, check=False).returncode != 0:
            subprocess.run(["apt-get", "update", "-qq"], env=env, check=False)
            subprocess.run(command, env=env, check=False)
        found = _found()
    if found:
        print(f"Tesseract: {found}")
    else:
        print(
            f"Tesseract: not installed; text in images will be marked unavailable "
            f"(apt-get install {' '.join(PACKAGES)})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
