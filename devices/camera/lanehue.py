"""Whether a change on a fire lane keeps the colours round it, as exposure artefacts do."""

from __future__ import annotations

import cv2
import numpy as np

# An exposure artefact keeps its pixel's chromaticity within this of the colours round it;
# below a channel sum of `_DARK` chromaticity is noise.
_SLACK = 0.05
_DARK = 60.0
# 5 x 5: 4:2:0 compression smears colour over two pixels.
_ROUND = cv2.getStructuringElement(cv2.MORPH_RECT, (5, 5))
_SUM = np.ones((1, 3), np.float32)


def hue_kept(ref8: np.ndarray, image: np.ndarray) -> np.ndarray:
    """Where the frame's chromaticity (each channel's share of the sum) lies within the range
    of the reference's round it, give or take `_SLACK` (both BGR, the reference at the frame's
    exposure). Dark pixels pass: their shares are noise.

    A change of exposure, clipping and compression change how bright a pixel is, not its hue
    beyond what the paint and asphalt round it have; blue boxes on yellow hatching do.
    """
    ref = ref8.astype(np.float32)
    img = image.astype(np.float32)
    ref_sum = cv2.transform(ref, _SUM)
    img_sum = cv2.transform(img, _SUM)
    ref_c = ref / cv2.merge([cv2.max(ref_sum, 1.0)] * 3)
    img_c = img / cv2.merge([cv2.max(img_sum, 1.0)] * 3)
    lo = cv2.erode(ref_c, _ROUND) - _SLACK
    hi = cv2.dilate(ref_c, _ROUND) + _SLACK
    inside = ((img_c >= lo) & (img_c <= hi)).all(axis=2)
    return inside | (img_sum < _DARK) | (ref_sum < _DARK)
