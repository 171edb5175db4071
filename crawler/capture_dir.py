"""One capture written to a directory, as `hotline capture URL --out DIR` promises."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from crawler.capture import CaptureResult

EXTENSIONS = {
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "image/svg+xml": ".svg",
    "image/avif": ".avif",
    "image/bmp": ".bmp",
}


def write_capture_dir(result: CaptureResult, out: Path) -> dict[str, str]:
    """Write the artefacts and `capture.json` (with each artefact's sha256); return those hashes."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "images").mkdir(exist_ok=True)
    artefacts: dict[str, str] = {}

    def write(name: str, data: bytes) -> None:
        (out / name).write_bytes(data)
        artefacts[name] = hashlib.sha256(data).hexdigest()

    if result.screenshot:
        write("screenshot.png", result.screenshot)
    if result.html is not None:
        write("page.html", result.html.encode("utf-8", "replace"))
    if result.text is not None:
        write("page.txt", result.text.encode("utf-8", "replace"))
    if result.warc:
        write("capture.warc.gz", result.warc)
    for number, frame in enumerate(result.frames, 1):
        (out / "frames").mkdir(exist_ok=True)
        write(f"frames/{number:02d}.html", frame.html.encode("utf-8", "replace"))
    for image in result.images:
        sha256 = hashlib.sha256(image.data).hexdigest()
        kind = (image.content_type or "").split(";")[0].strip().lower()
        write(f"images/{sha256}{EXTENSIONS.get(kind, '.bin')}", image.data)
    manifest = result.manifest() | {"artefacts": artefacts}
    (out / "capture.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n")
    return artefacts
