"""Falling-object (高空抛物) detector: segmentation, blob tracking and the physical test."""

from __future__ import annotations

import cv2
import numpy as np

from devices.camera.config import FallingConfig
from devices.camera.detection import Detection
from devices.camera.judge import Judge
from devices.camera.physics import FloorMap
from devices.camera.recover import Sightings
from devices.camera.region import Crop, crop_for
from devices.camera.segment import make_segmenter
from devices.camera.tiles import Covered
from devices.camera.tracking import Tracker, find_blobs

_RELEARN_FRAMES = 8
# While the camera shakes a foreground pixel must differ from every background pixel around it
# by this many grey levels: an edge moved by a fraction of a pixel never does.
_SHAKE_MARGIN = 12
SHAKE_HOLD = 5
# Never analyse coarser than half resolution: a 4-pixel object must stay 2 pixels wide.
MIN_SCALE = 0.5
# The opening is skipped while it removes less than this share of the facade (see __init__).
_SPECKS = 8e-4
_SPECKS_ALPHA = 0.05
# Heavy rain: the opening removes this share of the facade (300-460 streaks a frame remove
# 1.9-2.4 %, light rain and night haze 0.4-0.8 %; 2026-12-07 seventeenth).
_HEAVY = 0.015


def falling_crop(cfg: FallingConfig, frame_size: tuple[int, int]) -> Crop:
    """Where and at what resolution the facade is analysed: full resolution up to
    `detect_pixels`, else half (small objects survive half resolution because the opening is
    then skipped, see `FallingDetector`)."""
    fixed = cfg.detect_width / frame_size[0] if cfg.detect_width else None
    return crop_for([cfg.facade], frame_size, cfg.detect_pixels, MIN_SCALE, fixed_scale=fixed)


class FallingDetector:
    """Feeds conditioned analysis images through segmentation and tracking; emits objects."""

    def __init__(self, cfg: FallingConfig, frame_size: tuple[int, int], fps: float) -> None:
        self.cfg = cfg
        self.crop = falling_crop(cfg, frame_size)
        s = self.crop.scale
        self.size = self.crop.size
        self.roi = self.crop.mask([cfg.facade], [m.polygon for m in cfg.masks])
        self._roi_px = max(1, cv2.countNonZero(self.roi))
        self.floors = FloorMap(cfg.floors)
        self.judge = Judge(cfg, self.crop, self.floors, fps)
        # Segmented only where it is looked at (the box round a tilted facade with its sky and
        # trees masked is 60-90 % facade); per-pixel models, so the mask is the same.
        self._segmenter = Covered(
            lambda: make_segmenter(cfg.segmentation, cfg.threshold), self.roi
        )
        storey = self.judge.storey_px * s  # analysis pixels
        cx = float(np.mean([p[0] for p in cfg.facade]))
        cy = float(np.mean([p[1] for p in cfg.facade]))
        gate = min(8.0, max(3.0, 0.13 * storey))
        self._tracker = Tracker(gate, self.floors.gravity_px(cx, cy) * s, cfg.max_gap_frames, fps)
        self._min_blob = max(2, round(cfg.min_blob_px * s * s))
        self._max_blob = max(self._min_blob + 1, round(cfg.max_blob_px * s * s))
        # Taller than wide: slabs, sills and lintels cut a falling object into an upper and a
        # lower blob, and rain is already gone by the time this runs.
        self._close = cv2.getStructuringElement(cv2.MORPH_RECT, (3, 7))
        # The 2x2 opening erases one-pixel rain streaks, snow and speckle, but also any object
        # under two analysis pixels wide (a 4-pixel object at half resolution, or a small one
        # that straddles pixel borders at night). So it is used only while there is something
        # to erase: `_specks` follows the share of the facade the opening removes (rain ~1 %,
        # snow ~0.2 %, a clear day or night under 0.05 %). Without it, speckle is left to
        # `min_blob_px` and short streaks to the test in `find_blobs`.
        self._open = np.ones((2, 2), np.uint8)
        self._specks = 0.0  # rain or snow lift it within two frames
        self._range = cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3))
        self._relearn = 0
        self._sightings = Sightings(fps)
        self.fps = fps
        self.foreground_share = 0.0

    @property
    def heavy_rain(self) -> bool:
        """Whether the opening removes as much as heavy rain does (see `_HEAVY`)."""
        return self._specks >= _HEAVY

    @property
    def rejected(self) -> dict[str, int]:
        """Why tracks were rejected (counts)."""
        return self.judge.rejected

    def process(self, t: float, image: np.ndarray, shaking: bool = False) -> list[Detection]:
        """Analyse one conditioned analysis image (the crop); return finished detections.

        `shaking`: the camera moved in the last frames; registration leaves sub-pixel errors
        that light up every sharp edge, so foreground must then also stand out from the
        background's 3x3 neighbourhood.
        """
        fg = self._segmenter.apply(image, relearn=self._relearn > 0)
        fg = cv2.bitwise_and(fg, self.roi)
        if shaking:
            fg = self._steady_only(image, fg)
        self.foreground_share = cv2.countNonZero(fg) / self._roi_px
        if self._relearn > 0:
            self._relearn -= 1
            blobs = []
        elif self.foreground_share > self.cfg.shock_fraction:
            # A global change the conditioner could not undo: nothing in this frame is a blob
            # we can trust, so let tracks coast and let the model relearn quickly.
            self._relearn = _RELEARN_FRAMES
            blobs = []
        else:
            # Opening with 2x2 erases one-pixel-wide rain streaks and speckle (only while
            # there are any, see __init__); closing then joins the fragments of a
            # motion-blurred object into one blob.
            opened = cv2.morphologyEx(fg, cv2.MORPH_OPEN, self._open)
            removed = (cv2.countNonZero(fg) - cv2.countNonZero(opened)) / self._roi_px
            if not shaking:  # shake lights up edges for a moment; it is not weather
                self._specks += _SPECKS_ALPHA * (removed - self._specks)
            if self._specks >= _SPECKS:
                fg = opened
            fg = cv2.morphologyEx(fg, cv2.MORPH_CLOSE, self._close)
            blobs = find_blobs(fg, self._min_blob, self._max_blob)
        # The picture too, for faint frames (`recover`): a copy if it is a view of the frame.
        self._sightings.add(t, blobs, image if image.base is None else image.copy())
        ended = self._tracker.update(t, blobs)
        return self.judge(ended, self._tracker.active, self._sightings)

    def _steady_only(self, image: np.ndarray, fg: np.ndarray) -> np.ndarray:
        bg = self._segmenter.background()
        ys, xs = np.nonzero(fg)
        if bg is None or bg.shape != image.shape or not len(ys):
            return fg
        lo = cv2.erode(bg, self._range)[ys, xs].astype(np.int16)
        hi = cv2.dilate(bg, self._range)[ys, xs].astype(np.int16)
        px = image[ys, xs].astype(np.int16)
        out = np.maximum(px - hi, lo - px)
        if out.ndim == 2:
            out = out.max(axis=1)
        keep = out > _SHAKE_MARGIN
        fg = np.zeros_like(fg)
        fg[ys[keep], xs[keep]] = 255
        return fg

    def finish(self) -> list[Detection]:
        """Judge the tracks still open at the end of the stream."""
        return self.judge(self._tracker.flush(), sightings=self._sightings)
