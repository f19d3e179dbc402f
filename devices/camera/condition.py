"""Frame conditioning before segmentation: camera-shake registration and exposure normalisation.

Both are measured on the analysis crop of the main detector (the facade, else the fire-lane
zones): that is where shake must be undone, it has the texture phase correlation needs, and
a small facade in a frame of bare sky and rain would be drowned out in the whole picture.
"""

from __future__ import annotations

import cv2
import numpy as np

# Registration runs on a grey copy halved until at most this wide and cut to a fast DFT size:
# phase correlation there costs ~0.3 ms and is accurate to a tenth of its pixel, which with the
# shake-time range test on the foreground is all the sub-pixel warp needs.
REG_WIDTH = 240
_REG_AREA = int(1.5 * REG_WIDTH * REG_WIDTH)
_REF_ALPHA = 0.04
_MIN_SHIFT = 0.12
_MIN_RESPONSE = 0.03
# Exposure is undone from this change on. For the facade 1 %: MOG2 flags a pixel whose colour
# moved by more than 4 sigma (sigma at least 2 grey levels, summed over three channels), which
# a 2.5 % step of a bright wall already does over a quarter of the facade, while 1 % of 255
# stays under it. A camera with fire lanes only keeps 3 %: the lanes compare with a threshold
# of at least 8 grey levels (22 by day), absorb smaller wobbles in their own reference, and
# were measured with 3 % (a night-snow far bicycle's clear hangs on a few pixels of residue
# and came out differently with 1 %).
FALLING_GAIN_STEP = 0.01
LANE_GAIN_STEP = 0.03
# A shift is applied only if it makes the frame match the reference clearly better where the
# reference has edges. A big moving thing (an insect at the lens, a bird against the wall)
# can pull phase correlation by a pixel although the camera stood still; undoing that
# "shake" would light up every edge.
_MIN_IMPROVEMENT = 0.92
# ... and where the reference has edges of colour, it must improve the match there too. Light
# changes brightness, not hue: a tree's shade swaying over a fire lane is a big, contrasted
# pattern that moved 1-2 px, phase correlation followed it over the whole crop, and the warp
# then misaligned the lane's paint and texture: whole zones read "changed" and blocked
# (style C, clip 3102). A shake moves the coloured paint with everything else; a shade leaves
# it where it was. Chromaticity is (R - B) and (2G - R - B) over the brightness (plus an
# offset that damps the noise of dark pixels), scaled to about a grey level's range.
# Colour edges: the reference's strongest tenth of chromaticity gradients, at least this.
_CHROMA_EDGE = 6.0
_CHROMA_EDGES = 30  # fewer colour-edge pixels than this: no colour to judge by
_CHROMA_EVERY = 4  # the colour reference learns every this many still frames
# Poles sway by a few pixels; a larger "shift" is phase correlation locking onto the wrong
# period of a repetitive facade (tiles, balcony bars).
_MAX_SHIFT_PX = 16.0
# A camera that stays displaced this long was re-aimed: start again from what it sees now.
_REBASE_FRAMES = 250


