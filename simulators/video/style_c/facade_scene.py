"""Style C facade scenes: a building in metres, the camera, throws and distractors, seeded.

A plan says what happens (in world metres and seconds); `facade_draw` draws it. The geometry
is drawn afresh, not from `simulators.video.geometry`: irregular bays (windows, balconies,
stair-cores with half-storey windows, air-conditioner boxes), a camera below the facade
looking up at it (perspective tilt) with a slight barrel distortion.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from simulators.video.style_c.camera import HEIGHT, WIDTH, Camera

G = 9.81
BANDS = {"far": (20.0, 33.0), "mid": (33.0, 50.0), "near": (50.0, 80.0)}


@dataclass(frozen=True)
class Bay:
    """A vertical strip of the facade: x0..x1 metres, and what each storey shows there."""

    x0: float
    x1: float
    kind: str  # window | balcony | stair | plain
    ac: bool  # an air-conditioner box beside the window


@dataclass
class Building:
    """The facade plane Z = 0, X from 0 to width_m, Y up from the ground."""

    floors: int
    storey_m: float
    width_m: float
    bays: list[Bay]
    parapet_m: float
    wall: tuple[int, int, int]
    trim: tuple[int, int, int]

    @property
    def roof_m(self) -> float:
        """Height of the top slab (the roof line)."""
        return self.floors * self.storey_m


@dataclass(frozen=True)
class Throw:
    """One thrown object: released at t from (x, y, z) metres with velocity v, quadratic drag."""

    t: float
    floor: int
    pos: tuple[float, float, float]
    vel: tuple[float, float, float]
    drag: float  # 1/m
    size_m: float
    size_px: float
    dark: bool
    color: tuple[int, int, int]
    spin_hz: float
    verts: tuple[float, ...]  # radii of an irregular outline, 5–9 of them
    rest_s: float  # seen standing at the release point this long before

    def trajectory(self, t_end: float, dt: float = 0.005) -> np.ndarray:
        """(t, x, y, z) rows from the release until it lands or t_end."""
        p, v = np.array(self.pos, float), np.array(self.vel, float)
        rows, t = [(self.t, *p)], self.t
        while t < t_end and p[1] > 0.0:
            a = np.array([0.0, -G, 0.0]) - self.drag * np.linalg.norm(v) * v
            v = v + a * dt
            p = p + v * dt
            t += dt
            rows.append((t, *p))
        return np.array(rows)


@dataclass(frozen=True)
class Bird:
    """A bird on a circular arc in the picture (centre, radius px, angular speed), drifting."""

    t: float
    duration_s: float
    cx: float
    cy: float
    radius: float
    omega: float
    phase: float
    drift: float  # px/s sideways
    size_px: float
    flap_hz: float

    def at(self, t: float) -> tuple[float, float] | None:
        """Picture position at t, None outside its flight."""
        s = t - self.t
        if not 0.0 <= s <= self.duration_s:
            return None
        a = self.phase + self.omega * s
        return self.cx + self.drift * s + self.radius * math.cos(
            a
        ), self.cy + self.radius * math.sin(a)


@dataclass(frozen=True)
class Leaf:
    """A fluttering leaf in metres: terminal speed, side-swing, flips, a gust."""

    t: float
    pos: tuple[float, float, float]
    fall: float
    swing_m: float
    swing_hz: float
    size_m: float
    color: tuple[int, int, int]
    gust_at: float
    gust: float

    def at_m(self, t: float) -> tuple[float, float, float] | None:
        """World position at t (None before it appears or once on the ground)."""
        s = t - self.t
        if s < 0:
            return None
        w = 2 * math.pi * self.swing_hz
        # Gliding swings: faster down at the ends of a swing, slower in the middle.
        y = self.pos[1] - self.fall * s - 0.25 * self.swing_m * math.sin(2 * w * s)
        if y <= 0.2:
            return None
        push = self.gust * max(0.0, min(1.5, s - self.gust_at))
        return self.pos[0] + self.swing_m * math.sin(w * s) + push, y, self.pos[2]


@dataclass(frozen=True)
class Bug:
    """An insect near the lens: a blurred blob wandering in the picture."""

    t: float
    duration_s: float
    x: float
    y: float
    size_px: float
    reach: float
    seed: float
    dart: float  # px/s² downward dart for part of its flight (0: none)

    def at(self, t: float) -> tuple[float, float] | None:
        """Picture position at t."""
        s = t - self.t
        if not 0.0 <= s <= self.duration_s:
            return None
        k = self.seed
        x = self.x + self.reach * (math.sin(2.3 * s + k) + 0.5 * math.sin(5.9 * s + 2 * k))
        y = self.y + self.reach * (math.sin(1.7 * s + 3 * k) + 0.4 * math.cos(7.1 * s + k))
        if self.dart and s > self.duration_s / 2:
            y += 0.5 * self.dart * (s - self.duration_s / 2) ** 2
        return x, y


@dataclass(frozen=True)
class Window:
    """A window (x0, y0, x1, y1 metres on the facade) and its storey."""

    floor: int
    rect: tuple[float, float, float, float]
    balcony: bool


@dataclass(frozen=True)
class WindowEvent:
    """Something a window does: light on/off, TV flicker, curtain drawn, laundry, curtain out."""

    t: float
    window: int
    kind: str  # on | off | tv | curtain | laundry | flap
    duration_s: float = 3.0
    phase: float = 0.0


@dataclass(frozen=True)
class Sweep:
    """Headlights sweeping across the lower facade at night."""

    t: float
    duration_s: float
    direction: int
    y_m: float
    reach_m: float


@dataclass
class Conditions:
    """Light, weather and camera behaviour over the clip."""

    night: bool
    rain: int  # streaks per frame
    haze: float
    wind: float  # rain slant (px per px)
    light: list[tuple[float, float, float]] = field(default_factory=list)  # (t, gain, ramp_s)
    shakes: list[tuple[float, float, float, float]] = field(default_factory=list)  # t,dur,px,roll°

    def label(self) -> str:
        """One word for the per-condition report."""
        return "rain" if self.rain else "haze" if self.haze else "clear"


@dataclass
class FacadeScene:
    """Everything that happens in one style C facade clip."""

    seed: int
    duration_s: float
    fps: float
    building: Building
    camera: Camera
    cond: Conditions
    density: str
    trees: list[tuple[float, float, float, int]]  # (x px, y px, crown radius px, blobs)
    windows: list[Window]
    throws: list[Throw] = field(default_factory=list)
    birds: list[Bird] = field(default_factory=list)
    leaves: list[Leaf] = field(default_factory=list)
    bugs: list[Bug] = field(default_factory=list)
    events: list[WindowEvent] = field(default_factory=list)
    sweeps: list[Sweep] = field(default_factory=list)
    lit: set[int] = field(default_factory=set)

    def slab_px(self, k: int) -> tuple[float, float, float, float]:
        """The picture of slab line k (0 = ground line) as its two end points."""
        y = k * self.building.storey_m
        x0, y0 = self.camera.point(0.0, y, 0.0)
        x1, y1 = self.camera.point(self.building.width_m, y, 0.0)
        return x0, y0, x1, y1

    def storey_px(self) -> float:
        """Storey height in pixels at mid-height of the facade's centre."""
        b = self.building
        mid = b.floors // 2
        c = b.width_m / 2
        y0 = self.camera.point(c, mid * b.storey_m, 0.0)[1]
        y1 = self.camera.point(c, (mid + 1) * b.storey_m, 0.0)[1]
        return abs(y0 - y1)


