"""Frame conditioning before segmentation: camera-shake registration and exposure normalisation."""

from __future__ import annotations

import cv2
import numpy as np

# Registration runs on a small grey copy of the whole frame: phase correlation there costs
# ~0.5 ms and is accurate to a tenth of a pixel on building edges, all the sub-pixel warp needs.
REG_WIDTH = 320
_REF_ALPHA = 0.04
_MIN_SHIFT = 0.12
_MIN_RESPONSE = 0.05
_MIN_GAIN_STEP = 0.03
# A shift is applied only if it makes the frame match the reference clearly better. A big
# moving thing (an insect at the lens, a bird against a bare sky) can pull phase correlation
# by a pixel although the camera stood still; undoing that "shake" would light up every edge.
_MIN_IMPROVEMENT = 0.92


class Conditioner:
    """Aligns each frame to a running reference and rescales it to the reference exposure."""

    def __init__(
        self,
        frame_size: tuple[int, int],
        stabilize: bool = True,
        roi: np.ndarray | None = None,
    ) -> None:
        w, h = frame_size
        self._frame_w = w
        self.scale = w / REG_WIDTH  # full-frame pixels per registration pixel
        self._reg_size = (REG_WIDTH, max(16, round(h / self.scale)))
        self._window = cv2.createHanningWindow(self._reg_size, cv2.CV_32F)
        self._ref: np.ndarray | None = None
        self._stabilize = stabilize
        self.shift = (0.0, 0.0)  # full-frame pixels
        self.gain = 1.0
        # Gain is estimated on a sparse grid inside the region of interest: enough samples for a
        # robust median, far fewer than the pixels.
        grid = np.zeros(self._reg_size[::-1], bool)
        grid[2::4, 2::4] = True
        if roi is not None:
            grid &= cv2.resize(roi, self._reg_size, interpolation=cv2.INTER_NEAREST) > 0
        self._grid = grid
        self._crops: dict[str, _CropReference] = {}
        self.shaking = 0  # frames since the camera last moved (0 = moving now)

    def apply(self, image: np.ndarray) -> None:
        """Estimate this frame's shift and exposure gain against the reference (full BGR frame)."""
        small = cv2.resize(image, self._reg_size, interpolation=cv2.INTER_AREA)
        small = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY).astype(np.float32)
        if self._ref is None:
            self._ref = small
            return
        shift = (0.0, 0.0)
        if self._stabilize:
            # Window into fresh arrays: OpenCV 5's phaseCorrelate windows its inputs in place.
            (dx, dy), response = cv2.phaseCorrelate(
                cv2.multiply(self._ref, self._window), cv2.multiply(small, self._window)
            )
            if response > _MIN_RESPONSE and max(abs(dx), abs(dy)) > _MIN_SHIFT:
                m = np.float32([[1, 0, -dx], [0, 1, -dy]])
                moved = cv2.warpAffine(small, m, self._reg_size, borderMode=cv2.BORDER_REPLICATE)
                before = float(cv2.absdiff(small, self._ref).mean())
                after = float(cv2.absdiff(moved, self._ref).mean())
                if after < _MIN_IMPROVEMENT * before:
                    small = moved
                    shift = (dx * self.scale, dy * self.scale)
        self.shift = shift
        self.shaking = 0 if shift != (0.0, 0.0) else self.shaking + 1
        ref_px = self._ref[self._grid]
        bright = ref_px > 12
        if bright.sum() > 20:
            self.gain = float(np.median(small[self._grid][bright] / ref_px[bright]))
        if abs(self.gain - 1.0) > _MIN_GAIN_STEP:
            small = small / self.gain
        cv2.accumulateWeighted(small, self._ref, _REF_ALPHA)

    def follow(self, image: np.ndarray, scale: float, key: str | None = None) -> np.ndarray:
        """Undo the frame's shift and gain on a copy of (part of) it at `scale` × full size.

        With a `key`, the shift is refined on this crop against its own sharp reference: the
        whole-frame estimate is good to a few tenths of a full-frame pixel, which on a facade
        of window frames and balcony bars still lights up every edge.
        """
        out = image
        dx, dy = self.shift
        if key is not None:
            ref = self._crops.get(key)
            if ref is None:
                ref = self._crops[key] = _CropReference(image.shape[1], image.shape[0])
            if dx or dy:
                refined = ref.refine(image)
                if refined is not None:
                    dx, dy = refined[0] / scale, refined[1] / scale
            elif self.shaking > _STEADY_FRAMES:
                ref.learn(image)
        if dx or dy:
            m = np.float32([[1, 0, -dx * scale], [0, 1, -dy * scale]])
            size = (image.shape[1], image.shape[0])
            out = cv2.warpAffine(out, m, size, borderMode=cv2.BORDER_REPLICATE)
        if abs(self.gain - 1.0) > _MIN_GAIN_STEP:
            out = cv2.convertScaleAbs(out, alpha=1.0 / self.gain)
        return out


_STEADY_FRAMES = 12
_CROP_ALPHA = 0.1
_CROP_EVERY = 4


class _CropReference:
    """A sharp grey reference of one analysis crop, learnt only while the camera is still."""

    def __init__(self, w: int, h: int) -> None:
        self._ref: np.ndarray | None = None
        self._window = cv2.createHanningWindow((w, h), cv2.CV_32F)
        self._n = 0

    @staticmethod
    def _grey(image: np.ndarray) -> np.ndarray:
        g = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
        return g.astype(np.float32)

    def learn(self, image: np.ndarray) -> None:
        """Fold a steady frame into the reference (every few frames: it changes slowly)."""
        self._n += 1
        if self._ref is None:
            self._ref = self._grey(image)
        elif self._n % _CROP_EVERY == 0:
            cv2.accumulateWeighted(self._grey(image), self._ref, _CROP_ALPHA)

    def refine(self, image: np.ndarray) -> tuple[float, float] | None:
        """The crop's shift against the reference, analysis pixels; None if not trustworthy."""
        if self._ref is None:
            return None
        g = self._grey(image)
        (dx, dy), response = cv2.phaseCorrelate(
            cv2.multiply(self._ref, self._window), cv2.multiply(g, self._window)
        )
        if response < _MIN_RESPONSE:
            return None
        m = np.float32([[1, 0, -dx], [0, 1, -dy]])
        moved = cv2.warpAffine(g, m, (g.shape[1], g.shape[0]), borderMode=cv2.BORDER_REPLICATE)
        if float(cv2.absdiff(moved, self._ref).mean()) >= float(cv2.absdiff(g, self._ref).mean()):
            return None
        return dx, dy
