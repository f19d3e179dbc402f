"""Style B fire lane: procedural asphalt and grid paint, shaded objects with soft shadows."""

from __future__ import annotations

import math

import cv2
import numpy as np

from simulators.video.actors import apparent_size
from simulators.video.geometry import H, W
from simulators.video.random_lane_plan import LanePlan
from simulators.video.style_b import raster
from simulators.video.style_b.weather import Precipitation

_SUPER = 2


def _ground(plan: LanePlan, rng: np.random.Generator) -> np.ndarray:
    geo = plan.geo
    inv = np.linalg.inv(geo.h)
    ys, xs = np.mgrid[0 : H * _SUPER, 0 : W * _SUPER].astype(np.float32)
    xs = (xs + 0.5) / _SUPER
    ys = (ys + 0.5) / _SUPER
    den = inv[2, 0] * xs + inv[2, 1] * ys + inv[2, 2]
    u = (inv[0, 0] * xs + inv[0, 1] * ys + inv[0, 2]) / den
    v = (inv[1, 0] * xs + inv[1, 1] * ys + inv[1, 2]) / den
    hs, ws = u.shape
    # Behind the far end: a wall with a row of windows; the horizon is where den changes sign.
    img = np.empty((hs, ws, 3), np.float32)
    img[:] = (150, 165, 175)
    row = (ys > 40) & (ys < 150) & (np.mod(xs, 150) < 90)
    img[row] = (95, 80, 72)
    ground = (den > 0) & (u > -60) & (u < geo.length_m + 200)
    grain = raster.value_noise((hs, ws), 5, rng)
    blotch = raster.value_noise((hs, ws), 70, rng)
    asphalt = (78 + 7 * grain + 9 * blotch)[..., None] * np.array((1.0, 1.0, 1.04), np.float32)
    verge = (v < -4) | (v > geo.width_m + 4)
    grass = np.stack([50 + 12 * grain, 100 + 20 * blotch, 60 + 10 * grain], -1)
    surf = np.where(verge[..., None], grass, asphalt)
    in_lane = (u >= 0) & (u <= geo.length_m) & (v >= 0) & (v <= geo.width_m)
    border = in_lane & (
        (v < 0.15) | (v > geo.width_m - 0.15) | (u < 0.15) | (u > geo.length_m - 0.15)
    )
    for _, u0, _ in geo.zones()[1:]:
        border |= in_lane & (abs(u - u0) < 0.12)
    grid = in_lane & ((np.mod(u + v, 1.6) < 0.1) | (np.mod(u - v, 1.6) < 0.1))
    paint = np.array((20, 175, 215), np.float32) * (0.9 + 0.1 * grain[..., None])
    surf = np.where((border | grid)[..., None], paint, surf)
    img = np.where(ground[..., None], surf, img)
    out = np.clip(img, 0, 255).astype(np.uint8)
    return cv2.resize(out, (W, H), interpolation=cv2.INTER_AREA)


def _segments(segs: list[tuple[float, float, float, float]], width: float) -> raster.Shape:
    """Coverage of thick line segments given in the unit frame (bicycle frames, wheels)."""

    def f(u: np.ndarray, v: np.ndarray) -> np.ndarray:
        out = np.zeros(u.shape, bool)
        for x0, y0, x1, y1 in segs:
            dx, dy = x1 - x0, y1 - y0
            t = np.clip(((u - x0) * dx + (v - y0) * dy) / (dx * dx + dy * dy + 1e-9), 0, 1)
            out |= np.hypot(u - x0 - t * dx, v - y0 - t * dy) < width
        return out.astype(np.float32)

    return f


def _ring(cx: float, cy: float, r: float, width: float) -> raster.Shape:
    return lambda u, v: (abs(np.hypot(u - cx, v - cy) - r) < width).astype(np.float32)