def _building(rng: np.random.Generator, floors: int, storey_px: float) -> Building:
    storey = float(rng.uniform(2.8, 3.3))
    # 35–85 % of the picture's width, whatever the scale.
    want = float(rng.uniform(0.35, 0.85)) * WIDTH * storey / storey_px
    bays, x = [], 0.0
    while x < want:
        w = float(rng.uniform(2.2, 4.6))
        kind = str(rng.choice(["window", "window", "balcony", "balcony", "stair", "plain"]))
        bays.append(Bay(x, x + w, kind, bool(rng.random() < 0.35 and kind == "window")))
        x += w
    wall = tuple(int(c) for c in rng.integers(120, 215, 3))
    trim = tuple(int(min(250, c + rng.integers(-60, 40))) for c in wall)
    return Building(floors, storey, x, bays, float(rng.uniform(0.4, 1.2)), wall, trim)


def _windows(rng: np.random.Generator, b: Building) -> list[Window]:
    out = []
    for bay in b.bays:
        if bay.kind == "plain":
            continue
        w = bay.x1 - bay.x0
        for fl in range(1, b.floors + 1):
            base = (fl - 1) * b.storey_m
            if bay.kind == "stair":
                # Small windows at the half landings: half a storey off the others.
                cx, half = (bay.x0 + bay.x1) / 2, min(0.45, w / 4)
                y0 = base + 0.5 * b.storey_m + 0.4
                out.append(Window(fl, (cx - half, y0, cx + half, y0 + 0.9), False))
                continue
            balcony = bay.kind == "balcony" and fl >= 2
            m = float(rng.uniform(0.25, 0.6))
            sill = 0.1 if balcony else float(rng.uniform(0.8, 1.0))
            top = b.storey_m - float(rng.uniform(0.35, 0.5))
            right = bay.x1 - m - (0.9 if bay.ac else 0.0)
            out.append(Window(fl, (bay.x0 + m, base + sill, right, base + top), balcony))
    return out


