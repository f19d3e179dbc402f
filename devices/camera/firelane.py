"""Fire-lane occupation (消防通道占用): standing objects via an empty-lane background."""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from devices.camera.config import FireLaneConfig, FireLaneZone
from devices.camera.detection import Detection
from devices.camera.falling import region_mask

# A dropout shorter than this (a truck's shadow, a noisy frame) does not restart the dwell clock.
_GAP_S = 2.0
# Dark scenes have less contrast: the threshold follows the lane brightness down to this floor.
_MIN_THRESHOLD = 8.0
_CONTRAST = 0.3
_GHOST_RATIO = 1.6


def _edges(image: np.ndarray) -> np.ndarray:
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    gx = cv2.Sobel(gray, cv2.CV_16S, 1, 0)
    gy = cv2.Sobel(gray, cv2.CV_16S, 0, 1)
    return cv2.add(cv2.convertScaleAbs(gx), cv2.convertScaleAbs(gy)).astype(np.int32)


@dataclass
class ZoneState:
    """Per-zone occupancy clock."""

    zone: FireLaneZone
    mask: np.ndarray
    area_px: int
    since: float | None = None
    free_since: float | None = None
    blocked: bool = False
    share: float = 0.0


class FireLaneDetector:
    """Finds objects that came to rest in a fire-lane polygon and times how long they stay."""

    def __init__(self, cfg: FireLaneConfig, frame_size: tuple[int, int]) -> None:
        self.cfg = cfg
        fw, fh = frame_size
        self.scale = cfg.detect_width / fw
        self.size = (cfg.detect_width, round(fh * self.scale))
        self.zones = []
        for zone in cfg.zones:
            mask = region_mask(self.size, self.scale, [zone.polygon], [])
            self.zones.append(ZoneState(zone, mask, max(1, cv2.countNonZero(mask))))
        self._union = region_mask(self.size, self.scale, [z.polygon for z in cfg.zones], [])
        self._bg: np.ndarray | None = None
        self._count = np.zeros(self.size[::-1], np.uint16)
        self._last_t: float | None = None
        self._kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3))
        self.static_mask = np.zeros(self.size[::-1], np.uint8)

    def process(self, t: float, image: np.ndarray) -> list[Detection]:
        """Analyse one conditioned BGR frame at the fire-lane analysis size."""
        if self._bg is None:
            self._bg = image.astype(np.float32)
            self._last_t = t
            return []
        dt = t - (self._last_t if self._last_t is not None else t)
        self._last_t = t
        bg8 = cv2.convertScaleAbs(self._bg)
        inside = bg8[self._union > 0]
        level = float(np.median(inside)) if inside.size else 128.0
        thr = min(self.cfg.threshold, max(_MIN_THRESHOLD, _CONTRAST * level))
        # Distance outside the background's 3x3 neighbourhood range: a sub-pixel misalignment
        # left by shake moves edges (the painted hatching) by less than a pixel and must not
        # count, a car body differs from every neighbour. The largest channel counts, so a
        # change of hue weighs as much as one of brightness.
        lo = cv2.erode(bg8, self._kernel)
        hi = cv2.dilate(bg8, self._kernel)
        diff = cv2.max(cv2.subtract(image, hi), cv2.subtract(lo, image)).max(axis=2)
        _, fg = cv2.threshold(diff, thr, 255, cv2.THRESH_BINARY)
        fg = cv2.morphologyEx(fg, cv2.MORPH_OPEN, self._kernel)
        # Persistence: how many consecutive analysed frames each pixel has differed from the
        # empty lane. Passing traffic never accumulates enough; a parked car does.
        self._count = np.where(fg > 0, np.minimum(self._count + 1, 60_000), 0).astype(np.uint16)
        frames_needed = max(1, math.ceil(self.cfg.static_s / max(dt, 1e-3)))
        self.static_mask = np.where(self._count >= frames_needed, 255, 0).astype(np.uint8)
        # Only pixels that look like the empty lane teach the background, so a parked car is
        # never absorbed and cannot leave a "ghost" behind when it drives off.
        alpha = min(1.0, dt / self.cfg.background_s)
        cv2.accumulateWeighted(image, self._bg, alpha, mask=cv2.bitwise_not(fg))
        out = []
        for state in self.zones:
            zone_static = cv2.bitwise_and(self.static_mask, state.mask)
            area = cv2.countNonZero(zone_static)
            if state.since is None and area and self._ghost(image, bg8, zone_static):
                area = 0
            state.share = area / state.area_px
            det = self._step(state, t, state.share >= state.zone.min_area_frac)
            if det is not None:
                out.append(det)
        return out

    def _ghost(self, image: np.ndarray, bg8: np.ndarray, region: np.ndarray) -> bool:
        # A car that was parked when the analyzer started is part of the first background;
        # when it leaves, the empty lane looks "changed". Objects add edges, a ghost removes
        # them: if the background has clearly more edges there, learn the lane as it is now.
        if cv2.countNonZero(region) < 20:
            return False
        # Judge and absorb the whole changed blob the standing pixels belong to: pixels a
        # departing car uncovered last have not reached the standing time yet.
        changed = ((self._count > 0) & (self._union > 0)).astype(np.uint8)
        _, labels = cv2.connectedComponents(changed, connectivity=8)
        ids = np.unique(labels[region > 0])
        blob = np.isin(labels, ids[ids > 0])
        # Grown by two pixels so the departed object's outline, the strongest edge, is in.
        rim = cv2.dilate(blob.astype(np.uint8), self._kernel, iterations=2) > 0
        now = _edges(image)[rim].sum()
        before = _edges(bg8)[rim].sum()
        if before <= _GHOST_RATIO * now:
            return False
        assert self._bg is not None
        self._bg[rim] = image[rim]
        self._count[rim] = 0
        return True

    def _step(self, s: ZoneState, t: float, occupied: bool) -> Detection | None:
        cfg = self.cfg
        if occupied:
            s.free_since = None
            if s.since is None:
                s.since = max(0.0, t - cfg.static_s)
            if not s.blocked and t - s.since >= cfg.dwell_s:
                s.blocked = True
                conf = min(1.0, 0.6 + 0.4 * min(1.0, s.share / (3 * s.zone.min_area_frac)))
                return Detection(
                    type="fire_lane_blocked",
                    t=t,
                    confidence=round(conf, 3),
                    zone=s.zone.id,
                    dwell_s=t - s.since,
                )
            return None
        if s.since is None:
            return None
        if s.free_since is None:
            s.free_since = t
        if not s.blocked:
            if t - s.free_since > _GAP_S:
                s.since, s.free_since = None, None
            return None
        if t - s.free_since >= cfg.clear_s:
            s.blocked = False
            s.since, s.free_since = None, None
            return Detection(type="fire_lane_cleared", t=t, confidence=0.9, zone=s.zone.id)
        return None

    def polygon(self, zone_id: str) -> list[tuple[float, float]]:
        """The polygon of a zone, full-frame pixels."""
        for s in self.zones:
            if s.zone.id == zone_id:
                return list(s.zone.polygon)
        raise KeyError(zone_id)
