"""Rendering style A of a randomised facade plan: the legacy look (OpenCV primitives, noise bank).

The static building is painted on a rectified canvas (metres → pixels) and warped into the
frame once; moving things are drawn straight into the frame where the geometry projects them.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from simulators.video.actors import Drop
from simulators.video.effects import Noise, Rain, apply_gain, apply_shake, gain_at, shake_offset
from simulators.video.geometry import FacadeGeometry, H, W
from simulators.video.random_plan import FacadePlan
from simulators.video.timeline import Episode, GainStep

_CANVAS_PX_PER_M = 30


def effect_lists(plan_weather: object) -> tuple[list[GainStep], list[Episode]]:
    """The plan's exposure steps and shakes as the legacy effect records."""
    gains = [GainStep(t, g, r) for t, g, r in plan_weather.gains]  # type: ignore[attr-defined]
    shakes = [
        Episode(t, d, a, int(t * 10) % 100)
        for t, d, a in plan_weather.shakes  # type: ignore[attr-defined]
    ]
    return gains, shakes


def _building(geo: FacadeGeometry, night: bool, rng: np.random.Generator) -> np.ndarray:
    """The facade warped into an otherwise empty frame, with a validity mask in channel order."""
    k = _CANVAS_PX_PER_M
    cw, ch = int(geo.width_m * k) + 1, int(geo.height_m * k) + 1
    wall = np.array((52, 55, 60) if night else rng.integers(150, 205, 3), np.float32)
    slab = wall * 0.8
    glass = (28, 24, 22) if night else (120, 100, 88)
    canvas = np.empty((ch, cw, 3), np.float32)
    canvas[:] = wall
    canvas += rng.normal(0, 4 if night else 6, (ch, cw, 1)).astype(np.float32)
    canvas = np.clip(canvas, 0, 255).astype(np.uint8)
    slab_c = tuple(int(c) for c in slab)

    def cy(z: float) -> int:
        return int(ch - 1 - z * k)

    for f in range(geo.floors + 1):
        y = cy(f * geo.storey_m)
        cv2.rectangle(canvas, (0, y - 3), (cw - 1, y + 3), slab_c, -1)
    for f in range(1, geo.floors + 1):
        for c in range(geo.columns):
            u0, z0, u1, z1 = geo.window(f, c)
            p0, p1 = (int(u0 * k), cy(z1)), (int(u1 * k), cy(z0))
            cv2.rectangle(canvas, p0, p1, glass, -1)
            cv2.rectangle(canvas, p0, p1, slab_c, 2)
            cv2.line(
                canvas, ((p0[0] + p1[0]) // 2, p0[1]), ((p0[0] + p1[0]) // 2, p1[1]), slab_c, 1
            )
    # Canvas pixel (x, y) is facade (x / k, (ch - 1 - y) / k): compose with the geometry.
    to_m = np.array([[1 / k, 0, 0], [0, -1 / k, (ch - 1) / k], [0, 0, 1]])
    return cv2.warpPerspective(canvas, geo.h @ to_m, (W, H), flags=cv2.INTER_AREA)


def _contrast(base: np.ndarray, plan: FacadePlan, drop: Drop, color: tuple) -> float:
    """Median over the first second of the fall of max(|object - wall|) over the channels."""
    diffs = []
    for k in range(int(plan.fps)):
        p = drop.at(plan.geo, drop.t + k / plan.fps)
        if p is None:
            break
        x, y = int(np.clip(p[0], 0, W - 1)), int(np.clip(p[1], 0, H - 1))
        wall = base[y, x].astype(np.float64)
        diffs.append(float(np.max(np.abs(np.asarray(color, np.float64) - wall))))
    return round(float(np.median(diffs)), 1) if diffs else 0.0


class StyleAFacade:
    """Renders frames of a randomised facade plan; call `frame(i)` with increasing i."""

    def __init__(self, plan: FacadePlan) -> None:
        self.plan = plan
        rng = np.random.default_rng(plan.seed)
        night = plan.weather.night
        self._night = night
        sky = (60, 35, 20) if night else (225, 195, 150)
        ground = (35, 38, 40) if night else (120, 125, 125)
        base = np.empty((H, W, 3), np.uint8)
        base[:] = sky
        bl, br = plan.geo.corners[0], plan.geo.corners[1]
        base[int(min(bl[1], br[1])) :] = ground
        building = _building(plan.geo, night, rng)
        quad = np.round(np.array(plan.geo.corners)).astype(np.int32)
        inside = np.zeros((H, W), np.uint8)
        cv2.fillConvexPoly(inside, quad, 255)
        base[inside > 0] = building[inside > 0]
        self._base = base
        self._noise = Noise((H, W), 4.5 if night else 2.5, plan.seed + 1)
        w = plan.weather
        self._rain = Rain(w.rain, 26 if night else 40, plan.seed + 2) if w.rain else None
        self._gains, self._shakes = effect_lists(w)
        self._lit = set(plan.lit)
        self._events = sorted(
            (e for e in plan.windows if e.kind in ("on", "off")), key=lambda e: e.t
        )
        self._next = 0
        self._steady = [e for e in plan.windows if e.kind in ("flicker", "curtain")]
        self._quads = {
            (f, c): np.round(plan.geo.window_quad(f, c)).astype(np.int32)
            for f in range(1, plan.geo.floors + 1)
            for c in range(plan.geo.columns)
        }
        self._snow = (
            np.random.default_rng(plan.seed + 3).uniform(0, 1, (w.snow, 4)) if w.snow else None
        )

    def frame(self, index: int) -> np.ndarray:
        """The rendered BGR frame at `index`."""
        t = index / self.plan.fps
        img = self._base.copy()
        self._windows(img, t)
        # Depth order: thrown things fall in front of the wall but behind the trees.
        for drop in self.plan.drops:
            self._drop(img, drop, t)
        self._trees(img, t)
        for fl in self.plan.flyers:
            p = fl.at(t)
            if p is not None:
                self._bird(img, p, fl.size_px, math.sin(2 * math.pi * fl.flap_hz * (t - fl.t)))
        for dr in self.plan.drifters:
            p = dr.at(t)
            if p is not None:
                axis = (max(1, int(dr.size_px)), max(1, int(dr.size_px * abs(math.cos(3 * t)))))
                cv2.ellipse(
                    img,
                    (int(p[0]), int(p[1])),
                    axis,
                    40 * t,
                    0,
                    360,
                    self._dim(dr.color),
                    -1,
                    cv2.LINE_AA,
                )
        for bug in self.plan.bugs:
            p = bug.at(t)
            if p is not None:
                shade = (25, 25, 25) if not self._night else (80, 80, 80)
                cv2.circle(
                    img,
                    (int(p[0]), int(p[1])),
                    max(1, int(bug.size_px / 2)),
                    shade,
                    -1,
                    cv2.LINE_AA,
                )
        self._weather(img, t)
        if self._rain is not None:
            img = self._rain.apply(img)
        if self.plan.weather.fog:
            f = self.plan.weather.fog
            img = cv2.addWeighted(
                img, 1 - f, np.full_like(img, 170 if not self._night else 60), f, 0
            )
        img = apply_gain(img, gain_at(self._gains, t))
        img = apply_shake(img, shake_offset(self._shakes, t))
        return self._noise.apply(img)

    def contrast(self, drop: Drop) -> float:
        """Largest-channel difference between the object and the wall along its first second."""
        return _contrast(self._base, self.plan, drop, self._dim(drop.color))

    def _dim(self, color: tuple[int, int, int]) -> tuple[int, int, int]:
        if not self._night:
            return color
        return (int(color[0] * 0.45 + 18), int(color[1] * 0.45 + 18), int(color[2] * 0.45 + 18))

    def _windows(self, img: np.ndarray, t: float) -> None:
        while self._next < len(self._events) and self._events[self._next].t <= t:
            e = self._events[self._next]
            (self._lit.add if e.kind == "on" else self._lit.discard)((e.floor, e.column))
            self._next += 1
        lit = (90, 170, 220) if self._night else (150, 150, 145)
        for key in self._lit:
            cv2.fillConvexPoly(img, self._quads[key], lit)
        for e in self._steady:
            q = self._quads[(e.floor, e.column)]
            if e.kind == "flicker":
                level = 0.5 + 0.5 * math.sin(7.0 * t + e.phase) * math.sin(2.3 * t + 2 * e.phase)
                c = (200 * level + 30, 180 * level + 30, 150 * level + 30)
                cv2.fillConvexPoly(img, q, c)
            else:
                share = 0.45 + 0.3 * math.sin(1.7 * t + e.phase)
                bl, br, tr, tl = q.astype(np.float64)
                edge_b = bl + (br - bl) * share
                edge_t = tl + (tr - tl) * share
                poly = np.round(np.array([bl, edge_b, edge_t, tl])).astype(np.int32)
                cv2.fillConvexPoly(img, poly, (70, 60, 110) if self._night else (150, 140, 200))

    def _trees(self, img: np.ndarray, t: float) -> None:
        leaf = (30, 55, 35) if self._night else (50, 120, 60)
        for i, tree in enumerate(self.plan.geo.trees):
            top = int(min(c[1] for c in tree.crowns))
            w = max(3, int(0.04 * (tree.ground_y - top)))
            cv2.rectangle(
                img,
                (int(tree.trunk_x) - w, top),
                (int(tree.trunk_x) + w, int(tree.ground_y)),
                (30, 50, 70),
                -1,
            )
            dx = tree.sway_px * math.sin(2 * math.pi * 0.5 * t + i)
            for cx, cy, r in tree.crowns:
                cv2.circle(img, (int(cx + dx), int(cy)), int(r), leaf, -1)

    def _drop(self, img: np.ndarray, drop: Drop, t: float) -> None:
        now = drop.at(self.plan.geo, t)
        if now is None:
            return
        # Half-frame exposure: a fast object is a streak, as it is on a real camera.
        before = drop.at(self.plan.geo, max(drop.t, t - 0.5 / self.plan.fps)) or now
        size = max(1, round(drop.size_px))
        p0, p1 = (round(before[0]), round(before[1])), (round(now[0]), round(now[1]))
        cv2.line(img, p0, p1, self._dim(drop.color), size, cv2.LINE_AA)

    def _bird(self, img: np.ndarray, p: tuple[float, float], size: float, flap: float) -> None:
        color = (45, 45, 50) if not self._night else (30, 30, 35)
        cx, cy = int(p[0]), int(p[1])
        s = max(2, int(size))
        cv2.ellipse(img, (cx, cy), (max(1, s // 2), max(1, s // 5)), 0, 0, 360, color, -1)
        lift = int(s * 0.6 * flap)
        pts = np.array([[cx - s, cy - lift], [cx, cy], [cx + s, cy - lift]], np.int32)
        cv2.polylines(img, [pts], False, color, 1 if s < 8 else 2, cv2.LINE_AA)

    def _weather(self, img: np.ndarray, t: float) -> None:
        if self._snow is None:
            return
        # Flakes fall slowly and drift; each wraps round the frame.
        s = self._snow
        xs = (s[:, 0] * W + 25 * np.sin(0.8 * t + 6 * s[:, 2])) % W
        ys = (s[:, 1] * H + (20 + 40 * s[:, 2]) * t) % H
        level = (200, 200, 200) if not self._night else (120, 120, 120)
        for x, y, r in zip(xs, ys, s[:, 3], strict=True):
            cv2.circle(img, (int(x), int(y)), 1 + int(2 * r), level, -1)
