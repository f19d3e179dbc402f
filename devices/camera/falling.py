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
_STITCH_S = 0.4
_STITCH_TOL = 6.0  # analysis-frame pixels
_MAX_FRAGMENTS = 200
_TRIMMABLE = frozenset({"erratic", "erratic_x", "sideways", "not_ballistic", "not_monotonic"})


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
        self._g_det = self.floors.gravity_px(cx, cy) * self.scale
        self._tracker = Tracker(gate_px=4.0, gravity_px=self._g_det, max_gap=cfg.max_gap_frames)
        # Taller than wide: slabs, sills and lintels cut a falling object into an upper and a
        # lower blob, and rain is already gone by the time this runs.
        self._close = cv2.getStructuringElement(cv2.MORPH_RECT, (3, 7))
        self._open = np.ones((2, 2), np.uint8)
        self._relearn = 0
        self._emitted: list[_Emitted] = []
        self._fragments: list[Track] = []
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
            # Opening with 2x2 erases one-pixel-wide rain streaks and speckle; closing then
            # joins the fragments of a motion-blurred object into one blob.
            fg = cv2.morphologyEx(fg, cv2.MORPH_OPEN, self._open)
            fg = cv2.morphologyEx(fg, cv2.MORPH_CLOSE, self._close)
            blobs = find_blobs(fg, self.cfg.min_blob_px, self.cfg.max_blob_px)
        return self._judge(self._tracker.update(t, blobs))

    def finish(self) -> list[Detection]:
        """Judge the tracks still open at the end of the stream."""
        return self._judge(self._tracker.flush())

    def _stitch(self, tr: Track) -> Track:
        # An object that fades out and back in (low contrast against parts of the wall) leaves
        # several short tracks; glue a track to the fragment it continues before judging it.
        self._fragments = [f for f in self._fragments if tr.t[0] - f.t[-1] <= _STITCH_S]
        if len(tr.t) < 3:
            return tr
        best, best_d = None, 0.0
        for f in self._fragments:
            gap_t = tr.t[0] - f.t[-1]
            if gap_t <= 0:
                continue
            x_pred, y_pred, vy = self._extrapolate(f, tr.t[0])
            ey = abs(tr.y[0] - y_pred)
            ex = abs(tr.x[0] - x_pred)
            if ey <= _STITCH_TOL + 0.3 * abs(vy) * gap_t and ex <= _STITCH_TOL:
                d = ex + ey
                if best is None or d < best_d:
                    best, best_d = f, d
        if best is None:
            return tr
        self._fragments.remove(best)
        merged = Track(best.id, best.t + tr.t, best.x + tr.x, best.y + tr.y, best.area + tr.area)
        return merged

    def _extrapolate(self, f: Track, t: float) -> tuple[float, float, float]:
        """Where free fall carries fragment `f` by time t: (x, y, vy) in analysis pixels."""
        # Fit y - g t^2 / 2 = y0 + v0 t with gravity known: two unknowns are robust on a short
        # fragment, and the last points are skipped because an object slipping behind a mask
        # leaves a centroid that lags.
        n = len(f.t)
        keep = n - 2 if n >= 6 else n
        ts = np.asarray(f.t[:keep]) - f.t[0]
        g = self._g_det
        v0, y0 = np.polyfit(ts, np.asarray(f.y[:keep]) - 0.5 * g * ts * ts, 1)
        vx, x0 = np.polyfit(ts, np.asarray(f.x[:keep]), 1)
        dt = t - f.t[0]
        return x0 + vx * dt, y0 + v0 * dt + 0.5 * g * dt * dt, v0 + g * dt

    def _judge(self, tracks: list[Track]) -> list[Detection]:
        out = []
        for tr in sorted(tracks, key=lambda tr: tr.t[0]):
            tr = self._stitch(tr)
            if len(tr.t) < self.cfg.min_points:
                self._keep_fragment(tr)
                continue
            inv = 1.0 / self.scale
            xs = [x * inv for x in tr.x]
            ys = [y * inv for y in tr.y]
            verdict = assess(tr.t, xs, ys, self.floors, self.cfg, self.fps)
            if not verdict.ok and verdict.reason in _TRIMMABLE:
                tr, xs, ys, verdict = self._trim(tr, xs, ys, verdict)
            if not verdict.ok:
                self.rejected[verdict.reason] = self.rejected.get(verdict.reason, 0) + 1
                self._keep_fragment(tr)
                continue
            if verdict.confidence < self.cfg.min_confidence:
                self.rejected["low_confidence"] = self.rejected.get("low_confidence", 0) + 1
                continue
            if self._duplicate(tr.t, xs, ys):
                self.rejected["duplicate"] = self.rejected.get("duplicate", 0) + 1
                continue
            out.append(self._detection(tr, xs, ys, verdict))
        return out

    def _trim(
        self, tr: Track, xs: list[float], ys: list[float], verdict: Verdict
    ) -> tuple[Track, list[float], list[float], Verdict]:
        # A track can capture a falling object that passes close by (a raindrop's track), or
        # wander on into noise after the object landed: the object's fall is then a segment of
        # the track. Search segments longest first on a coarse grid (at most ~60 fits).
        n, need = len(tr.t), self.cfg.min_points
        step = max(1, (n - need) // 10)
        for length in range(n - step, need - 1, -step):
            for k in range(0, n - length + 1, step):
                m = k + length
                v = assess(tr.t[k:m], xs[k:m], ys[k:m], self.floors, self.cfg, self.fps)
                if v.ok:
                    cut = Track(tr.id, tr.t[k:m], tr.x[k:m], tr.y[k:m], tr.area[k:m])
                    return cut, xs[k:m], ys[k:m], v
        return tr, xs, ys, verdict

    def _keep_fragment(self, tr: Track) -> None:
        if len(tr.t) >= 3 and tr.y[-1] > tr.y[0] and len(self._fragments) < _MAX_FRAGMENTS:
            self._fragments.append(tr)

    def _duplicate(self, t: list[float], xs: list[float], ys: list[float]) -> bool:
        # A track broken by an occluder (a masked window, a tree branch) must not count twice:
        # its second half continues the parabola of the first.
        self._emitted = [e for e in self._emitted if t[0] - e.t_end <= _DEDUP_S]
        for e in self._emitted:
            dt = t[0] - e.t0
            if (
                abs(np.polyval(e.yfit, dt) - ys[0]) < 60
                and abs(np.polyval(e.xfit, dt) - xs[0]) < 30
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
