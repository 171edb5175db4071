"""The nudity detector: NudeNet's bundled model, our decoding, NudeNet's own post-processing.

No test picture shows a person: the post-processing is proven equal to NudeNet's on synthetic
raw outputs, and the whole detector runs on drawn shapes."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw

from classifiers.nudity import LABELS, NudityDetector, detections, non_maximum_suppression

nudenet = pytest.importorskip("nudenet.nudenet")


def _raw_output(seed: int, anchors: int = 2100) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = np.zeros((22, anchors), np.float32)
    out[:4] = rng.uniform(10, 330, (4, anchors))
    out[4:] = rng.uniform(0, 0.3, (18, anchors))
    for _ in range(80):
        out[4 + rng.integers(18), rng.integers(anchors)] = rng.uniform(0.3, 0.99)
    return out


@pytest.mark.parametrize(("seed", "width", "height"), [(1, 400, 600), (2, 800, 300), (3, 320, 320)])
def test_post_processing_equals_nudenets(seed: int, width: int, height: int) -> None:
    out = _raw_output(seed)
    side = max(width, height)
    theirs = nudenet._postprocess(
        [out[None]], side - width, side - height, 1.0, 1.0, width, height, 320, 320
    )
    ours = detections(out, width, height)
    assert len(ours) > 10
    assert sorted((d["label"], d["score"], d["box"]) for d in ours) == sorted(
        (d["class"], round(d["score"], 4), d["box"]) for d in theirs
    )
    assert tuple(nudenet.__labels) == LABELS


def test_suppression_keeps_the_best_of_overlapping_boxes() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 1, 10, 10], [50, 50, 5, 5]], np.float32)
    assert non_maximum_suppression(boxes, np.array([0.5, 0.9, 0.3], np.float32)) == [1, 2]


def _picture(seed: int, fmt: str = "PNG") -> bytes:
    image = Image.new("RGB", (500 + seed * 40, 360), (40 * seed % 255, 120, 200))
    ImageDraw.Draw(image).ellipse((50, 40, 300, 300), fill=(230, 190, 150))
    out = io.BytesIO()
    image.save(out, fmt)
    return out.getvalue()


def test_detector_scores_pictures_in_order_and_reports_bad_files() -> None:
    detector = NudityDetector()
    pictures = [_picture(i, "JPEG" if i % 2 else "PNG") for i in range(10)]
    results = detector.detect([*pictures[:5], b"not a picture", *pictures[5:]])
    assert len(results) == 11
    assert results[5].error and "not a decodable image" in results[5].error
    for result in results[:5] + results[6:]:
        assert result.error is None and 0.0 <= result.score <= 1.0
        assert result.width >= 500 and result.height == 360
        for box in result.boxes:
            x, y, w, h = box["box"]
            assert 0 <= x <= result.width and 0 <= y <= result.height and w >= 0 and h >= 0
    again = detector.detect(pictures[:1])
    assert again[0].as_dict() == results[0].as_dict()
