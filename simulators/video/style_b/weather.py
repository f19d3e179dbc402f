"""Style B precipitation: a scrolling, motion-blurred rain sheet and depth-sized snowflakes."""

from __future__ import annotations

import math

import cv2
import numpy as np

from simulators.video.geometry import H, W
from simulators.video.style_b import raster


class Precipitation:
    """Rain as three pre-blurred sheets scrolled fast; snow as soft flakes drifting down."""

    def __init__(self, rain: int, snow: int, night: bool, seed: int) -> None:
        rng = np.random.default_rng(seed)
        self._rng = rng
        self._sheets: list[np.ndarray] = []
        if rain:
            # Drops as single bright pixels smeared by a slanted line kernel: exposure blur.
            kernel = np.zeros((31, 31), np.float32)
            cv2.line(kernel, (13, 0), (17, 30), 1.0, 1)
            kernel /= kernel.sum()
            level = 900 if not night else 500
            for _ in range(3):
                dots = np.zeros((H * 2, W), np.float32)
                n = rain * 4
                dots[rng.integers(0, 2 * H, n), rng.integers(0, W, n)] = level
                streaks = cv2.filter2D(dots, -1, kernel)
                self._sheets.append(np.clip(streaks, 0, 255).astype(np.uint8))
        self._flakes = None
        if snow:
            self._flakes = np.c_[
                rng.uniform(0, W, snow), rng.uniform(0, H, snow), rng.uniform(0.5, 2.2, snow)
            ]
        self._tone = (200, 200, 205) if not night else (110, 110, 115)

    def apply(self, img: np.ndarray, t: float) -> np.ndarray:
        """The frame with this moment's rain or snow on it."""
        if self._sheets:
            sheet = self._sheets[int(self._rng.integers(len(self._sheets)))]
            off = int(t * 1100) % H
            layer = sheet[off : off + H]
            img = cv2.add(img, cv2.merge([layer, layer, layer]))
        if self._flakes is not None:
            for x0, y0, size in self._flakes:
                x = (x0 + 18 * math.sin(0.7 * t + x0)) % W
                y = (y0 + 22 * size * t) % H
                raster.soft_dot(img, x, y, 0.45 * size, self._tone, 0.85)
        return img
