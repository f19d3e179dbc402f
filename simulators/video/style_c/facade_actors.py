"""Style C facade actors: throws from sills and balcony rails, birds on arcs, fluttering leaves,
insects at the lens, windows, laundry and curtains, headlight sweeps."""

from __future__ import annotations

import math

import numpy as np

from simulators.video.style_c.camera import HEIGHT, WIDTH
from simulators.video.style_c.facade_scene import (
    Bird,
    Bug,
    FacadeScene,
    Leaf,
    Sweep,
    Throw,
    WindowEvent,
)

DENSITY = {"low": 0.5, "medium": 1.0, "high": 2.0}


def add_actors(rng: np.random.Generator, s: FacadeScene) -> None:
    """Fill a scene's throws and distractors."""
    d = DENSITY[s.density]
    _throws(rng, s)
    _birds(rng, s, d)
    _leaves(rng, s, d)
    _bugs(rng, s, d)
    _window_events(rng, s, d)
    if s.cond.night:
        t = float(rng.uniform(2, 20))
        while t < s.duration_s - 2:
            s.sweeps.append(
                Sweep(
                    t,
                    float(rng.uniform(1.5, 5.0)),
                    1 if rng.random() < 0.5 else -1,
                    float(rng.uniform(0.5, 2.5) * s.building.storey_m),
                    float(rng.uniform(1.5, 4.0) * s.building.storey_m),
                )
            )
            t += float(rng.uniform(10, 40) / d)


def inside(poly: np.ndarray, x: float, y: float) -> bool:
    """Point in polygon (even-odd rule)."""
    xs, ys = poly[:, 0], poly[:, 1]
    x2, y2 = np.roll(xs, -1), np.roll(ys, -1)
    hit = ((ys > y) != (y2 > y)) & (
        x < (x2 - xs) * (y - ys) / np.where(y2 == ys, 1e-9, y2 - ys) + xs
    )
    return bool(np.count_nonzero(hit) % 2)


def facade_outline(s: FacadeScene) -> np.ndarray:
    """The facade's picture (roof parapet included), distortion followed."""
    b = s.building
    top = b.roof_m + b.parapet_m
    return s.camera.outline([(0, 0, 0), (b.width_m, 0, 0), (b.width_m, top, 0), (0, top, 0)], 8)


def visible(s: FacadeScene, th: Throw) -> bool:
    """The first storey and a half of the fall is on the facade and clear of the tree crowns."""
    poly = facade_outline(s)
    traj = th.trajectory(th.t + 4.0, 0.01)
    start = traj[0, 2]
    pts = s.camera.project(traj[:, 1:4])
    for (_, _, y, _), (px, py) in zip(traj, pts, strict=True):
        if start - y > 1.5 * s.building.storey_m:
            return True
        if not inside(poly, px, py) or not (4 < px < WIDTH - 4 and 4 < py < HEIGHT - 4):
            return False
        if any(math.hypot(px - tx, py - ty) < r * 1.35 + 8 for tx, ty, r, _ in s.trees):
            return False
    return True


def _throws(rng: np.random.Generator, s: FacadeScene) -> None:
    b, cam = s.building, s.camera
    spots = [w for w in s.windows if w.floor >= 2]
    t = float(rng.uniform(3, 8))
    while t < s.duration_s - 4 and spots:
        for _ in range(30):
            w = spots[int(rng.integers(len(spots)))]
            x0, y0, x1, _ = w.rect
            x = float(rng.uniform(x0 + 0.1, x1 - 0.1))
            base = (w.floor - 1) * b.storey_m
            pos = (x, base + 1.1, 1.3) if w.balcony else (x, y0 + 0.02, 0.3)
            k = cam.px_per_m(*pos)
            size_px = float(rng.uniform(4, max(4.5, min(30.0, 0.4 * k * b.storey_m))))
            dark = bool(rng.random() < 0.45)
            color = (
                tuple(int(c) for c in rng.integers(10, 70, 3))
                if dark
                else tuple(int(c) for c in rng.integers(150, 256, 3))
                if rng.random() < 0.6
                else tuple(int(c) for c in rng.integers(20, 256, 3))
            )
            th = Throw(
                t=round(t, 3),
                floor=w.floor,
                pos=pos,
                vel=(
                    float(rng.uniform(-2.0, 2.0)),
                    float(rng.uniform(-0.8, 2.5)),
                    float(rng.uniform(0.0, 2.0)),
                ),
                drag=float(rng.choice([0.0, 0.0, rng.uniform(0.02, 0.25)])),
                size_m=size_px / k,
                size_px=size_px,
                dark=dark,
                color=color,  # type: ignore[arg-type]
                spin_hz=float(rng.uniform(0, 4)),
                verts=tuple(float(v) for v in rng.uniform(0.45, 1.0, int(rng.integers(5, 10)))),
                rest_s=float(rng.uniform(0.3, 1.5)) if rng.random() < 0.3 else 0.0,
            )
            if visible(s, th):
                s.throws.append(th)
                break
        t += float(rng.uniform(6, 14))