class StyleBLane:
    """Renders frames of a randomised lane plan in style B; call `frame(i)` in order."""

    def __init__(self, plan: LanePlan) -> None:
        self.plan = plan
        rng = np.random.default_rng(plan.seed * 5 + 1)
        w = plan.weather
        self._night = w.night
        base = _ground(plan, rng)
        if w.night:
            base = cv2.convertScaleAbs(base, alpha=0.3)
            # Street lamps leave pools of light on the road.
            pools = np.zeros((H, W), np.float32)
            for _ in range(3):
                u = float(rng.uniform(0, plan.geo.length_m))
                x, y = plan.geo.to_image(u, float(rng.uniform(-2, plan.geo.width_m + 2)))
                r = 3.0 * plan.geo.px_per_m(u, 2.0)
                cv2.circle(pools, (int(x), int(y)), max(2, int(r)), 1.0, -1)
            pools = cv2.GaussianBlur(pools, (0, 0), 25)
            base = np.clip(base * (1 + 1.4 * pools[..., None]), 0, 255).astype(np.uint8)
        self._base = base
        self._exposure = raster.Exposure(w.gains, plan.fps)
        self._noise = raster.ShotNoise(base, 3.0 if w.night else 1.4, plan.seed + 21)
        self._precip = Precipitation(w.rain, w.snow, w.night, plan.seed + 9)
        self._jpeg = int(rng.integers(35, 75)) if rng.random() < 0.6 else 0
        self._cache: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}
        self._disc = raster.sprite(raster.shape_fn("ball"), 8.0, 0.0, (0.0, 0.0), light=False)[2]

    def frame(self, index: int) -> np.ndarray:
        """The rendered BGR frame at `index`."""
        t = index / self.plan.fps
        img = self._base.copy()
        items: list[tuple[float, str, tuple, float, float, float, bool]] = []
        for s in self.plan.stops:
            off = s.offset_m(t)
            if off is not None:
                items.append((s.u + off, s.kind, s.color, s.u + off, s.v, s.yaw_deg, off != 0))
        for p in self.plan.passers:
            pos = p.at(t)
            if pos is not None:
                items.append((pos[0], p.kind, p.color, pos[0], pos[1], 0.0, True))
        for _, kind, color, u, v, yaw, moving in sorted(items, key=lambda it: -it[0]):
            self._object(img, kind, color, u, v, yaw, moving, t)
        img = self._precip.apply(img, t)
        img = cv2.convertScaleAbs(img, alpha=self._exposure.gain(t))
        img = raster.move(img, raster.jiggle(self.plan.weather.shakes, t))
        img = self._noise.apply(img)
        if self._jpeg:
            img = raster.jpeg_roundtrip(img, self._jpeg)
        return img

    def _tone(self, c: tuple) -> tuple[float, float, float]:
        k = 0.33 if self._night else 1.0
        return c[0] * k, c[1] * k, c[2] * k

    def _object(
        self,
        img: np.ndarray,
        kind: str,
        color: tuple,
        u: float,
        v: float,
        yaw: float,
        moving: bool,
        t: float,
    ) -> None:
        geo = self.plan.geo
        if not -5 < u < geo.length_m + 5:
            return
        w, h = apparent_size(geo, kind, u, v, yaw)
        if not (w <= 1.2 * W and h <= 1.2 * H):
            return  # at or behind the camera: nothing sensible to draw (and no memory for it)
        x, y = geo.to_image(u, v)
        # Soft contact shadow first.
        shadow = cv2.resize(self._disc, (max(2, int(w * 1.1)), max(2, int(0.18 * h) + 1)))
        raster.composite(
            img,
            int(x - shadow.shape[1] / 2),
            int(y - shadow.shape[0] / 2),
            0.45 * shadow,
            (10, 10, 10),
        )
        half = max(w, h) / 2
        cx, cy = x, y - h / 2
        sx, sy = w / (2 * half), h / (2 * half)  # box extent in the unit frame
        if kind == "car":

            def shape(a: np.ndarray, b: np.ndarray) -> np.ndarray:
                lower = (abs(a) < sx) & (b > -0.1 * sy) & (b < 0.8 * sy)
                upper = (abs(a) < 0.75 * sx) & (b >= -sy) & (b <= -0.1 * sy)
                return (lower | upper).astype(np.float32)
        elif kind == "boxes":

            def shape(a: np.ndarray, b: np.ndarray) -> np.ndarray:
                low = (abs(a) < sx) & (b > 0)
                top = (a > -0.8 * sx) & (a < 0.5 * sx) & (b > -sy) & (b <= 0)
                return (low | top).astype(np.float32)
        elif kind == "person":
            stride = 0.25 * math.sin(2 * math.pi * 1.7 * t) if moving else 0.0
            shape = _segments(
                [
                    (0, -0.85 * sy, 0, 0.1 * sy),
                    (0, 0.1 * sy, -0.3 * sx + stride, sy),
                    (0, 0.1 * sy, 0.3 * sx - stride, sy),
                ],
                0.28 * sx + 0.02,
            )
        else:
            r = 0.32 * sy
            wheel_l, wheel_r = -sx + r, sx - r
            segs = [(wheel_l, sy - r, 0, 0), (0, 0, wheel_r, sy - r), (0, 0, wheel_r, -sy + 0.2)]
            frame_shape = _segments(segs, 0.05 + 0.04 * (kind != "bicycle"))
            wheels = [_ring(wheel_l, sy - r, r, 0.06), _ring(wheel_r, sy - r, r, 0.06)]
            if kind == "tricycle":
                wheels.append(_ring(0.0, sy - r, r, 0.06))
            solid = kind in ("ebike", "scooter", "tricycle")

            def shape(a: np.ndarray, b: np.ndarray) -> np.ndarray:
                out = frame_shape(a, b)
                for wf in wheels:
                    out = np.maximum(out, wf(a, b))
                if solid:
                    out = np.maximum(
                        out,
                        ((abs(a) < 0.6 * sx) & (b > -0.2 * sy) & (b < 0.35 * sy)).astype(
                            np.float32
                        ),
                    )
                return out

        # A standing object looks the same every frame: render its sprite once.
        key = (
            kind,
            color,
            round(w),
            round(h),
            round(2 * math.sin(2 * math.pi * 1.7 * t)) if moving else 9,
        )
        if key not in self._cache:
            if len(self._cache) > 256:
                self._cache.clear()
            _, _, a, shade = raster.sprite(shape, half, 0.0, (0.0, 0.0))
            self._cache[key] = (a, shade)
        a, shade = self._cache[key]
        n = a.shape[0]
        raster.composite(img, round(cx) - n // 2, round(cy) - n // 2, a, self._tone(color), shade)
        if self._night and moving and kind in ("car", "ebike"):
            # Headlights sweep the road ahead: a bright, soft, moving patch.
            raster.soft_dot(img, x, y + 0.1 * h, max(2.0, 0.5 * w), (170, 200, 220), 0.5)
