"""Frame conditioning before segmentation: camera-shake registration and exposure normalisation.

Both are measured on the analysis crop of the main detector (the facade, else the fire-lane
zones): that is where shake must be undone, it has the texture phase correlation needs, and
a small facade in a frame of bare sky and rain would be drowned out in the whole picture.
"""

from __future__ import annotations

import cv2
import numpy as np

# Registration runs on a grey copy at most this wide: phase correlation there costs ~0.5 ms
# and is accurate to a tenth of its pixel, which is all the sub-pixel warp needs.
REG_WIDTH = 320
_REF_ALPHA = 0.04
_MIN_SHIFT = 0.12
_MIN_RESPONSE = 0.03
_MIN_GAIN_STEP = 0.03
# A shift is applied only if it makes the frame match the reference clearly better where the
# reference has edges. A big moving thing (an insect at the lens, a bird against the wall)
# can pull phase correlation by a pixel although the camera stood still; undoing that
# "shake" would light up every edge.
_MIN_IMPROVEMENT = 0.92
# Poles sway by a few pixels; a larger "shift" is phase correlation locking onto the wrong
# period of a repetitive facade (tiles, balcony bars).
_MAX_SHIFT_PX = 16.0
# A camera that stays displaced this long was re-aimed: start again from what it sees now.
_REBASE_FRAMES = 250


class Conditioner:
    """Aligns each frame to a running reference and rescales it to the reference exposure."""

    def __init__(
        self,
        size: tuple[int, int],
        to_full: float,
        stabilize: bool = True,
        roi: np.ndarray | None = None,
    ) -> None:
        """`size` is the (w, h) of the analysis image registered; `to_full` its scale (analysis
        pixels per full-frame pixel); `roi` (that size) limits where exposure is measured."""
        w, h = size
        self._k = min(1.0, REG_WIDTH / w)  # registration pixels per analysis pixel
        self._per_full = self._k * to_full  # registration pixels per full-frame pixel
        self._reg_size = (max(16, round(w * self._k)), max(16, round(h * self._k)))
        self._window = cv2.createHanningWindow(self._reg_size, cv2.CV_32F)
        self._ref: np.ndarray | None = None
        self._stabilize = stabilize
        self.shift = (0.0, 0.0)  # full-frame pixels
        self.gain = 1.0
        # Gain is estimated on a sparse grid inside the region of interest: enough samples for a
        # robust median, far fewer than the pixels.
        grid = np.zeros(self._reg_size[::-1], bool)
        grid[1::3, 1::3] = True
        if roi is not None:
            grid &= cv2.resize(roi, self._reg_size, interpolation=cv2.INTER_NEAREST) > 0
        self._grid = grid
        self._edges: np.ndarray | None = None
        self._frames = 0
        self.still = 0  # frames since the camera last moved
        self._moved = 0  # frames the camera has been displaced in a row

    def apply(self, image: np.ndarray) -> None:
        """Measure this frame's shift and exposure gain on its analysis image (BGR or grey)."""
        grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
        small = grey if self._k == 1.0 else cv2.resize(grey, self._reg_size, cv2.INTER_AREA)
        small = small.astype(np.float32)
        if self._ref is None:
            self._ref = small
            return
        shift = (0.0, 0.0)
        raw = small
        if self._stabilize:
            # Window into fresh arrays: OpenCV 5's phaseCorrelate windows its inputs in place.
            (dx, dy), response = cv2.phaseCorrelate(
                cv2.multiply(self._ref, self._window), cv2.multiply(small, self._window)
            )
            big = max(abs(dx), abs(dy)) > _MAX_SHIFT_PX * self._per_full
            if response > _MIN_RESPONSE and max(abs(dx), abs(dy)) > _MIN_SHIFT and not big:
                m = np.float32([[1, 0, -dx], [0, 1, -dy]])
                moved = cv2.warpAffine(small, m, self._reg_size, borderMode=cv2.BORDER_REPLICATE)
                edges = self._edge_mask()
                before = float(cv2.absdiff(small, self._ref)[edges].mean())
                after = float(cv2.absdiff(moved, self._ref)[edges].mean())
                if after < _MIN_IMPROVEMENT * before:
                    small = moved
                    shift = (dx / self._per_full, dy / self._per_full)
        self.shift = shift
        moving = shift != (0.0, 0.0)
        self.still = 0 if moving else self.still + 1
        self._moved = self._moved + 1 if moving else 0
        ref_px = self._ref[self._grid]
        bright = ref_px > 12
        if bright.sum() > 20:
            self.gain = float(np.median(small[self._grid][bright] / ref_px[bright]))
        if abs(self.gain - 1.0) > _MIN_GAIN_STEP:
            small = small / self.gain
        if self._moved >= _REBASE_FRAMES:
            self._ref, self._edges, self._moved = raw, None, 0
        elif not moving:
            # Learn only while the camera is still: a reference blended from registered shaky
            # frames drifts with every registration error and can lock onto a wrong offset.
            cv2.accumulateWeighted(small, self._ref, _REF_ALPHA)

    def _edge_mask(self) -> np.ndarray:
        """The reference's most textured pixels (recomputed every 50 frames)."""
        assert self._ref is not None
        self._frames += 1
        if self._edges is None or self._frames % 50 == 0:
            gx = cv2.Sobel(self._ref, cv2.CV_32F, 1, 0)
            gy = cv2.Sobel(self._ref, cv2.CV_32F, 0, 1)
            mag = cv2.magnitude(gx, gy)
            edges = mag >= max(8.0, float(np.percentile(mag, 90)))
            self._edges = edges if edges.sum() >= 50 else np.ones_like(edges)
        return self._edges

    def follow(self, image: np.ndarray, scale: float) -> np.ndarray:
        """Undo the frame's shift and gain on an analysis image at `scale` × full size."""
        out = image
        dx, dy = self.shift
        if dx or dy:
            m = np.float32([[1, 0, -dx * scale], [0, 1, -dy * scale]])
            size = (image.shape[1], image.shape[0])
            out = cv2.warpAffine(out, m, size, borderMode=cv2.BORDER_REPLICATE)
        if abs(self.gain - 1.0) > _MIN_GAIN_STEP:
            out = cv2.convertScaleAbs(out, alpha=1.0 / self.gain)
        return out