def _camera(rng: np.random.Generator, b: Building, storey_px: float) -> Camera:
    """A camera in front of and below the facade whose storeys measure about `storey_px`."""
    f = float(rng.uniform(900, 1500))
    height = float(rng.uniform(1.5, 9.0))
    k1 = float(rng.uniform(-0.07, -0.01))
    yaw = math.radians(float(rng.uniform(-12, 12)))
    roll = math.radians(float(rng.uniform(-1.5, 1.5)))
    dist = f * b.storey_m / storey_px
    cam = Camera(f, (b.width_m / 2, height, dist), 0.0)
    for _ in range(4):
        aim = (b.roof_m + b.parapet_m) / 2
        pitch = math.atan2(aim - height, dist)
        xc = b.width_m / 2 + dist * math.tan(yaw)
        cam = Camera(f, (xc, height, dist), pitch, yaw, roll, k1)
        got = cam.px_per_m(b.width_m / 2, b.roof_m / 2, 0.0) * b.storey_m
        dist *= got / storey_px
    return cam


def _fits(cam: Camera, b: Building) -> bool:
    pts = cam.project(
        np.array(
            [
                [0, 0, 0],
                [b.width_m, 0, 0],
                [0, b.roof_m + b.parapet_m, 0],
                [b.width_m, b.roof_m + b.parapet_m, 0],
            ]
        )
    )
    return bool(
        np.all(np.isfinite(pts))
        and pts[:, 0].min() > 20
        and pts[:, 0].max() < WIDTH - 20
        and pts[:, 1].min() > 30
        and pts[:, 1].max() < HEIGHT - 10
    )


def storey_for(seed: int, band: str) -> float:
    """A storey height in pixels within the band, spread by seed (log-uniform)."""
    lo, hi = BANDS[band]
    f = ((seed * 0.7548) % 1.0) * 0.96 + 0.02
    return math.exp(math.log(lo) + f * (math.log(hi) - math.log(lo)))


def plan_facade_c(seed: int, duration: float, band: str) -> FacadeScene:
    """A random style C facade clip at the given scale band."""
    rng = np.random.default_rng(30_000 + seed)
    target = storey_for(seed, band)
    for _ in range(60):
        floors = int(rng.integers(5, max(6, min(26, int(560 / target)) + 1)))
        b = _building(rng, floors, target)
        cam = _camera(rng, b, target)
        if _fits(cam, b):
            break
    fps = float(rng.choice([25.0, 25.0, 20.0, 30.0]))
    density = str(rng.choice(["low", "medium", "high"], p=[0.3, 0.4, 0.3]))
    cond = _conditions(rng, duration)
    scene = FacadeScene(seed, duration, fps, b, cam, cond, density, [], _windows(rng, b))
    scene.trees = _trees(rng, scene)
    from simulators.video.style_c.facade_actors import add_actors

    add_actors(rng, scene)
    return scene


def _conditions(rng: np.random.Generator, duration: float) -> Conditions:
    r = rng.random()
    c = Conditions(
        night=bool(rng.random() < 0.35),
        rain=int(rng.integers(100, 500)) if r < 0.3 else 0,
        haze=float(rng.uniform(0.1, 0.35)) if 0.3 <= r < 0.45 else 0.0,
        wind=float(rng.uniform(-0.35, 0.35)),
    )
    t = float(rng.uniform(4, 25))
    while t < duration - 3:
        # Clouds and the sun (by day) or lamps (at night): the scene's light itself changes.
        c.light.append((t, float(rng.uniform(0.65, 1.4)), float(rng.uniform(0.5, 8.0))))
        t += float(rng.uniform(12, 40))
    t = float(rng.uniform(6, 40))
    while t < duration - 3:
        c.shakes.append(
            (
                t,
                float(rng.uniform(1.0, 4.0)),
                float(rng.uniform(0.8, 3.5)),
                float(rng.uniform(0, 0.25)),
            )
        )
        t += float(rng.uniform(25, 70))
    return c


def _trees(rng: np.random.Generator, s: FacadeScene) -> list[tuple[float, float, float, int]]:
    b, cam = s.building, s.camera
    out = []
    for _ in range(int(rng.integers(0, 3))):
        x = float(rng.uniform(0, b.width_m))
        z = float(rng.uniform(4, 12))
        crown_y = float(rng.uniform(3, min(9, 0.45 * b.roof_m + 2)))
        px, py = cam.point(x, crown_y, z)
        r = float(rng.uniform(1.6, 3.2)) * cam.px_per_m(x, crown_y, z)
        out.append((px, py, r, int(rng.integers(6, 12))))
    return out