def _fast_size(n: int) -> int:
    """The largest even length ≤ n whose DFT is fast (a product of 2, 3 and 5).

    Even: OpenCV's `phaseCorrelate` centres its correlation surface with a quadrant swap that
    assumes even sides, and on an odd side it reports half a pixel of shift for two identical
    pictures (225 px wide: dx = +0.5). Every frame of a still camera then looked shifted, and
    a real shake was undone half a pixel wrong.
    """
    for m in range(max(n, 16) // 2 * 2, 15, -2):
        if cv2.getOptimalDFTSize(m) == m:
            return m
    return n


class Conditioner:
    """Aligns each frame to a running reference and rescales it to the reference exposure."""

    def __init__(
        self,
        size: tuple[int, int],
        to_full: float,
        stabilize: bool = True,
        roi: np.ndarray | None = None,
        min_gain_step: float = FALLING_GAIN_STEP,
        hue_check: bool = False,
        anchor: bool = False,
    ) -> None:
        """`size` is the (w, h) of the analysis image registered; `to_full` its scale (analysis
        pixels per full-frame pixel); `roi` (that size) limits where exposure is measured;
        exposure changes from `min_gain_step` on are undone; `hue_check`: a shift must also
        improve the match of the colour edges (see `_hue_agrees`); `anchor`: the reference
        keeps its first frame's brightness (`hold_level` from the start, see `apply`)."""
        self.hold_level = anchor
        self._hue_check = hue_check
        self._min_gain_step = min_gain_step
        w, h = size
        self._halvings = 0
        # Tall crops too (a far tower is a narrow, tall strip): phase correlation on 234x650
        # cost 4 ms a frame, a tenth of a pixel at half of that is still plenty.
        while (w > REG_WIDTH or w * h > _REG_AREA) and h > 32 and w > 32:
            w, h = w // 2, h // 2
            self._halvings += 1
        self._k = 0.5**self._halvings  # registration pixels per analysis pixel
        self._per_full = self._k * to_full  # registration pixels per full-frame pixel
        self._reg_size = (_fast_size(w), _fast_size(h))
        self._window = cv2.createHanningWindow(self._reg_size, cv2.CV_32F)
        self._ref: np.ndarray | None = None
        self._level = 0.0
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
        self._chroma_ref: np.ndarray | None = None  # (h, w, 2) chromaticity, registration size
        self._chroma_edges: np.ndarray | None = None
        self._frames = 0
        self.still = 0  # frames since the camera last moved
        self._moved = 0  # frames the camera has been displaced in a row

    def apply(self, image: np.ndarray) -> None:
        """Measure this frame's shift and exposure gain on its analysis image (BGR or grey)."""
        small = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
        for _ in range(self._halvings):
            h, w = small.shape
            small = cv2.resize(small[: h // 2 * 2, : w // 2 * 2], None, fx=0.5, fy=0.5,
                               interpolation=cv2.INTER_AREA)  # fmt: skip
        rw, rh = self._reg_size
        small = small[:rh, :rw].astype(np.float32)
        if self._ref is None:
            self._ref = small
            self._level = self._level_of(small)
            return
        shift = (0.0, 0.0)
        raw = small
        gain: float | None = None  # of `small` as it is, once measured
        ref_px = self._ref[self._grid]
        bright = ref_px > 12
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
                # Compared at the frame's own exposure: after a 30 % exposure step the
                # difference in brightness would swamp what the shift improves.
                gain = self._gain_of(small[self._grid], ref_px, bright)
                ref = self._ref[edges] * gain
                before = float(np.abs(small[edges] - ref).mean())
                after = float(np.abs(moved[edges] - ref).mean())
                if after < _MIN_IMPROVEMENT * before and self._hue_agrees(image, dx, dy):
                    small, gain = moved, None
                    shift = (dx / self._per_full, dy / self._per_full)
        self.shift = shift
        moving = shift != (0.0, 0.0)
        self.still = 0 if moving else self.still + 1
        self._moved = self._moved + 1 if moving else 0
        # A shift refused leaves the frame as it was measured (in rain: most frames).
        self.gain = gain if gain is not None else self._gain_of(small[self._grid], ref_px, bright)
        if abs(self.gain - 1.0) > self._min_gain_step:
            small = small / self.gain
        if self._moved >= _REBASE_FRAMES:
            self._ref, self._edges, self._moved = raw, None, 0
            self._level = self._level_of(raw)
        elif not moving:
            # Learn only while the camera is still: a reference blended from registered shaky
            # frames drifts with every registration error and can lock onto a wrong offset.
            cv2.accumulateWeighted(small, self._ref, _REF_ALPHA)
            # The reference learns frames already scaled to it, so its brightness should
            # stay where it is; but it is a per-pixel mean and the gain a median across
            # pixels. Where rain brightens pixels now and then, a pixel's mean sits above its
            # usual value, the usual frame reads darker than the reference, is brightened to
            # it, and the mean climbs again: style C clip 3112 (night rain) ended brightened
            # 4.3 x (gain 0.23, a fifth of the facade foreground), 3008 and 3106 (day rain)
            # 1.4-1.5 x. While `hold_level` is set the reference keeps the median brightness
            # it had when the hold began (docs/camera.md, 2026-12-07 eighteenth).
            level = self._level_of(self._ref)
            if self.hold_level and level > 0 and self._level > 0:
                self._ref *= self._level / level
            else:
                self._level = level
            if self._hue_check and image.ndim == 3 and self.still % _CHROMA_EVERY == 1:
                hue = self._chroma(image)
                if self._chroma_ref is None:
                    self._chroma_ref = hue
                else:
                    cv2.accumulateWeighted(hue, self._chroma_ref, _REF_ALPHA * _CHROMA_EVERY)
                self._chroma_edges = None

    def _chroma(self, image: np.ndarray) -> np.ndarray:
        """Chromaticity of a BGR analysis image at the registration size (h, w, 2)."""
        k = 0.5**self._halvings
        h, w = image.shape[:2]
        size = (max(1, int(w * k)), max(1, int(h * k)))
        small = cv2.resize(image, size, interpolation=cv2.INTER_AREA).astype(np.float32)
        rw, rh = self._reg_size
        b, g, r = cv2.split(small[:rh, :rw])
        total = b + g + r + 30.0
        return cv2.merge([(r - b) / total * 128.0, (2 * g - r - b) / total * 128.0])

    def _hue_agrees(self, image: np.ndarray, dx: float, dy: float) -> bool:
        """Whether shifting by (dx, dy) registration pixels improves the match of colour edges
        (True when the picture has too few of them to judge)."""
        ref = self._chroma_ref
        if not self._hue_check or image.ndim != 3 or ref is None:
            return True
        if self._chroma_edges is None:
            mag = np.zeros(ref.shape[:2], np.float32)
            for c in cv2.split(ref):
                gx = cv2.Sobel(c, cv2.CV_32F, 1, 0)
                gy = cv2.Sobel(c, cv2.CV_32F, 0, 1)
                mag = cv2.max(mag, cv2.magnitude(gx, gy))
            self._chroma_edges = mag >= max(_CHROMA_EDGE, float(np.percentile(mag, 90)))
        edges = self._chroma_edges
        if edges.sum() < _CHROMA_EDGES:
            return True
        hue = self._chroma(image)
        m = np.float32([[1, 0, -dx], [0, 1, -dy]])
        moved = cv2.warpAffine(hue, m, self._reg_size, borderMode=cv2.BORDER_REPLICATE)
        before = float(np.abs(hue[edges] - ref[edges]).mean())
        after = float(np.abs(moved[edges] - ref[edges]).mean())
        return after < before

    def _level_of(self, small: np.ndarray) -> float:
        """The brightness of a registration image: the median of its grid pixels."""
        px = small[self._grid]
        return float(np.median(px)) if px.size else float(np.median(small))

    def _gain_of(self, px: np.ndarray, ref_px: np.ndarray, bright: np.ndarray) -> float:
        """The median brightness ratio of grid pixels `px` to the reference (the last gain
        when too few grid pixels are bright enough to tell)."""
        if bright.sum() <= 20:
            return self.gain
        return float(np.median(px[bright] / ref_px[bright]))

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

    def follow(self, image: np.ndarray, scale: float, gain: bool = True) -> np.ndarray:
        """Undo the frame's shift (and, unless `gain` is False, its exposure gain) on an
        analysis image at `scale` × full size."""
        out = image
        dx, dy = self.shift
        if dx or dy:
            m = np.float32([[1, 0, -dx * scale], [0, 1, -dy * scale]])
            size = (image.shape[1], image.shape[0])
            out = cv2.warpAffine(out, m, size, borderMode=cv2.BORDER_REPLICATE)
        if gain and abs(self.gain - 1.0) > self._min_gain_step:
            out = cv2.convertScaleAbs(out, alpha=1.0 / self.gain)
        return out