def _birds(rng: np.random.Generator, s: FacadeScene, d: float) -> None:
    t = float(rng.uniform(0, 5))
    sp = s.storey_px()
    while t < s.duration_s:
        r = float(rng.uniform(40, 400))
        speed = float(rng.uniform(60, 280))  # px/s along the arc
        omega = speed / r * (1 if rng.random() < 0.5 else -1)
        span = float(rng.uniform(0.6, 2.5))  # radians flown
        s.birds.append(
            Bird(
                t=round(t, 3),
                duration_s=abs(span / omega),
                cx=float(rng.uniform(100, WIDTH - 100)),
                cy=float(rng.uniform(60, HEIGHT - 150)),
                radius=r,
                omega=omega,
                phase=float(rng.uniform(0, 2 * math.pi)),
                drift=float(rng.uniform(-60, 60)),
                size_px=float(rng.uniform(0.12, 0.4) * sp + 3),
                flap_hz=float(rng.uniform(3, 10)),
            )
        )
        t += float(rng.uniform(3, 12) / d)


def _leaves(rng: np.random.Generator, s: FacadeScene, d: float) -> None:
    b = s.building
    t = float(rng.uniform(0, 6))
    palette = ((30, 110, 80), (40, 140, 170), (20, 80, 120), (60, 160, 150), (90, 170, 200))
    while t < s.duration_s:
        s.leaves.append(
            Leaf(
                t=round(t, 3),
                pos=(
                    float(rng.uniform(0, b.width_m)),
                    float(rng.uniform(0.3, 1.0) * b.roof_m),
                    float(rng.uniform(0.5, 5.0)),
                ),
                fall=float(rng.uniform(0.4, 1.6)),
                swing_m=float(rng.uniform(0.15, 0.9)),
                swing_hz=float(rng.uniform(0.3, 1.2)),
                size_m=float(rng.uniform(0.05, 0.14)),
                color=palette[int(rng.integers(len(palette)))],
                gust_at=float(rng.uniform(0.5, 6)) if rng.random() < 0.3 else 999.0,
                gust=float(rng.uniform(-2.5, 2.5)),
            )
        )
        t += float(rng.uniform(3, 12) / d)


def _bugs(rng: np.random.Generator, s: FacadeScene, d: float) -> None:
    rate = 2.5 if s.cond.night else 0.6
    t = float(rng.uniform(1, 15))
    while t < s.duration_s:
        near = rng.random() < 0.6
        s.bugs.append(
            Bug(
                t=round(t, 3),
                duration_s=float(rng.uniform(0.6, 4.0)),
                x=float(rng.uniform(120, WIDTH - 120)),
                y=float(rng.uniform(80, HEIGHT - 80)),
                size_px=float(rng.uniform(12, 60) if near else rng.uniform(2, 6)),
                reach=float(rng.uniform(40, 180) if near else rng.uniform(10, 50)),
                seed=float(rng.uniform(0, 6.3)),
                dart=float(rng.uniform(100, 500)) if rng.random() < 0.3 else 0.0,
            )
        )
        t += float(rng.uniform(6, 30) / (d * rate))


def _window_events(rng: np.random.Generator, s: FacadeScene, d: float) -> None:
    n = len(s.windows)
    night = s.cond.night
    s.lit = set(rng.choice(n, int(n * (0.4 if night else 0.04)), replace=False).tolist())
    t = float(rng.uniform(0, 4))
    while t < s.duration_s:
        kind = str(rng.choice(["on", "off"]))
        s.events.append(WindowEvent(round(t, 3), int(rng.integers(n)), kind))
        t += float((rng.uniform(2, 7) if night else rng.uniform(5, 18)) / d)
    for _ in range(int(rng.integers(1, 4) * d) + (2 if night else 0)):
        s.events.append(
            WindowEvent(0.0, int(rng.integers(n)), "tv", s.duration_s, float(rng.uniform(0, 6)))
        )
    t = float(rng.uniform(0, 10))
    while t < s.duration_s:
        s.events.append(
            WindowEvent(round(t, 3), int(rng.integers(n)), "curtain", float(rng.uniform(1, 4)))
        )
        t += float(rng.uniform(6, 25) / d)
    balconies = [i for i, w in enumerate(s.windows) if w.balcony]
    for _ in range(int(rng.integers(1, 5) * d)):
        if balconies:
            i = balconies[int(rng.integers(len(balconies)))]
            s.events.append(WindowEvent(0.0, i, "laundry", s.duration_s, float(rng.uniform(0, 6))))
    for _ in range(int(rng.integers(0, 3) * d)):
        i = int(rng.integers(n))
        if not s.windows[i].balcony:
            s.events.append(WindowEvent(0.0, i, "flap", s.duration_s, float(rng.uniform(0, 6))))
