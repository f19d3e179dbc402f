"""Actors of the randomised scenes and where they are at time t (kinematics only, no drawing)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from simulators.video.geometry import FacadeGeometry, LaneGeometry

G = 9.81


@dataclass(frozen=True)
class Drop:
    """An object thrown or dropped from a window of `floor`, moving in the facade plane."""

    t: float
    floor: int
    column: int
    vu: float  # m/s along the facade
    vz: float  # m/s, up positive (a toss)
    size_px: float
    shape: str
    color: tuple[int, int, int]
    drag: float = 0.0  # linear drag, 1/s: a light object falls a little slower than free fall
    spin_hz: float = 0.0

    def start_m(self, geo: FacadeGeometry) -> tuple[float, float]:
        """Release point in facade metres: the middle of the window sill, just above it."""
        u0, z0, u1, _ = geo.window(self.floor, self.column)
        return (u0 + u1) / 2, z0 + 0.15

    def at_m(self, geo: FacadeGeometry, t: float) -> tuple[float, float] | None:
        """Facade position (u, z) at time t, None before release and after landing."""
        dt = t - self.t
        if dt < 0:
            return None
        u0, z0 = self.start_m(geo)
        if self.drag > 0:
            c = self.drag
            e = math.exp(-c * dt)
            u = u0 + self.vu * (1 - e) / c
            z = z0 + (self.vz + G / c) * (1 - e) / c - G * dt / c
        else:
            u = u0 + self.vu * dt
            z = z0 + self.vz * dt - 0.5 * G * dt * dt
        if z < 0:
            return None
        return u, z

    def at(self, geo: FacadeGeometry, t: float) -> tuple[float, float] | None:
        """Image position at time t."""
        p = self.at_m(geo, t)
        return None if p is None else geo.to_image(*p)


@dataclass(frozen=True)
class Flyer:
    """A bird in image pixels. `mode`: cross, glide, climb, dive (stoop and pull out) or land."""

    t: float
    x: float
    y: float
    vx: float
    vy: float
    duration_s: float
    size_px: float
    mode: str = "cross"
    flap_hz: float = 5.0
    dive_at: float = 0.0  # seconds after t the stoop starts
    dive_s: float = 0.0
    dive_g_px: float = 0.0  # downward acceleration during the stoop, px/s²
    perch_s: float = 0.0

    def at(self, t: float) -> tuple[float, float] | None:
        """Image position at time t, or None outside its life."""
        dt = t - self.t
        if dt < 0 or dt > self.duration_s:
            return None
        wob = 0.15 * self.size_px * math.sin(2 * math.pi * 0.7 * dt + self.x)
        if self.mode == "dive":
            return self._dive(dt, wob)
        if self.mode == "land":
            return self._land(dt)
        return self.x + self.vx * dt, self.y + self.vy * dt + wob

    def _dive(self, dt: float, wob: float) -> tuple[float, float]:
        x = self.x + self.vx * dt
        if dt < self.dive_at:
            return x, self.y + self.vy * dt + wob
        y1 = self.y + self.vy * self.dive_at
        s = dt - self.dive_at
        if s < self.dive_s:
            return x, y1 + self.vy * s + 0.5 * self.dive_g_px * s * s
        # Pull out: the downward speed bleeds off within half a second, then a shallow climb.
        v_end = self.vy + self.dive_g_px * self.dive_s
        y2 = y1 + self.vy * self.dive_s + 0.5 * self.dive_g_px * self.dive_s**2
        r = s - self.dive_s
        k = 4.0
        return x, y2 + v_end * (1 - math.exp(-k * r)) / k - 0.3 * abs(self.vx) * r

    def _land(self, dt: float) -> tuple[float, float]:
        # Decelerating approach to a sill, perch, then fly off sideways and up.
        approach = self.duration_s - self.perch_s - 1.5
        if dt < approach:
            f = 1 - (1 - dt / approach) ** 2
            return self.x + self.vx * approach * f, self.y + self.vy * approach * f
        x1, y1 = self.x + self.vx * approach, self.y + self.vy * approach
        if dt < approach + self.perch_s:
            return x1, y1
        r = dt - approach - self.perch_s
        return x1 - math.copysign(120, self.vx) * r, y1 - 70 * r - 40 * r * r


@dataclass(frozen=True)
class Drifter:
    """A leaf or a snow-like flake: slow terminal fall, sway, occasional gust."""

    t: float
    x: float
    y: float
    speed: float  # px/s
    sway: float
    sway_hz: float
    duration_s: float
    size_px: float
    color: tuple[int, int, int]
    gust: float = 0.0  # px/s² horizontal during the gust
    gust_at: float = 99.0

    def at(self, t: float) -> tuple[float, float] | None:
        """Image position at time t."""
        dt = t - self.t
        if dt < 0 or dt > self.duration_s:
            return None
        x = self.x + self.sway * math.sin(2 * math.pi * self.sway_hz * dt)
        y = self.y + self.speed * dt + 0.3 * self.sway * math.sin(4 * math.pi * self.sway_hz * dt)
        if dt > self.gust_at:
            g = dt - self.gust_at
            x += 0.5 * self.gust * g * g
        return x, y


@dataclass(frozen=True)
class Bug:
    """An insect: near the lens (large, soft, erratic) or a small fast midge."""

    t: float
    x: float
    y: float
    duration_s: float
    size_px: float
    reach: float
    phase: float

    def at(self, t: float) -> tuple[float, float] | None:
        """Image position at time t."""
        dt = t - self.t
        if dt < 0 or dt > self.duration_s:
            return None
        p, r = self.phase, self.reach
        x = self.x + r * (math.sin(3.1 * dt + p) + 0.5 * math.sin(8.3 * dt + 2 * p))
        y = self.y + r * (0.8 * math.sin(4.3 * dt + 3 * p) + 0.45 * math.sin(10.1 * dt + p))
        return x, y


@dataclass(frozen=True)
class WindowEvent:
    """Something behind a window: a light switching, a flickering TV, a moving curtain."""

    t: float
    floor: int
    column: int
    kind: str  # "on", "off", "flicker", "curtain"
    duration_s: float = 0.0
    phase: float = 0.0


@dataclass(frozen=True)
class Stop:
    """An object that comes into a fire-lane zone, stands, and goes (truth is its rest time)."""

    kind: str  # car, ebike, bicycle, boxes, tricycle, scooter
    zone: str
    u: float
    v: float
    t_arrive: float
    t_leave: float
    color: tuple[int, int, int]
    approach_s: float  # moving in (or the carrier walking in) before t_arrive
    from_far: bool
    yaw_deg: float  # object's long axis relative to the lane

    def offset_m(self, t: float) -> float | None:
        """Along-lane offset from the rest position at time t (0 while standing), None if gone."""
        if t < self.t_arrive - self.approach_s or t > self.t_leave + self.approach_s:
            return None
        if self.kind == "boxes":
            return 0.0 if self.t_arrive <= t < self.t_leave else None
        speed = 4.0 if self.kind in ("car", "tricycle") else 2.5
        sign = 1.0 if self.from_far else -1.0
        if t < self.t_arrive:
            s = self.t_arrive - t
            return sign * speed * s * s / self.approach_s  # decelerating in
        if t <= self.t_leave:
            return 0.0
        s = t - self.t_leave
        return sign * speed * s * s / self.approach_s  # accelerating away the same way


@dataclass(frozen=True)
class Passer:
    """Traffic or a pedestrian going through without stopping long (ground metres per second)."""

    kind: str  # car, ebike, bicycle, person
    t: float
    u0: float
    v0: float
    vu: float
    vv: float
    duration_s: float
    color: tuple[int, int, int]
    pause_at: float = 0.0
    pause_s: float = 0.0

    def at(self, t: float) -> tuple[float, float] | None:
        """Ground position (u, v) at time t."""
        dt = t - self.t
        if dt < 0 or dt > self.duration_s + self.pause_s:
            return None
        if self.pause_s and dt > self.pause_at:
            dt = max(self.pause_at, dt - self.pause_s)
        return self.u0 + self.vu * dt, self.v0 + self.vv * dt


SIZES_M = {  # (length, width, height) in metres
    "car": (4.5, 1.8, 1.5),
    "ebike": (1.7, 0.6, 1.1),
    "bicycle": (1.7, 0.55, 1.0),
    "boxes": (0.8, 0.6, 0.7),
    "tricycle": (2.2, 1.1, 1.3),
    "scooter": (1.5, 0.5, 1.1),
    "person": (0.4, 0.5, 1.7),
}


def apparent_size(lane: LaneGeometry, kind: str, u: float, v: float, yaw_deg: float) -> tuple:
    """(width, height) in image pixels of an object standing at ground point (u, v)."""
    length, width, height = SIZES_M[kind]
    k = lane.px_per_m(u, v)
    dx, _ = lane.along_dir(u, v)
    # How much of the object's length faces the camera depends on how the lane runs across
    # the image: along the view we see its back, across the view its side.
    across = abs(dx)
    yaw = math.radians(yaw_deg)
    seen = abs(length * (across * math.cos(yaw) + (1 - across) * math.sin(yaw))) + width * (
        1 - across * abs(math.cos(yaw))
    )
    return max(2.0, seen * k), max(2.0, height * k)


def sample_color(rng: np.random.Generator, palette: tuple[tuple[int, int, int], ...]) -> tuple:
    """A palette colour with a little random variation."""
    base = palette[int(rng.integers(len(palette)))]
    return tuple(int(np.clip(c + rng.integers(-20, 21), 0, 255)) for c in base)
