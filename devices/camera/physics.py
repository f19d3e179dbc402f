"""The physical test of a track: does y(t) look like free fall, and from which floor?"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from devices.camera.config import FallingConfig, Floors
from devices.camera.drag_fit import (
    DRAG_MAX_START,
    DRAG_MIN_VT,
    DRAG_SIGMA_FACTOR,
    G,
    drag_2d,
    drag_fit,
    lncosh,
    rms,
)
from devices.camera.track_shape import (
    accel_sigma,
    curvature_on_a_lone_end,
    descends,
    peel,
    turning,
    uniform_head,
)


class FloorMap:
    """Floor lines in full-frame pixels: which storey a point is on and the local pixel scale."""

    def __init__(self, floors: Floors) -> None:
        self.first = floors.first
        self.height_m = floors.height_m
        self._lines = np.array(floors.lines, dtype=np.float64)
        # The terms of `_ys` that do not depend on x (the judge asks for thousands of points a
        # second in heavy rain).
        x1, y1, x2, y2 = self._lines.T
        self._x1, self._y1, self._rise = x1.copy(), y1.copy(), y2 - y1
        self._span = np.where(np.abs(x2 - x1) < 1e-6, 1.0, x2 - x1)

    def _ys(self, x: float) -> np.ndarray:
        # Lines are extended beyond their drawn ends: a camera rarely sees a whole slab.
        return self._y1 + self._rise * (x - self._x1) / self._span

    def floor_at(self, x: float, y: float) -> int:
        """Storey whose band contains (x, y); above the roof line counts as the top storey."""
        above = int(np.sum(self._ys(x) > y))
        if above == 0:
            return self.first
        return self.first + min(above, len(self._lines) - 1) - 1

    def floor_px(self, x: float, y: float) -> float:
        """Height of one storey in pixels near (x, y): perspective shrinks it higher up."""
        ys = self._ys(x)
        gaps = -np.diff(ys)
        mids = (ys[:-1] + ys[1:]) / 2
        return float(gaps[int(np.argmin(np.abs(mids - y)))])

    def gravity_px(self, x: float, y: float) -> float:
        """Gravity in pixels per second squared at (x, y)."""
        return G * self.floor_px(x, y) / self.height_m


@dataclass(frozen=True)
class Verdict:
    """Outcome of the physical test."""

    ok: bool
    reason: str
    confidence: float = 0.0
    floor: int | None = None
    accel_ratio: float = 0.0
    sigma: float = 0.0  # how many standard errors the fitted acceleration lies above zero
    drag: bool = False  # passed as a fall slowed by air drag (see `_drag`), not free fall


def assess(
    t: list[float],
    x: list[float],
    y: list[float],
    floors: FloorMap,
    cfg: FallingConfig,
    fps: float,
    noise_px: float = 0.7,
    faint: int = 0,
) -> Verdict:
    """Judge a track given in seconds and full-frame pixels.

    `faint` frames within the track's span showed the object in their pixels without a blob
    (see `recover.Sightings.faint`): they count as seen for the sparse test only.

    `noise_px` is the centroid noise at the analysis resolution, in full-frame pixels: the
    acceleration must stand out from it by `min_accel_sigma` standard errors, which is what
    makes the same threshold mean the same at a storey of 20 px and of 80 px.
    """
    n = len(t)
    if n < cfg.min_points:
        return Verdict(False, "short")
    ts = np.asarray(t) - t[0]
    xs, ys = np.asarray(x), np.asarray(y)
    if ts[-1] < cfg.min_track_s:
        return Verdict(False, "brief")
    # A parabola fits any three clusters of points; demand that most frames were seen.
    if n + faint < 0.6 * (ts[-1] * fps + 1):
        return Verdict(False, "sparse")
    drop = ys[-1] - ys[0]
    fpx = floors.floor_px(xs[0], ys[0])
    # Evidence in metres and in pixels: at a far facade 0.8 storeys is a handful of pixels.
    if drop < cfg.min_drop_floors * fpx or drop < cfg.min_drop_px:
        return Verdict(False, "not_falling")
    if abs(xs[-1] - xs[0]) > cfg.max_dx_ratio * drop:
        return Verdict(False, "sideways")
    g_px = floors.gravity_px(xs[0], (ys[0] + ys[-1]) / 2)
    allow = cfg.max_rms_px + 0.01 * drop
    verdict = _parabola(ts, xs, ys, g_px, fpx, drop, allow, floors, cfg, fps, noise_px)
    if verdict.ok and verdict.confidence >= cfg.min_confidence:
        return verdict
    # (A parabola through a fall with drag still bends downwards.)
    if verdict.reason not in _DRAG_RETRY or not 0 < verdict.accel_ratio <= cfg.accel_max:
        return verdict
    # A light object slowed by air drag bends less than gravity's parabola over a long fall.
    drag = _drag(ts, xs, ys, g_px, fpx, drop, allow, floors, cfg, fps, noise_px)
    if drag is not None and drag.ok and (not verdict.ok or drag.confidence > verdict.confidence):
        return drag
    return verdict


# Why a parabola may fail where a fall with air drag passes (see `_drag`); "ok" is a pass that
# scored under `min_confidence`.
_DRAG_RETRY = frozenset({"ok", "not_ballistic", "erratic", "weak_curvature"})


def _parabola(
    ts: np.ndarray, xs: np.ndarray, ys: np.ndarray, g_px: float, fpx: float, drop: float,
    allow: float, floors: FloorMap, cfg: FallingConfig, fps: float, noise_px: float,
) -> Verdict:
    """The free-fall test: y(t) a parabola bending at gravity, x(t) a straight line."""
    coeffs = np.polyfit(ts, ys, 2)
    a, b, c = coeffs
    ratio = 2 * a / g_px
    if not cfg.accel_min <= ratio <= cfg.accel_max:
        return Verdict(False, "not_ballistic", accel_ratio=ratio)
    rms_y = rms(ys - np.polyval(coeffs, ts))
    if rms_y > allow:
        return Verdict(False, "erratic", accel_ratio=ratio)
    # Sideways motion of a thrown object is uniform; an insect or a leaf wanders.
    xfit = np.polyfit(ts, xs, 1)
    if rms(xs - np.polyval(xfit, ts)) > allow:
        return Verdict(False, "erratic_x", accel_ratio=ratio)
    if turning(ts, xs, coeffs, g_px, noise_px):
        return Verdict(False, "turning", accel_ratio=ratio)
    if not descends(ts, ys, coeffs, fps, noise_px):
        return Verdict(False, "not_monotonic", accel_ratio=ratio)
    sigma = accel_sigma(ts, ys, coeffs, noise_px)
    if sigma < cfg.min_accel_sigma:
        return Verdict(False, "weak_curvature", accel_ratio=ratio, sigma=sigma)
    if curvature_on_a_lone_end(ts, ys, g_px, cfg, fps, noise_px):
        return Verdict(False, "lone_end", accel_ratio=ratio, sigma=sigma)
    if uniform_head(ts, ys, g_px, fpx, cfg, noise_px):
        return Verdict(False, "uniform_head", accel_ratio=ratio, sigma=sigma)
    # The release point is where vertical speed was zero; if that lies shortly before the first
    # sighting (the object was hidden behind a masked window, or the start was missed) use it.
    start_x, start_y = xs[0], ys[0]
    t_vertex = -b / (2 * a)
    if -1.5 <= t_vertex < 0:
        start_y = float(c - b * b / (4 * a))
        start_x = float(np.polyval(xfit, t_vertex))
    floor = floors.floor_at(start_x, start_y)
    return Verdict(True, "ok", confidence(ratio, sigma, drop / fpx, ts[-1]), floor, ratio, sigma)


def _drag(
    ts: np.ndarray, xs: np.ndarray, ys: np.ndarray, g_px: float, fpx: float, drop: float,
    allow: float, floors: FloorMap, cfg: FallingConfig, fps: float, noise_px: float,
) -> Verdict | None:
    """The fall-with-drag test (see `DRAG_MIN_VT`): the same evidence as the parabola's, on the
    drag curve. Gravity's ratio, the bend's standard errors, the residuals, the descent and the
    lone-end test are judged as for a parabola; sideways, the drift must slow as the same drag
    slows it (a glide that keeps its sideways speed does not), and nothing may turn."""
    fit = drag_fit(ts, ys, g_px, fps, noise_px)
    if fit is None:
        return None
    ratio = fit.ratio
    if not cfg.accel_min <= ratio <= cfg.accel_max:
        return Verdict(False, "not_ballistic", accel_ratio=ratio)
    if fit.rms > allow:
        return Verdict(False, "erratic", accel_ratio=ratio)
    xb = np.column_stack([np.ones(len(ts)), fit.x_basis(ts)])
    xcoef, *_ = np.linalg.lstsq(xb, xs, rcond=None)
    if rms(xs - xb @ xcoef) > allow:
        return Verdict(False, "erratic_x", accel_ratio=ratio)
    if turning(ts, xs, np.polyfit(ts, ys, 2), g_px, noise_px):
        return Verdict(False, "turning", accel_ratio=ratio)
    if not descends(ts, ys, np.polyfit(ts, ys, 2), fps, noise_px):
        return Verdict(False, "not_monotonic", accel_ratio=ratio)
    # The drag curve has a free parameter more than the parabola (the drag, searched over a
    # grid with the release time), so its bend must stand out twice as far to mean as much:
    # a snowflake drifting down a far night facade, sped up a little by the noise, bent at
    # 8 standard errors on it (set 1300, clip 1313); the light objects found bend at 15-40.
    if fit.sigma < DRAG_SIGMA_FACTOR * cfg.min_accel_sigma:
        return Verdict(False, "weak_curvature", accel_ratio=ratio, sigma=fit.sigma)
    for from_start in (True, False):
        k = peel(ts, fps, from_start) if len(ts) >= 5 else 0
        if not k:
            continue
        tt, yy = (ts[k:], ys[k:]) if from_start else (ts[:-k], ys[:-k])
        peeled = drag_fit(tt - tt[0], yy, g_px, fps, noise_px) if len(tt) >= 6 else None
        if (
            peeled is None
            or not cfg.accel_min <= peeled.ratio <= cfg.accel_max
            or peeled.sigma < 0.5 * DRAG_SIGMA_FACTOR * cfg.min_accel_sigma
        ):
            return Verdict(False, "lone_end", accel_ratio=ratio, sigma=fit.sigma)
    if uniform_head(ts, ys, g_px, fpx, cfg, noise_px):
        return Verdict(False, "uniform_head", accel_ratio=ratio, sigma=fit.sigma)
    # The curve above takes the drag from the vertical speed alone. Drag acts on the whole
    # speed: something moving fast sideways (a bird past the top of its arc, a glide that
    # keeps its sideways speed) would be slowed sideways and held back downwards at once.
    # So the whole track must be one point mass under gravity and quadratic drag, in both
    # axes, with a terminal speed no lower than `DRAG_MIN_VT`.
    z0 = -fit.u * fit.tau
    gfit = ratio * g_px
    p0 = np.array([
        xcoef[0] + xcoef[1] * float(fit.x_basis(np.zeros(1))[0]),
        fit.y_r + gfit * float(lncosh(np.array([z0]))[0]) / fit.u**2,
        xcoef[1] / math.cosh(z0),
        gfit / fit.u * math.tanh(z0),
        fit.u**2 / gfit,
        gfit,
    ])
    p, rms_x, rms_y = drag_2d(ts, xs, ys, p0, fps)
    ratio = float(p[5]) / g_px
    vt_m = math.sqrt(p[5] / p[4]) * G / g_px if p[4] > 0 else math.inf
    # As well as the free descriptions of each axis (the vertical drag curve, a straight or
    # slowing sideways drift), up to half as much again and two centroid noises.
    free_x = min(rms(xs - xb @ xcoef), rms(xs - np.polyval(np.polyfit(ts, xs, 1), ts)))
    if (
        rms_x > 1.5 * free_x + 2 * noise_px
        or rms_y > 1.5 * fit.rms + 2 * noise_px
        or not cfg.accel_min <= ratio <= cfg.accel_max
        or vt_m < DRAG_MIN_VT
        # Gravity must be seen at work: something moving near its terminal speed from the
        # first sighting on is all drag (a bird past the top of an arc, a snowflake drifting
        # down, a glide, all draw such curves); a thrown object leaves the hand slower.
        or math.hypot(p[2], p[3]) * G / g_px > DRAG_MAX_START * vt_m
    ):
        return Verdict(False, "not_drag", accel_ratio=ratio, sigma=fit.sigma)
    start_x, start_y = xs[0], ys[0]
    if fit.tau < 0:
        start_y = fit.y_r
        start_x = float(xcoef[0])  # x_r, where the basis is zero: at tau
    floor = floors.floor_at(start_x, start_y)
    conf = confidence(ratio, fit.sigma, drop / fpx, ts[-1])
    return Verdict(True, "ok", conf, floor, ratio, fit.sigma, drag=True)


def confidence(ratio: float, sigma: float, storeys: float, seconds: float) -> float:
    """0..1 from how close the acceleration is to gravity, how well it is measured, and how
    much fall there is. Built from scale-free quantities only, so one threshold fits every
    camera: a 0.5 s fragment at a far facade has a poorly measured acceleration and scores low.
    """
    closeness = max(0.0, 1.0 - abs(math.log(ratio)) / math.log(2.0))
    evidence = min(1.0, max(0.0, (sigma - 4.0) / 16.0))
    extent = min(1.0, storeys / 2.0) * min(1.0, seconds / 0.8)
    return round(min(1.0, 0.2 + 0.3 * closeness + 0.3 * evidence + 0.2 * extent), 3)
