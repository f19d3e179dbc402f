"""Style C fire-lane scenes: a lane on the ground seen from a mast, two zones, 3-D box objects
(a parked car, a tricycle, stacked boxes, a scooter) that stay for minutes, people walking
through (some stop briefly), traffic, and the light; seeded, independent of styles A and B."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from simulators.video.style_c.camera import Camera
from simulators.video.style_c.facade_scene import Conditions

# length, width, height (m) of each kind's footprint box
SIZES = {
    "car": (4.4, 1.8, 1.45),
    "tricycle": (2.3, 1.1, 1.2),
    "boxes": (0.9, 0.7, 1.0),
    "scooter": (1.6, 0.4, 1.1),
    "person": (0.3, 0.5, 1.7),
}
SMALL = ("tricycle", "boxes", "scooter")


@dataclass(frozen=True)
class Park:
    """An object that comes into a zone, stands from t_arrive to t_leave, and goes."""

    kind: str
    zone: str
    x: float  # across the lane, m
    d: float  # along it (distance from the camera's foot), m
    yaw: float  # degrees, 0 = along the lane
    t_arrive: float
    t_leave: float
    approach_s: float
    from_far: bool
    color: tuple[int, int, int]

    def offset(self, t: float) -> float | None:
        """Along-lane offset from its place at t (0 standing), None when not in the picture."""
        if t < self.t_arrive - self.approach_s or t > self.t_leave + self.approach_s:
            return None
        if t < self.t_arrive:
            s = self.t_arrive - t
        elif t <= self.t_leave:
            return 0.0
        else:
            s = t - self.t_leave
        speed = 3.0 if self.kind in ("car", "tricycle") else 1.5
        return (1 if self.from_far else -1) * speed * s * s / self.approach_s


@dataclass(frozen=True)
class Walker:
    """A person, car or scooter going through: start (x, d), velocity, optional stop."""

    kind: str
    t: float
    x: float
    d: float
    vx: float
    vd: float
    duration_s: float
    color: tuple[int, int, int]
    pause_at: float = 0.0
    pause_s: float = 0.0

    def at(self, t: float) -> tuple[float, float] | None:
        """Ground position at t, None outside its passage."""
        s = t - self.t
        if s < 0 or s > self.duration_s + self.pause_s:
            return None
        if self.pause_s and s > self.pause_at:
            s = max(self.pause_at, s - self.pause_s)
        return self.x + self.vx * s, self.d + self.vd * s


@dataclass
class LaneScene:
    """Everything in one style C lane clip."""

    seed: int
    duration_s: float
    fps: float
    dwell_s: float
    clear_s: float
    camera: Camera
    width_m: float
    x0: float  # the lane's left edge across, m
    edges: tuple[float, float, float]  # near start, zone split, far end (distance, m)
    cond: Conditions
    parks: list[Park] = field(default_factory=list)
    walkers: list[Walker] = field(default_factory=list)

    def zones(self) -> list[tuple[str, float, float]]:
        """(id, d0, d1) per zone, near first."""
        a, b, c = self.edges
        return [("FL-1", a, b), ("FL-2", b, c)]

    def ground(self, x: float, d: float) -> tuple[float, float]:
        """Picture of a ground point (x across, d along)."""
        return self.camera.point(x, 0.0, -d)

    def zone_polygon(self, d0: float, d1: float) -> list[tuple[float, float]]:
        """A zone's four corners in the picture (as an installer clicks them)."""
        a, b = self.x0, self.x0 + self.width_m
        return [self.ground(a, d0), self.ground(b, d0), self.ground(b, d1), self.ground(a, d1)]

    def distance(self, d0: float, d1: float) -> str:
        """near / far by pixels per metre at the zone's centre (as the bench's other styles)."""
        mid = (d0 + d1) / 2
        p, q = self.ground(self.x0, mid), self.ground(self.x0 + self.width_m, mid)
        return "far" if math.hypot(q[0] - p[0], q[1] - p[1]) / self.width_m < 22 else "near"

    def box_px(self, kind: str, x: float, d: float, yaw: float) -> tuple[float, float, float]:
        """(width, height, top y) of an object's picture standing at (x, d)."""
        pts = self.camera.project(np.array(corners(kind, x, d, yaw)))
        return (
            float(pts[:, 0].max() - pts[:, 0].min()),
            float(pts[:, 1].max() - pts[:, 1].min()),
            float(pts[:, 1].min()),
        )


def corners(kind: str, x: float, d: float, yaw: float) -> list[tuple[float, float, float]]:
    """The 8 world corners of an object's bounding box standing at (x, d)."""
    ln, wd, ht = SIZES[kind]
    c, s = math.cos(math.radians(yaw)), math.sin(math.radians(yaw))
    out = []
    for a in (-ln / 2, ln / 2):
        for b in (-wd / 2, wd / 2):
            for h in (0.0, ht):
                out.append((x + b * c + a * s, h, -(d + a * c - b * s)))
    return out


def plan_lane_c(seed: int, duration: float, fps: float, dwell_s: float) -> LaneScene:
    """A random style C lane clip."""
    rng = np.random.default_rng(60_000 + seed)
    for _ in range(40):
        height = float(rng.uniform(4.0, 9.0))
        width = float(rng.uniform(3.5, 6.0))
        start = float(rng.uniform(6, 10))
        split = start + float(rng.uniform(16, 30))
        end = split + float(rng.uniform(20, 35))
        f = float(rng.uniform(800, 1150))
        aim = (start + end) / 2.2
        cam = Camera(
            f,
            (float(rng.uniform(-0.5, 0.5)) + width / 2, height, 0.0),
            -math.atan2(height, aim),
            math.radians(float(rng.uniform(-8, 8))),
            math.radians(float(rng.uniform(-1.5, 1.5))),
            float(rng.uniform(-0.07, -0.01)),
        )
        sc = LaneScene(
            seed,
            duration,
            fps,
            dwell_s,
            10.0,
            cam,
            width,
            0.0,
            (start, split, end),
            _cond(rng, duration),
        )
        pts = np.array(sc.zone_polygon(start, end))
        if (
            np.all(np.isfinite(pts))
            and pts[:, 0].min() > 30
            and pts[:, 0].max() < 1250
            and pts[:, 1].min() > 40
            and pts[:, 1].max() < 715
            and sc.distance(split, end) == "far"
        ):
            break
    _parks(rng, sc)
    _walkers(rng, sc)
    return sc


