"""Segmenting only the rectangles that cover the region of interest gives the whole box's mask
there, and its background round every pixel the shake test compares."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from devices.camera.segment import make_segmenter
from devices.camera.tiles import Covered, cover

H, W = 200, 160


def _roi() -> np.ndarray:
    """A tilted facade with a tree masked out of its lower left and sky above: a box of which
    well under nine tenths is looked at."""
    roi = np.zeros((H, W), np.uint8)
    cv2.fillPoly(roi, [np.array([[20, 10], [150, 30], [140, 195], [10, 180]], np.int32)], 255)
    cv2.circle(roi, (25, 170), 30, 0, -1)
    return roi


def test_the_rectangles_hold_the_region_and_its_neighbourhood_and_little_else() -> None:
    roi = _roi()
    inside = np.zeros((H, W), bool)
    for y0, y1, x0, x1 in cover(roi):
        inside[y0:y1, x0:x1] = True
    grown = cv2.dilate(roi, np.ones((3, 3), np.uint8)) > 0
    assert inside[grown].all()
    assert inside.sum() < 0.9 * H * W


@pytest.mark.parametrize("method", ["mog2", "gaussian"])
def test_the_mask_and_background_inside_the_region_are_the_whole_boxs(method: str) -> None:
    # Noisy coloured wall, a light switching on, a small object crossing the facade: every
    # frame's mask must equal one model over the whole box wherever the region is, and the
    # background wherever the shake test looks (the region and one pixel round it).
    rng = np.random.default_rng(7)
    roi = _roi()
    grown = cv2.dilate(roi, np.ones((3, 3), np.uint8)) > 0
    whole = make_segmenter(method, 16.0)  # type: ignore[arg-type]
    parts = Covered(lambda: make_segmenter(method, 16.0), roi)  # type: ignore[arg-type]
    assert len(parts.rects) > 1
    wall = rng.integers(60, 200, (H, W, 3)).astype(np.float64)
    for i in range(120):
        frame = wall + rng.normal(0.0, 3.0, wall.shape)
        if i >= 60:
            frame[90:110, 70:90] += 60  # a window lit
        y = 20 + i
        frame[y : y + 5, 100:105] = (20, 40, 220)  # a small blue object falling
        image = np.clip(frame, 0, 255).astype(np.uint8)
        a, b = whole.apply(image), parts.apply(image)
        assert np.array_equal(a[roi > 0], b[roi > 0]), i
    bg_whole, bg_parts = whole.background(), parts.background()
    assert bg_whole is not None and bg_parts is not None
    assert np.array_equal(bg_whole[grown], bg_parts[grown])
