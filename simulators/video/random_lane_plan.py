"""Seeded random fire-lane plans for the randomised evaluation set: the lane, its near and far
zones, small objects that stop for minutes, passers-by and the weather (see random_plan)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from simulators.video.actors import Passer, Stop, apparent_size, sample_color
from simulators.video.geometry import LaneGeometry, sample_lane
from simulators.video.random_plan import VEHICLE_PALETTE, Weather, draw_weather


@dataclass
class LanePlan:
    """Everything that happens in one randomised fire-lane clip."""

    seed: int
    duration_s: float
    fps: float
    geo: LaneGeometry
    weather: Weather
    dwell_s: float
    clear_s: float
    stops: list[Stop] = field(default_factory=list)
    passers: list[Passer] = field(default_factory=list)


SMALL = ("bicycle", "boxes", "tricycle", "scooter", "ebike")


def plan_lane(seed: int, duration: float, fps: float, dwell_s: float) -> LanePlan:
    """A random lane clip: per zone a sequence of pauses and long stays, traffic and people."""
    rng = np.random.default_rng(20_000 + seed)
    geo = sample_lane(rng)
    weather = draw_weather(rng, duration, 90.0)
    plan = LanePlan(seed, duration, fps, geo, weather, dwell_s, 10.0)
    for zid, u0, u1 in geo.zones():
        far = geo.zone_distance(u0, u1) == "far"
        cursor = float(rng.uniform(5, 40))
        while cursor < duration - 40:
            # Far zones get the small things the issue lists; near ones cars as well.
            kind = str(rng.choice(SMALL)) if far or rng.random() < 0.5 else "car"
            remaining = duration - cursor - 25
            if remaining > dwell_s + 40 and rng.random() < 0.6:
                stay = float(rng.uniform(dwell_s + 30, min(remaining, max(dwell_s + 60, 1800))))
            else:
                stay = float(rng.uniform(5, min(0.45 * dwell_s, 60)))
            length = {"car": 4.5, "tricycle": 2.2}.get(kind, 1.7)
            v = float(rng.uniform(1.2, geo.width_m - 1.2))
            yaw = float(rng.uniform(-25, 25) if kind == "car" else rng.uniform(-90, 90))
            u = _spot(rng, geo, kind, u0 + length / 2 + 0.5, u1 - length / 2 - 0.5, v, yaw)
            plan.stops.append(
                Stop(
                    kind=kind,
                    zone=zid,
                    u=u,
                    v=v,
                    t_arrive=round(cursor, 2),
                    t_leave=round(cursor + stay, 2),
                    color=sample_color(rng, VEHICLE_PALETTE),
                    approach_s=float(rng.uniform(2.0, 5.0)),
                    from_far=bool(rng.random() < 0.5),
                    yaw_deg=yaw,
                )
            )
            cursor += stay + float(rng.uniform(20, 90))
    _traffic(rng, plan)
    return plan


def _spot(
    rng: np.random.Generator,
    geo: LaneGeometry,
    kind: str,
    lo: float,
    hi: float,
    v: float,
    yaw: float,
) -> float:
    """A place along the lane whose object's picture stays inside its own zone's rows: a car
    standing at the back of the near zone would cover the far zone in the picture, and no
    camera can tell the far zone is free behind it (see docs/camera.md, Limits)."""
    hi = max(lo + 0.1, hi)
    far_end = geo.zones()[-1][1]
    best = lo
    for _ in range(20):
        u = float(rng.uniform(lo, hi))
        if u >= far_end:
            return u
        _, h = apparent_size(geo, kind, u, v, yaw)
        top = geo.to_image(u, v)[1] - h
        nxt = min(e for e in (*geo.zone_edges_m, geo.length_m) if e > u)
        if top > max(geo.to_image(nxt, 0.0)[1], geo.to_image(nxt, geo.width_m)[1]) + 3:
            return u
        best = min(best, u)
    return best


def _traffic(rng: np.random.Generator, plan: LanePlan) -> None:
    geo = plan.geo
    t = float(rng.uniform(2, 10))
    while t < plan.duration_s:
        kind = str(rng.choice(["car", "ebike", "bicycle", "person", "person"]))
        if kind == "person":
            # Crossing the lane, a third of them stand for a while (shorter than the dwell).
            u = float(rng.uniform(1, geo.length_m - 1))
            speed = float(rng.uniform(1.0, 1.6))
            pause = (
                float(rng.uniform(3, min(60, 0.4 * plan.dwell_s))) if rng.random() < 0.35 else 0.0
            )
            dur = (geo.width_m + 4) / speed
            plan.passers.append(
                Passer(
                    "person",
                    t,
                    u,
                    -2.0,
                    0.0,
                    speed,
                    dur,
                    sample_color(rng, VEHICLE_PALETTE),
                    pause_at=dur * float(rng.uniform(0.35, 0.65)),
                    pause_s=pause,
                )
            )
        else:
            speed = float(rng.uniform(3, 9) if kind == "car" else rng.uniform(2, 6))
            forward = rng.random() < 0.5
            u0 = -3.0 if forward else geo.length_m + 3
            plan.passers.append(
                Passer(
                    kind,
                    t,
                    u0,
                    float(rng.uniform(1.0, geo.width_m - 1.0)),
                    speed if forward else -speed,
                    0.0,
                    (geo.length_m + 6) / speed,
                    sample_color(rng, VEHICLE_PALETTE),
                )
            )
        t += float(rng.uniform(8, 40))


def zone_share(plan: LanePlan, stop: Stop) -> float:
    """Rough share of its zone's image area the standing object's bounding box covers."""
    w, h = apparent_size(plan.geo, stop.kind, stop.u, stop.v, stop.yaw_deg)
    for zid, u0, u1 in plan.geo.zones():
        if zid == stop.zone:
            poly = np.array(plan.geo.zone_polygon(u0, u1))
            x, y = poly[:, 0], poly[:, 1]
            area = 0.5 * abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1)))
            return float(w * h / max(area, 1.0))
    return 0.0