def _cond(rng: np.random.Generator, duration: float) -> Conditions:
    r = rng.random()
    c = Conditions(
        night=bool(rng.random() < 0.35),
        rain=int(rng.integers(80, 350)) if r < 0.3 else 0,
        haze=float(rng.uniform(0.1, 0.3)) if 0.3 <= r < 0.4 else 0.0,
        wind=float(rng.uniform(-0.3, 0.3)),
    )
    t = float(rng.uniform(20, 80))
    while t < duration - 5:
        c.light.append((t, float(rng.uniform(0.7, 1.35)), float(rng.uniform(0.5, 20.0))))
        t += float(rng.uniform(40, 150))
    t = float(rng.uniform(30, 120))
    while t < duration - 5:
        c.shakes.append((t, float(rng.uniform(1, 3)), float(rng.uniform(0.8, 2.5)), 0.1))
        t += float(rng.uniform(90, 300))
    return c


def _parks(rng: np.random.Generator, sc: LaneScene) -> None:
    for zid, d0, d1 in sc.zones():
        far = sc.distance(d0, d1) == "far"
        cursor = float(rng.uniform(5, 40))
        while cursor < sc.duration_s - 40:
            kind = str(rng.choice(SMALL)) if far or rng.random() < 0.4 else "car"
            remaining = sc.duration_s - cursor - 25
            if remaining > sc.dwell_s + 40 and rng.random() < 0.6:
                stay = float(
                    rng.uniform(sc.dwell_s + 30, min(remaining, max(sc.dwell_s + 60, 1800)))
                )
            else:
                stay = float(rng.uniform(5, min(0.45 * sc.dwell_s, 60)))
            ln, wd, _ = SIZES[kind]
            yaw = float(rng.uniform(-15, 15) if kind == "car" else rng.uniform(-60, 60))
            x = float(rng.uniform(wd / 2 + 0.3, sc.width_m - wd / 2 - 0.3)) + sc.x0
            d = _spot(rng, sc, kind, x, yaw, d0 + ln / 2 + 0.4, d1 - ln / 2 - 0.4, zid)
            sc.parks.append(
                Park(
                    kind,
                    zid,
                    x,
                    d,
                    yaw,
                    round(cursor, 2),
                    round(cursor + stay, 2),
                    float(rng.uniform(2.0, 5.0)),
                    bool(rng.random() < 0.5),
                    tuple(int(c) for c in rng.integers(20, 235, 3)),
                )  # type: ignore[arg-type]
            )
            cursor += stay + float(rng.uniform(20, 90))


def _spot(
    rng: np.random.Generator,
    sc: LaneScene,
    kind: str,
    x: float,
    yaw: float,
    lo: float,
    hi: float,
    zid: str,
) -> float:
    """A place whose picture stays below the next zone's start (no camera sees behind it)."""
    hi = max(lo + 0.1, hi)
    if zid == sc.zones()[-1][0]:
        return float(rng.uniform(lo, hi))
    nxt = sc.zones()[1][1]
    limit = max(sc.ground(sc.x0, nxt)[1], sc.ground(sc.x0 + sc.width_m, nxt)[1]) + 3
    best = lo
    for _ in range(20):
        d = float(rng.uniform(lo, hi))
        if sc.box_px(kind, x, d, yaw)[2] > limit:
            return d
    return best


def _walkers(rng: np.random.Generator, sc: LaneScene) -> None:
    t = float(rng.uniform(2, 10))
    a, _, c = sc.edges
    while t < sc.duration_s:
        kind = str(rng.choice(["person", "person", "person", "car", "scooter"]))
        col = tuple(int(v) for v in rng.integers(20, 235, 3))
        if kind == "person":
            d = float(rng.uniform(a, c))
            speed = float(rng.uniform(0.9, 1.6))
            along = rng.random() < 0.35  # some walk down the lane, most cross it
            if along:
                dur = (c - a + 4) / speed
                w = Walker(
                    kind, t, float(rng.uniform(0.5, sc.width_m - 0.5)), a - 2, 0.0, speed, dur, col
                )  # type: ignore[arg-type]
            else:
                dur = (sc.width_m + 4) / speed
                pause = (
                    float(rng.uniform(3, min(40, 0.3 * sc.dwell_s))) if rng.random() < 0.3 else 0
                )
                w = Walker(
                    kind,
                    t,
                    -2.0,
                    d,
                    speed,
                    0.0,
                    dur,
                    col,  # type: ignore[arg-type]
                    pause_at=dur * float(rng.uniform(0.35, 0.65)),
                    pause_s=pause,
                )
        else:
            speed = float(rng.uniform(3, 8))
            fwd = rng.random() < 0.5
            w = Walker(
                kind,
                t,
                float(rng.uniform(1.0, sc.width_m - 1.0)),
                a - 5 if fwd else c + 5,
                0.0,
                speed if fwd else -speed,
                (c - a + 10) / speed,
                col,
            )  # type: ignore[arg-type]
        sc.walkers.append(w)
        t += float(rng.uniform(8, 40))
