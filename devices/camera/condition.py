"""Frame conditioning before segmentation: camera-shake registration and exposure normalisation."""

from __future__ import annotations

import cv2
import numpy as np

# Registration runs on a small copy: phase correlation there costs ~1 ms and is still accurate
# to a tenth of a pixel on building edges, which is all the sub-pixel warp needs.
REG_WIDTH = 320
_REF_ALPHA = 0.04
_MIN_SHIFT = 0.12
_MIN_RESPONSE = 0.05
_MIN_GAIN_STEP = 0.03


class Conditioner:
    """Aligns each grey frame to a running reference and rescales it to the reference exposure."""

    def __init__(
        self, shape: tuple[int, int], stabilize: bool = True, roi: np.ndarray | None = None
    ) -> None:
        h, w = shape
        self._width = w
        self.scale = w / REG_WIDTH
        self._reg_size = (REG_WIDTH, max(16, round(h / self.scale)))
        self._window = cv2.createHanningWindow(self._reg_size, cv2.CV_32F)
        self._ref: np.ndarray | None = None
        self._stabilize = stabilize
        self.shift = (0.0, 0.0)
        self.gain = 1.0
        # Gain is estimated on a sparse grid inside the region of interest: enough samples for a
        # robust median, far fewer than the pixels.
        grid = np.zeros(self._reg_size[::-1], bool)
        grid[2::4, 2::4] = True
        if roi is not None:
            grid &= cv2.resize(roi, self._reg_size, interpolation=cv2.INTER_NEAREST) > 0
        self._grid = grid

    def apply(self, gray: np.ndarray) -> np.ndarray:
        """Return the frame registered to the reference and scaled to its exposure."""
        small = cv2.resize(gray, self._reg_size, interpolation=cv2.INTER_AREA).astype(np.float32)
        if self._ref is None:
            self._ref = small
            return gray
        out = gray
        if self._stabilize:
            # Window into fresh arrays: OpenCV 5's phaseCorrelate windows its inputs in place.
            (dx, dy), response = cv2.phaseCorrelate(
                cv2.multiply(self._ref, self._window), cv2.multiply(small, self._window)
            )
            if response > _MIN_RESPONSE and max(abs(dx), abs(dy)) > _MIN_SHIFT:
                self.shift = (dx * self.scale, dy * self.scale)
                m = np.float32([[1, 0, -dx], [0, 1, -dy]])
                small = cv2.warpAffine(small, m, self._reg_size, borderMode=cv2.BORDER_REPLICATE)
                m[:, 2] *= self.scale
                out = cv2.warpAffine(gray, m, gray.shape[::-1], borderMode=cv2.BORDER_REPLICATE)
            else:
                self.shift = (0.0, 0.0)
        ref_px = self._ref[self._grid]
        bright = ref_px > 12
        if bright.sum() > 20:
            self.gain = float(np.median(small[self._grid][bright] / ref_px[bright]))
        if abs(self.gain - 1.0) > _MIN_GAIN_STEP:
            small = small / self.gain
            out = cv2.convertScaleAbs(out, alpha=1.0 / self.gain)
        cv2.accumulateWeighted(small, self._ref, _REF_ALPHA)
        return out

    def follow(self, image: np.ndarray) -> np.ndarray:
        """Apply the last frame's shift and exposure correction to another copy of that frame."""
        k = image.shape[1] / self._width
        out = image
        dx, dy = self.shift
        if dx or dy:
            m = np.float32([[1, 0, -dx * k], [0, 1, -dy * k]])
            size = (image.shape[1], image.shape[0])
            out = cv2.warpAffine(out, m, size, borderMode=cv2.BORDER_REPLICATE)
        if abs(self.gain - 1.0) > _MIN_GAIN_STEP:
            out = cv2.convertScaleAbs(out, alpha=1.0 / self.gain)
        return out
