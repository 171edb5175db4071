"""Nudity score with boxes: NudeNet's bundled detector (`320n.onnx`, installed with the `nudenet`
package, never downloaded) run by onnxruntime on the CPU, in batches.

Pictures are decoded by our bounded decoder, not by NudeNet's OpenCV reader, so a hostile file
meets the same pixel limit as everywhere else. Pre- and post-processing follow NudeNet 3.4:
pad to a square at the right and bottom, scale to 320, RGB / 255; keep rows whose best class
scores 0.2, class-agnostic non-maximum suppression at IoU 0.45 over those scoring 0.25.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from classifiers.decode import ImageRefused, decode
from classifiers.onnx_session import cpu_session

MODEL_NAME = "nudenet-320n"
INPUT_SIDE = 320
ROW_THRESHOLD = 0.2
NMS_SCORE = 0.25
NMS_IOU = 0.45
BATCH = 8
LABELS = (
    "FEMALE_GENITALIA_COVERED",
    "FACE_FEMALE",
    "BUTTOCKS_EXPOSED",
    "FEMALE_BREAST_EXPOSED",
    "FEMALE_GENITALIA_EXPOSED",
    "MALE_BREAST_EXPOSED",
    "ANUS_EXPOSED",
    "FEET_EXPOSED",
    "BELLY_COVERED",
    "FEET_COVERED",
    "ARMPITS_COVERED",
    "ARMPITS_EXPOSED",
    "FACE_MALE",
    "BELLY_EXPOSED",
    "MALE_GENITALIA_EXPOSED",
    "ANUS_COVERED",
    "FEMALE_BREAST_COVERED",
    "BUTTOCKS_COVERED",
)
# The detections that make a picture sexual; faces, feet and covered parts do not.
NUDE = frozenset(
    {
        "BUTTOCKS_EXPOSED",
        "FEMALE_BREAST_EXPOSED",
        "FEMALE_GENITALIA_EXPOSED",
        "MALE_GENITALIA_EXPOSED",
        "ANUS_EXPOSED",
    }
)


class DetectorUnavailable(RuntimeError):
    """The detector's model file is not installed; says where it was looked for."""


@dataclass(frozen=True, slots=True)
class NudityResult:
    score: float  # best score of a NUDE detection, 0 when none
    boxes: list[dict[str, Any]] = field(default_factory=list)  # label, score, box [x, y, w, h]
    width: int = 0
    height: int = 0
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"score": round(self.score, 4), "boxes": self.boxes}
        out |= {"width": self.width, "height": self.height}
        return out | ({"error": self.error} if self.error else {})


def model_path() -> Path:
    """`HOTLINE_NUDITY_MODEL`, else the file inside the installed `nudenet` package."""
    override = os.environ.get("HOTLINE_NUDITY_MODEL")
    if override:
        return Path(override)
    spec = importlib.util.find_spec("nudenet")
    if spec is None or not spec.submodule_search_locations:
        raise DetectorUnavailable("the nudenet package is not installed (pip install nudenet)")
    return Path(next(iter(spec.submodule_search_locations))) / "320n.onnx"


class NudityDetector:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path or model_path()
        if not self.path.is_file():
            raise DetectorUnavailable(f"nudity model not found at {self.path}")
        try:
            self.session = cpu_session(self.path)
        except Exception as exc:  # onnxruntime's own error types
            raise DetectorUnavailable(f"nudity model at {self.path} cannot be read: {exc}") from exc
        self.name = MODEL_NAME
        self.version = "3.4"

    def detect(self, images: list[bytes]) -> list[NudityResult]:
        """One result per image, in order; an undecodable image gives a result with `error`."""
        results: list[NudityResult | None] = [None] * len(images)
        ready: list[tuple[int, np.ndarray, int, int]] = []
        for i, data in enumerate(images):
            try:
                picture = decode(data, max_frames=1, draft_side=2 * INPUT_SIDE).first
            except ImageRefused as exc:
                results[i] = NudityResult(0.0, error=str(exc))
                continue
            ready.append((i, blob(picture), picture.width, picture.height))
        for start in range(0, len(ready), BATCH):
            chunk = ready[start : start + BATCH]
            (output,) = self.session.run(None, {"images": np.stack([c[1] for c in chunk])})
            for (i, _, width, height), rows in zip(chunk, output, strict=True):
                boxes = detections(rows, width, height)
                score = max((b["score"] for b in boxes if b["label"] in NUDE), default=0.0)
                results[i] = NudityResult(score, boxes, width, height)
        return [r if r is not None else NudityResult(0.0, error="not analysed") for r in results]


def blob(picture: Image.Image) -> np.ndarray:
    """The model's input for one RGB picture: padded square, 320 × 320, CHW, values 0-1."""
    side = max(picture.size)
    square = Image.new("RGB", (side, side))
    square.paste(picture, (0, 0))
    scaled = square.resize((INPUT_SIDE, INPUT_SIDE), Image.Resampling.BILINEAR)
    return np.asarray(scaled, dtype=np.float32).transpose(2, 0, 1) / 255.0


def detections(output: np.ndarray, width: int, height: int) -> list[dict[str, Any]]:
    """Boxes in the picture's pixels from one image's raw output (22 × anchors)."""
    rows = output.T
    scores = rows[:, 4:].max(axis=1)
    keep = scores >= ROW_THRESHOLD
    rows, scores = rows[keep], scores[keep]
    if not len(rows):
        return []
    classes = rows[:, 4:].argmax(axis=1)
    scale = max(width, height) / INPUT_SIDE
    x = (rows[:, 0] - rows[:, 2] / 2) * scale
    y = (rows[:, 1] - rows[:, 3] / 2) * scale
    x = np.clip(x, 0, width)
    y = np.clip(y, 0, height)
    w = np.minimum(rows[:, 2] * scale, width - x)
    h = np.minimum(rows[:, 3] * scale, height - y)
    boxes = np.stack([x, y, w, h], axis=1)
    return [
        {
            "label": LABELS[int(classes[i])],
            "score": round(float(scores[i]), 4),
            "box": [int(v) for v in boxes[i]],
        }
        for i in non_maximum_suppression(boxes, scores)
    ]


def non_maximum_suppression(boxes: np.ndarray, scores: np.ndarray) -> list[int]:
    """Indices kept, best first: a box overlapping a better one by IoU > NMS_IOU is dropped."""
    order = [int(i) for i in np.argsort(-scores, kind="stable") if scores[i] >= NMS_SCORE]
    kept: list[int] = []
    area = boxes[:, 2] * boxes[:, 3]
    for i in order:
        if kept:
            k = np.array(kept)
            left = np.maximum(boxes[i, 0], boxes[k, 0])
            top = np.maximum(boxes[i, 1], boxes[k, 1])
            right = np.minimum(boxes[i, 0] + boxes[i, 2], boxes[k, 0] + boxes[k, 2])
            bottom = np.minimum(boxes[i, 1] + boxes[i, 3], boxes[k, 1] + boxes[k, 3])
            inter = np.clip(right - left, 0, None) * np.clip(bottom - top, 0, None)
            union = area[i] + area[k] - inter
            # Two empty boxes count as the same box, as in OpenCV's NMSBoxes that NudeNet uses.
            iou = np.where(union > 0, inter / np.where(union > 0, union, 1), 1.0)
            if np.any(iou > NMS_IOU):
                continue
        kept.append(i)
    return kept
