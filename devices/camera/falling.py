"""Falling-object (高空抛物) detector: segmentation, blob tracking and the physical test."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from devices.camera.config import FallingConfig
from devices.camera.detection import Detection
from devices.camera.physics import FloorMap, Verdict, assess
from devices.camera.segment import make_segmenter
from devices.camera.tracking import Track, Tracker, find_blobs

_RELEARN_FRAMES = 8
_DEDUP_S = 1.5


def region_mask(
    size: tuple[int, int],
    scale: float,
    include: list[list[tuple[float, float]]],
    exclude: list[list[tuple[float, float]]],
) -> np.ndarray:
    """0/255 analysis-frame mask: inside any `include` polygon, outside every `exclude` one."""
    w, h = size
    mask = np.zeros((h, w), np.uint8)
    for poly in include:
        cv2.fillPoly(mask, [np.round(np.array(poly) * scale).astype(np.int32)], 255)
    for poly in exclude:
        cv2.fillPoly(mask, [np.round(np.array(poly) * scale).astype(np.int32)], 0)
    return mask


@dataclass(frozen=True)
class _Emitted:
    t_end: float
    yfit: np.ndarray
    xfit: np.ndarray
    t0: float


class FallingDetector:
    """Feeds conditioned grey frames through segmentation and tracking; emits falling objects."""

    def __init__(self, cfg: FallingConfig, frame_size: tuple[int, int], fps: float) -> None:
        self.cfg = cfg
        fw, fh = frame_size
        self.scale = cfg.detect_width / fw
        self.size = (cfg.detect_width, round(fh * self.scale))
        self.roi = region_mask(self.size, self.scale, [cfg.facade], [m.polygon for m in cfg.masks])
        self._roi_px = max(1, cv2.countNonZero(self.roi))
        self.floors = FloorMap(cfg.floors)
        self._segmenter = make_segmenter(cfg.segmentation, cfg.threshold)
        cx = float(np.mean([p[0] for p in cfg.facade]))
        cy = float(np.mean([p[1] for p in cfg.facade]))
        g_det = self.floors.gravity_px(cx, cy) * self.scale
        self._tracker = Tracker(gate_px=4.0, gravity_px=g_det, max_gap=cfg.max_gap_frames)
        self._kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
        self._relearn = 0
        self._emitted: list[_Emitted] = []
        self.fps = fps
        self.foreground_share = 0.0
        self.rejected: dict[str, int] = {}

    def process(self, t: float, gray: np.ndarray) -> list[Detection]:
        """Analyse one conditioned grey frame at the analysis size; return finished detections."""
        fg = self._segmenter.apply(gray, relearn=self._relearn > 0)
        fg = cv2.bitwise_and(fg, self.roi)
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
            # Closing joins the fragments of a motion-blurred streak into one blob.
            fg = cv2.morphologyEx(fg, cv2.MORPH_CLOSE, self._kernel)
            blobs = find_blobs(fg, self.cfg.min_blob_px, self.cfg.max_blob_px)
        return self._judge(self._tracker.update(t, blobs))

    def finish(self) -> list[Detection]:
        """Judge the tracks still open at the end of the stream."""
        return self._judge(self._tracker.flush())

    def _judge(self, tracks: list[Track]) -> list[Detection]:
        out = []
        for tr in tracks:
            if len(tr.t) < self.cfg.min_points:
                continue
            inv = 1.0 / self.scale
            xs = [x * inv for x in tr.x]
            ys = [y * inv for y in tr.y]
            verdict = assess(tr.t, xs, ys, self.floors, self.cfg)
            if not verdict.ok:
                self.rejected[verdict.reason] = self.rejected.get(verdict.reason, 0) + 1
                continue
            if verdict.confidence < self.cfg.min_confidence:
                self.rejected["low_confidence"] = self.rejected.get("low_confidence", 0) + 1
                continue
            if self._duplicate(tr.t, xs, ys):
                self.rejected["duplicate"] = self.rejected.get("duplicate", 0) + 1
                continue
            out.append(self._detection(tr, xs, ys, verdict))
        return out

    def _duplicate(self, t: list[float], xs: list[float], ys: list[float]) -> bool:
        # A track broken by an occluder (a masked window, a tree branch) must not count twice:
        # its second half continues the parabola of the first.
        self._emitted = [e for e in self._emitted if t[0] - e.t_end <= _DEDUP_S]
        for e in self._emitted:
            if t[0] < e.t_end - 0.2:
                continue
            dt = t[0] - e.t0
            if (
                abs(np.polyval(e.yfit, dt) - ys[0]) < 80
                and abs(np.polyval(e.xfit, dt) - xs[0]) < 40
            ):
                return True
        return False

    def _detection(self, tr: Track, xs: list[float], ys: list[float], v: Verdict) -> Detection:
        ts = np.asarray(tr.t) - tr.t[0]
        self._emitted.append(
            _Emitted(tr.t[-1], np.polyfit(ts, ys, 2), np.polyfit(ts, xs, 1), tr.t[0])
        )
        return Detection(
            type="falling_object",
            t=tr.t[0],
            confidence=v.confidence,
            floor=v.floor,
            track=[(t, x, y) for t, x, y in zip(tr.t, xs, ys, strict=True)],
        )
