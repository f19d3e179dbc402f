"""Fire-lane occupation (消防通道占用): standing objects against an empty-lane reference."""

from __future__ import annotations

import math

import cv2
import numpy as np

from devices.camera.config import FireLaneConfig
from devices.camera.detection import Detection
from devices.camera.lanezone import ZoneState, step, track_presence, zone_state
from devices.camera.region import Crop, crop_for

# Dark scenes have less contrast: the threshold follows the lane brightness down to this floor.
_MIN_THRESHOLD = 8.0
_CONTRAST = 0.3
_GHOST_RATIO = 1.6
# Resolution: the smallest zone keeps at least this many analysis pixels (a far zone's bicycle
# must not shrink to a few pixels), the whole window at most the budget unless that needs more.
_ZONE_PIXELS = 12_000
_BUDGET = 160_000
# A changed pixel's counter drops by two per unchanged frame instead of resetting: noise on a
# low-contrast object (a grey box on grey asphalt) must not restart its standing time, yet the
# counter tops out `_HOLD_S` above the standing mark so a spot reads free soon after it is.
_HOLD_S = 1.0
_DECAY = 2


def _edges(image: np.ndarray) -> np.ndarray:
    # Structural edges only: smoothed first and weak gradients dropped, so the grain of the
    # asphalt and sensor noise (which grow with the analysis resolution) do not add up.
    gray = cv2.GaussianBlur(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), (5, 5), 1.2)
    gx = cv2.Sobel(gray, cv2.CV_16S, 1, 0)
    gy = cv2.Sobel(gray, cv2.CV_16S, 0, 1)
    mag = cv2.add(cv2.convertScaleAbs(gx), cv2.convertScaleAbs(gy))
    return np.where(mag >= 40, mag, 0).astype(np.int32)


def _area(poly: list[tuple[float, float]]) -> float:
    a = np.asarray(poly, np.float64)
    return 0.5 * abs(
        float(np.dot(a[:, 0], np.roll(a[:, 1], 1)) - np.dot(a[:, 1], np.roll(a[:, 0], 1)))
    )


def lane_crop(cfg: FireLaneConfig, frame_size: tuple[int, int]) -> Crop:
    """Where and at what resolution the zones are analysed."""
    polys = [z.polygon for z in cfg.zones]
    if cfg.detect_width:
        return crop_for(polys, frame_size, 0, 0.0, fixed_scale=cfg.detect_width / frame_size[0])
    smallest = max(1.0, min(_area(p) for p in polys))
    need = min(1.0, math.sqrt(_ZONE_PIXELS / smallest))
    return crop_for(polys, frame_size, _BUDGET, need)


class FireLaneDetector:
    """Finds objects that came to rest in a fire-lane polygon and times how long they stay."""

    def __init__(self, cfg: FireLaneConfig, frame_size: tuple[int, int]) -> None:
        self.cfg = cfg
        self.crop = lane_crop(cfg, frame_size)
        self.size = self.crop.size
        s = self.crop.scale
        self.zones: list[ZoneState] = [
            zone_state(z, self.crop.mask([z.polygon]), s) for z in cfg.zones
        ]
        self._union = self.crop.mask([z.polygon for z in cfg.zones])
        self._bg: np.ndarray | None = None
        self._count = np.zeros(self.size[::-1], np.int16)
        self._first = np.zeros(self.size[::-1], np.float32)  # when each changed run began
        self._last_t: float | None = None
        self._kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3))
        self.static_mask = np.zeros(self.size[::-1], np.uint8)

    def process(self, t: float, image: np.ndarray) -> list[Detection]:
        """Analyse one conditioned BGR analysis image (the zones' crop)."""
        if self._bg is None:
            self._bg = image.astype(np.float32)
            self._last_t = t
            return []
        dt = max(1e-3, t - (self._last_t if self._last_t is not None else t))
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
        changed = diff > thr
        # Persistence: a counter per pixel that rises while the pixel differs from the empty
        # lane and falls (not resets) while it does not. Passing traffic never gets far; a
        # parked bicycle whose thin frame is missed in one frame of three still does.
        need = max(1, math.ceil(self.cfg.static_s / dt))
        cap = need + max(1, math.ceil(_HOLD_S / dt))
        started = changed & (self._count == 0)
        self._first[started] = t
        self._count = np.where(
            changed, np.minimum(self._count + 1, cap), np.maximum(self._count - _DECAY, 0)
        ).astype(np.int16)
        standing = self._count >= need
        self.static_mask = standing.astype(np.uint8) * 255
        # The empty-lane reference learns only where nothing is or was recently: a box that
        # stands for an hour is never absorbed, so the lane stays blocked while it stays.
        busy = cv2.dilate(
            ((self._count > 0) | changed).astype(np.uint8), self._kernel, iterations=2
        )
        alpha = min(1.0, dt / self.cfg.background_s)
        cv2.accumulateWeighted(image, self._bg, alpha, mask=cv2.bitwise_not(busy * 255))
        out = []
        s2 = self.crop.scale**2
        for state in self.zones:
            zone_static = cv2.bitwise_and(self.static_mask, state.mask)
            area = cv2.countNonZero(zone_static)
            if state.since is None and area and self._ghost(image, bg8, zone_static):
                area = 0
                zone_static[:] = 0
            state.share = area / s2 / state.area_px
            occupied = area / s2 >= state.threshold_px
            if state.since is not None or occupied:
                track_presence(state, t, image, zone_static, thr)
            arrival = t - self.cfg.static_s
            if occupied and state.since is None:
                firsts = self._first[zone_static > 0]
                if firsts.size:
                    arrival = float(np.median(firsts))
            det = step(state, self.cfg, t, occupied, arrival, dt)
            if det is not None:
                out.append(det)
        return out

    def _ghost(self, image: np.ndarray, bg8: np.ndarray, region: np.ndarray) -> bool:
        # A car that was parked when the analyzer started is part of the first background;
        # when it leaves, the empty lane looks "changed". An object brings its outline, a
        # ghost takes one away: along the changed blob's border the current picture has
        # strong edges for an object, the background has them for a ghost (the lane's own
        # markings cross the border in both and cancel out). A ghost is learnt as empty lane.
        if cv2.countNonZero(region) < 20:
            return False
        # Judge and absorb the whole changed blob the standing pixels belong to: pixels a
        # departing car uncovered last have not reached the standing time yet.
        changed = ((self._count > 0) & (self._union > 0)).astype(np.uint8)
        _, labels = cv2.connectedComponents(changed, connectivity=8)
        ids = np.unique(labels[region > 0])
        blob = np.isin(labels, ids[ids > 0]).astype(np.uint8)
        outer = cv2.dilate(blob, self._kernel, iterations=2)
        ring = (outer > 0) & (cv2.erode(blob, self._kernel, iterations=2) == 0)
        now = _edges(image)[ring].sum()
        before = _edges(bg8)[ring].sum()
        if before <= _GHOST_RATIO * now:
            return False
        assert self._bg is not None
        grown = outer > 0
        self._bg[grown] = image[grown]
        self._count[grown] = 0
        return True

    def polygon(self, zone_id: str) -> list[tuple[float, float]]:
        """The polygon of a zone, full-frame pixels."""
        for s in self.zones:
            if s.zone.id == zone_id:
                return list(s.zone.polygon)
        raise KeyError(zone_id)
