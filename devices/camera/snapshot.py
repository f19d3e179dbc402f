"""JPEG snapshots with the evidence drawn on, small enough for the event payload limit."""

from __future__ import annotations

import base64
from collections.abc import Sequence

import cv2
import numpy as np

from devices.camera.models import SNAPSHOT_MAX_CHARS

# Tried in order until the base64 text fits: width first, quality second, because a smaller
# sharp image is more useful to an operator than a large blocky one.
_STEPS: tuple[tuple[int, int], ...] = (
    (640, 75),
    (640, 60),
    (480, 60),
    (480, 45),
    (320, 50),
    (320, 30),
    (240, 25),
)


class SnapshotTooLargeError(RuntimeError):
    """Even the smallest JPEG does not fit the contract's limit."""


def draw_track(
    image: np.ndarray,
    points: Sequence[tuple[float, float]],
    color: tuple[int, int, int] = (0, 0, 255),
) -> np.ndarray:
    """A copy of the image with the track polyline and its start marked."""
    out = image.copy()
    if points:
        pts = np.array([[int(x), int(y)] for x, y in points], np.int32)
        cv2.polylines(out, [pts], False, color, 2, cv2.LINE_AA)
        cv2.circle(out, tuple(pts[0].tolist()), 8, color, 2, cv2.LINE_AA)
    return out


def draw_polygon(
    image: np.ndarray,
    polygon: Sequence[tuple[float, float]],
    color: tuple[int, int, int] = (0, 0, 255),
) -> np.ndarray:
    """A copy of the image with a polygon outlined."""
    out = image.copy()
    pts = np.array([[int(x), int(y)] for x, y in polygon], np.int32)
    cv2.polylines(out, [pts], True, color, 3, cv2.LINE_AA)
    return out


def encode(image: np.ndarray, max_chars: int = SNAPSHOT_MAX_CHARS) -> str:
    """Base64 JPEG of the image, downscaled and compressed until it fits `max_chars`."""
    h, w = image.shape[:2]
    for width, quality in _STEPS:
        scale = min(1.0, width / w)
        small = (
            image
            if scale >= 1.0
            else cv2.resize(image, (int(w * scale), int(h * scale)), interpolation=cv2.INTER_AREA)
        )
        ok, buf = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, quality])
        if not ok:
            continue
        text = base64.b64encode(buf.tobytes()).decode("ascii")
        if len(text) <= max_chars:
            return text
    raise SnapshotTooLargeError(f"no JPEG of a {w}x{h} image fits {max_chars} base64 characters")
