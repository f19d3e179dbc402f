"""Seeded random plans for the randomised evaluation set: scene geometry, actors and conditions.

A plan says what happens; `style_a` and `style_b` decide how it looks. The knobs the issue asks
to vary are drawn here: storey height 20–80 px, facade tilt, object size 4–30 px, distractor
density and kind, weather, day or night; for lanes near and far zones, small objects and dwells
of many minutes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from simulators.video.actors import (
    Bug,
    Drifter,
    Drop,
    Flyer,
    WindowEvent,
    sample_color,
)
from simulators.video.geometry import (
    FacadeGeometry,
    H,
    W,
    sample_facade,
    tree_outline,
)

OBJECT_PALETTE = (
    (40, 40, 200),
    (200, 80, 30),
    (235, 235, 235),
    (30, 30, 30),
    (40, 150, 40),
    (60, 110, 150),
    (0, 180, 230),
    (120, 120, 120),
    (180, 60, 160),
    (150, 170, 185),
)
VEHICLE_PALETTE = (
    (40, 40, 170),
    (170, 90, 30),
    (225, 225, 225),
    (25, 25, 25),
    (160, 160, 165),
    (40, 120, 40),
    (20, 160, 200),
    (60, 90, 110),
)
SHAPES = ("ball", "box", "bottle", "bag", "can", "pot")
DENSITY = {"low": 0.4, "medium": 1.0, "high": 2.2}


@dataclass
class Weather:
    """Scene-wide conditions."""

    night: bool = False
    rain: int = 0  # streaks per frame
    snow: int = 0  # flakes in view
    fog: float = 0.0  # 0..0.5 contrast loss
    gains: list[tuple[float, float, float]] = field(default_factory=list)  # (t, gain, ramp_s)
    shakes: list[tuple[float, float, float]] = field(default_factory=list)  # (t, dur, amp px)

    def label(self) -> str:
        """One word for the per-condition report."""
        if self.rain:
            return "rain"
        if self.snow:
            return "snow"
        if self.fog:
            return "fog"
        return "clear"


@dataclass
class FacadePlan:
    """Everything that happens in one randomised facade clip."""

    seed: int
    duration_s: float
    fps: float
    geo: FacadeGeometry
    weather: Weather
    density: str
    drops: list[Drop] = field(default_factory=list)
    flyers: list[Flyer] = field(default_factory=list)
    drifters: list[Drifter] = field(default_factory=list)
    bugs: list[Bug] = field(default_factory=list)
    windows: list[WindowEvent] = field(default_factory=list)
    lit: list[tuple[int, int]] = field(default_factory=list)


def draw_weather(rng: np.random.Generator, duration: float, every: float) -> Weather:
    """Day or night, rain or snow, and exposure steps about every `every` seconds."""
    w = Weather(night=bool(rng.random() < 0.35))
    r = rng.random()
    if r < 0.25:
        w.rain = int(rng.integers(80, 400))
    elif r < 0.35:
        w.snow = int(rng.integers(60, 250))
    elif r < 0.45:
        w.fog = float(rng.uniform(0.15, 0.45))
    t = float(rng.uniform(3, every))
    while t < duration - 2:
        ramp = 0.0 if rng.random() < 0.4 else float(rng.uniform(0.3, 3.0))
        w.gains.append((t, float(rng.uniform(0.7, 1.3)), ramp))
        t += float(rng.uniform(0.6, 1.5) * every)
    t = float(rng.uniform(5, 2 * every))
    while t < duration - 2:
        w.shakes.append((t, float(rng.uniform(1.5, 5)), float(rng.uniform(1.0, 4.5))))
        t += float(rng.uniform(1.5, 3.0) * every)
    return w


def _hidden(geo: FacadeGeometry, outlines: list[np.ndarray], drop: Drop) -> bool:
    """Whether the camera cannot see enough of the fall: the first storey and a half (or all
    of a shorter fall) must be in front of the facade and clear of the trees the installer
    masks. A throw behind a tree is no test of the analyzer, only of the mask."""
    start = drop.at_m(geo, drop.t)
    if start is None:
        return True
    facade = np.asarray(geo.polygon(), np.float64)
    t = drop.t
    while True:
        p = drop.at_m(geo, t)
        if p is None or start[1] - p[1] > 1.5 * geo.storey_m:
            return False
        xy = geo.to_image(*p)
        if not cv_inside(facade, xy) or any(cv_inside(poly, xy) for poly in outlines):
            return True
        t += 0.04


def cv_inside(poly: np.ndarray, p: tuple[float, float]) -> bool:
    """Point-in-polygon (even-odd), no OpenCV needed."""
    x, y = p
    xs, ys = poly[:, 0], poly[:, 1]
    x2, y2 = np.roll(xs, -1), np.roll(ys, -1)
    cross = ((ys > y) != (y2 > y)) & (
        x < (x2 - xs) * (y - ys) / np.where(y2 == ys, 1e-9, y2 - ys) + xs
    )
    return bool(np.count_nonzero(cross) % 2)


def plan_facade(seed: int, duration: float, storey_px: float | None = None) -> FacadePlan:
    """A random facade clip: throws every 6–14 s and a density-scaled mix of distractors."""
    rng = np.random.default_rng(10_000 + seed)
    geo = sample_facade(rng, storey_px)
    fps = float(rng.choice([25.0, 25.0, 25.0, 30.0, 20.0]))
    density = str(rng.choice(list(DENSITY), p=[0.25, 0.45, 0.3]))
    d = DENSITY[density]
    plan = FacadePlan(seed, duration, fps, geo, draw_weather(rng, duration, 30.0), density)
    k = geo.storey_px() / geo.storey_m  # px per metre near the bottom
    outlines = [np.array(tree_outline(tr), np.float64) for tr in geo.trees]
    t = float(rng.uniform(3, 7))
    while t < duration - 4:
        for _ in range(20):
            drop = Drop(
                t=round(t, 3),
                floor=int(rng.integers(2, geo.floors + 1)),
                column=int(rng.integers(geo.columns)),
                vu=float(rng.uniform(-2, 2)),
                vz=float(rng.uniform(-1.0, 2.0)),
                size_px=float(rng.uniform(4, max(4.5, min(30.0, 1.2 * k)))),
                shape=str(rng.choice(SHAPES)),
                color=sample_color(rng, OBJECT_PALETTE),
                drag=float(rng.choice([0.0, 0.0, rng.uniform(0.05, 0.2)])),
                spin_hz=float(rng.uniform(0, 3)),
            )
            if not _hidden(geo, outlines, drop):
                plan.drops.append(drop)
                break
        t += float(rng.uniform(6, 14))
    _flyers(rng, plan, d, k)
    _drifters(rng, plan, d, k)
    _bugs(rng, plan, d)
    _windows(rng, plan, d)
    return plan


def _flyers(rng: np.random.Generator, plan: FacadePlan, d: float, k: float) -> None:
    t = float(rng.uniform(0, 4))
    bl, br = plan.geo.corners[0], plan.geo.corners[1]
    top = min(y for _, y in plan.geo.corners)
    while t < plan.duration_s:
        mode = str(rng.choice(["cross", "cross", "glide", "climb", "dive", "land"]))
        side = 1 if rng.random() < 0.5 else -1
        size = float(rng.uniform(4, 20))
        speed = float(rng.uniform(60, 260))
        x0 = -25.0 if side > 0 else W + 25.0
        y0 = float(rng.uniform(max(10, top - 40), max(bl[1], br[1]) - 20))
        vy = {
            "cross": rng.uniform(-15, 15),
            "glide": rng.uniform(25, 120),
            "climb": rng.uniform(-90, -20),
            "dive": rng.uniform(0, 30),
            "land": rng.uniform(20, 80),
        }[mode]
        dur = (W + 50) / speed
        extra: dict[str, float] = {}
        if mode == "dive":
            # A stoop that accelerates like a falling object for a moment, then pulls out.
            extra = {
                "dive_at": float(rng.uniform(0.3, 0.5) * dur),
                "dive_s": float(rng.uniform(0.35, 0.8)),
                "dive_g_px": float(rng.uniform(0.5, 1.2) * 9.81 * k),
            }
        elif mode == "land":
            extra = {"perch_s": float(rng.uniform(1, 6))}
            dur = float(rng.uniform(1.0, 2.5)) + extra["perch_s"] + 1.5
            speed = float(rng.uniform(60, 140))
        plan.flyers.append(
            Flyer(
                t=round(t, 3),
                x=x0,
                y=y0,
                vx=side * speed,
                vy=float(vy),
                duration_s=dur,
                size_px=size,
                mode=mode,
                flap_hz=float(rng.uniform(3, 9)),
                **extra,
            )
        )
        if rng.random() < 0.15 * d:  # a small flock
            for _ in range(int(rng.integers(2, 6))):
                plan.flyers.append(
                    Flyer(
                        t=round(t + float(rng.uniform(0, 0.6)), 3),
                        x=x0,
                        y=y0 + float(rng.uniform(-40, 40)),
                        vx=side * speed * float(rng.uniform(0.9, 1.1)),
                        vy=float(vy),
                        duration_s=dur,
                        size_px=size * float(rng.uniform(0.7, 1.2)),
                        flap_hz=float(rng.uniform(3, 9)),
                    )
                )
        t += float(rng.uniform(3, 14) / d)


def _drifters(rng: np.random.Generator, plan: FacadePlan, d: float, k: float) -> None:
    geo = plan.geo
    xs = [c[0] for c in geo.corners]
    ys = [c[1] for c in geo.corners]
    t = float(rng.uniform(0, 6))
    leafy = ((40, 110, 70), (30, 90, 140), (40, 140, 170), (60, 150, 120))
    while t < plan.duration_s:
        y0 = float(rng.uniform(min(ys) - 30, max(ys) - 60))
        speed = float(rng.uniform(0.6, 2.2) * k)
        gusty = rng.random() < 0.3
        plan.drifters.append(
            Drifter(
                t=round(t, 3),
                x=float(rng.uniform(min(xs), max(xs))),
                y=y0,
                speed=speed,
                sway=float(rng.uniform(0.2, 1.5) * k),
                sway_hz=float(rng.uniform(0.25, 1.0)),
                duration_s=float((max(ys) + 20 - y0) / speed),
                size_px=float(rng.uniform(3, 10)),
                color=leafy[int(rng.integers(len(leafy)))],
                gust=float(rng.uniform(-1, 1) * 3 * k) if gusty else 0.0,
                gust_at=float(rng.uniform(0.5, 3.0)) if gusty else 99.0,
            )
        )
        t += float(rng.uniform(3, 14) / d)


def _bugs(rng: np.random.Generator, plan: FacadePlan, d: float) -> None:
    t = float(rng.uniform(2, 20))
    while t < plan.duration_s:
        near = rng.random() < 0.5
        plan.bugs.append(
            Bug(
                t=round(t, 3),
                x=float(rng.uniform(150, W - 150)),
                y=float(rng.uniform(100, H - 100)),
                duration_s=float(rng.uniform(0.8, 3.5)),
                size_px=float(rng.uniform(14, 50) if near else rng.uniform(2, 5)),
                reach=float(rng.uniform(60, 160) if near else rng.uniform(15, 60)),
                phase=float(rng.uniform(0, 2 * math.pi)),
            )
        )
        t += float(rng.uniform(8, 35) / d)


def _windows(rng: np.random.Generator, plan: FacadePlan, d: float) -> None:
    geo = plan.geo
    n = geo.floors * geo.columns
    night = plan.weather.night
    lit_share = 0.35 if night else 0.05
    ids = rng.choice(n, int(n * lit_share), replace=False).tolist()
    plan.lit = [(i // geo.columns + 1, i % geo.columns) for i in ids]
    t = float(rng.uniform(0, 4))
    while t < plan.duration_s:
        i = int(rng.integers(n))
        kind = "on" if rng.random() < 0.5 else "off"
        plan.windows.append(WindowEvent(round(t, 3), i // geo.columns + 1, i % geo.columns, kind))
        t += float(rng.uniform(2, 8) if night else rng.uniform(6, 20)) / d
    for _ in range(int(rng.integers(0, 3) * d + (2 if night else 0))):
        i = int(rng.integers(n))
        plan.windows.append(
            WindowEvent(
                0.0,
                i // geo.columns + 1,
                i % geo.columns,
                "flicker",
                plan.duration_s,
                float(rng.uniform(0, 6.3)),
            )
        )
    for _ in range(int(rng.integers(2, 8) * d)):
        i = int(rng.integers(n))
        plan.windows.append(
            WindowEvent(
                0.0,
                i // geo.columns + 1,
                i % geo.columns,
                "curtain",
                plan.duration_s,
                float(rng.uniform(0, 6.3)),
            )
        )


# ---------------------------------------------------------------------------------------------
# Lanes


__all__ = ["FacadePlan", "Weather", "draw_weather", "plan_facade"]
