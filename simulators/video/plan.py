"""Seeded random scripts: a realistic mix of throws, stops and every distractor for a clip."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulators.video import facade, lane
from simulators.video.timeline import (
    Bird,
    Effects,
    Episode,
    FacadeScript,
    GainStep,
    Insect,
    LaneScript,
    Leaf,
    Person,
    Throw,
    Vehicle,
    WindowToggle,
)

OBJECT_COLORS: tuple[tuple[int, int, int], ...] = (
    (40, 40, 200),
    (200, 80, 30),
    (235, 235, 235),
    (30, 30, 30),
    (40, 150, 40),
    (60, 110, 150),
    (0, 180, 230),
    (120, 120, 120),
    (180, 60, 160),
)
CAR_COLORS: tuple[tuple[int, int, int], ...] = (
    (40, 40, 170),
    (170, 90, 30),
    (225, 225, 225),
    (25, 25, 25),
    (160, 160, 165),
    (40, 120, 40),
    (20, 160, 200),
)


@dataclass(frozen=True)
class Profile:
    """Which conditions a clip has; the bench rotates these over seeds."""

    night: bool = False
    rain: bool = False
    birds: bool = True
    leaves: bool = True
    insects: bool = True
    windows: bool = True
    lighting: bool = True
    shake: bool = True


def bench_profile(seed: int) -> Profile:
    """The bench mix: every distractor always on, rain on odd seeds, night on every third."""
    return Profile(night=seed % 3 == 2, rain=seed % 2 == 1)


def _effects(rng: np.random.Generator, duration: float, p: Profile, every: float) -> Effects:
    eff = Effects(night=p.night, rain=int(rng.integers(150, 400)) if p.rain else 0)
    if p.lighting:
        t = float(rng.uniform(5, every))
        while t < duration - 2:
            ramp = 0.0 if rng.random() < 0.5 else float(rng.uniform(0.3, 2.0))
            eff.gain_steps.append(GainStep(t, float(rng.uniform(0.65, 1.35)), ramp))
            t += float(rng.uniform(0.6, 1.4) * every)
    if p.shake:
        t = float(rng.uniform(5, 1.5 * every))
        while t < duration - 2:
            eff.shakes.append(
                Episode(
                    t, float(rng.uniform(2, 6)), float(rng.uniform(1.5, 5)), int(rng.integers(100))
                )
            )
            t += float(rng.uniform(1.0, 2.0) * every)
    return eff


def plan_facade(seed: int, duration: float, profile: Profile | None = None) -> FacadeScript:
    """A facade clip: a throw every 10-20 s and a steady stream of distractors."""
    p = profile or bench_profile(seed)
    rng = np.random.default_rng(seed)
    script = FacadeScript(duration, _effects(rng, duration, p, 25.0))
    t = float(rng.uniform(4, 8))
    while t < duration - 4:
        fl = int(rng.integers(2, facade.FLOORS + 1))
        # Low windows in the outer columns are behind the trees, which the installer masked.
        columns = range(facade.COLUMNS) if fl >= 6 else range(1, facade.COLUMNS - 1)
        script.throws.append(
            Throw(
                t=round(t, 2),
                floor=fl,
                column=int(rng.choice(list(columns))),
                vx=float(rng.uniform(-40, 40)),
                vy=float(rng.uniform(-30, 10)),
                size=int(rng.integers(8, 23)),
                color=OBJECT_COLORS[int(rng.integers(len(OBJECT_COLORS)))],
            )
        )
        t += float(rng.uniform(10, 20))
    if p.birds:
        t = float(rng.uniform(0, 5))
        while t < duration:
            side = 1 if rng.random() < 0.5 else -1
            kind = rng.random()
            speed = float(rng.uniform(80, 250))
            vy = (
                float(rng.uniform(30, 110))
                if kind < 0.35
                else float(rng.uniform(-80, -20))
                if kind < 0.5
                else float(rng.uniform(-15, 15))
            )
            x0 = -30.0 if side > 0 else facade.W + 30.0
            script.birds.append(
                Bird(
                    t=t,
                    x=x0,
                    y=float(rng.uniform(20, 560)),
                    vx=side * speed,
                    vy=vy,
                    duration_s=(facade.W + 60) / speed,
                    size=int(rng.integers(8, 18)),
                    flap_hz=float(rng.uniform(3, 8)),
                    wobble=float(rng.uniform(0, 8)),
                )
            )
            t += float(rng.uniform(3, 12))
    if p.leaves:
        t = float(rng.uniform(0, 8))
        while t < duration:
            y0 = float(rng.uniform(80, 450))
            speed = float(rng.uniform(25, 70))
            script.leaves.append(
                Leaf(
                    t=t,
                    x=float(rng.uniform(facade.LEFT, facade.RIGHT)),
                    y=y0,
                    speed=speed,
                    sway=float(rng.uniform(10, 40)),
                    sway_hz=float(rng.uniform(0.3, 1.0)),
                    duration_s=(facade.GROUND_Y - y0) / speed,
                    size=int(rng.integers(4, 9)),
                    color=((40, 110, 70), (30, 90, 140), (40, 140, 170))[int(rng.integers(3))],
                )
            )
            t += float(rng.uniform(4, 14))
    if p.insects:
        t = float(rng.uniform(5, 30))
        while t < duration:
            script.insects.append(
                Insect(
                    t=t,
                    x=float(rng.uniform(200, 1080)),
                    y=float(rng.uniform(150, 550)),
                    duration_s=float(rng.uniform(1, 3)),
                    size=int(rng.integers(18, 45)),
                    seed=int(rng.integers(100)),
                )
            )
            t += float(rng.uniform(15, 40))
    if p.windows:
        n = facade.FLOORS * facade.COLUMNS
        share = 0.35 if p.night else 0.05
        script.lit_windows = sorted(rng.choice(n, int(n * share), replace=False).tolist())
        t = float(rng.uniform(0, 4))
        while t < duration:
            script.toggles.append(WindowToggle(t, int(rng.integers(n)), bool(rng.random() < 0.5)))
            t += float(rng.uniform(1.5, 5) if p.night else rng.uniform(5, 15))
    return script


def _pedestrians(rng: np.random.Generator, duration: float, max_pause: float) -> list[Person]:
    people = []
    t = float(rng.uniform(0, 6))
    while t < duration:
        x = float(rng.uniform(200, 1080))
        down = rng.random() < 0.5
        y0, y1 = (300.0, 710.0) if down else (710.0, 300.0)
        pause = float(rng.uniform(3, max_pause)) if rng.random() < 0.35 else 0.0
        people.append(
            Person(
                t=t,
                x0=x,
                y0=y0,
                x1=x + float(rng.uniform(-80, 80)),
                y1=y1,
                speed=float(rng.uniform(30, 55)),
                pause_frac=float(rng.uniform(0.4, 0.6)),
                pause_s=pause,
                color=CAR_COLORS[int(rng.integers(len(CAR_COLORS)))],
            )
        )
        t += float(rng.uniform(5, 15))
    return people


def plan_lane(
    seed: int, duration: float, dwell_s: float = 120.0, profile: Profile | None = None
) -> LaneScript:
    """A lane clip: in each zone a sequence of brief stops and parkings, plus traffic and people."""
    p = profile or bench_profile(seed)
    rng = np.random.default_rng(seed + 1000)
    script = LaneScript(duration, _effects(rng, duration, p, 40.0))
    for zid, x0, x1 in lane.zones():
        side = -1 if zid == "FL-1" else 1  # come in from this zone's own edge of the image
        cursor = float(rng.uniform(5, 25))
        parked_once = False
        while cursor < duration - 30:
            kind = "ebike" if rng.random() < 0.25 else "car"
            length = lane.SIZES[kind][0]
            stop_x = float(rng.uniform(x0 + length / 2 + 15, x1 - length / 2 - 15))
            remaining = duration - cursor - 30
            if (not parked_once or rng.random() < 0.5) and remaining > dwell_s + 40:
                stop_s = float(rng.uniform(dwell_s + 25, min(dwell_s + 120, remaining - 5)))
                parked_once = True
            else:
                stop_s = float(rng.uniform(4, min(0.5 * dwell_s, 60)))
            speed = float(rng.uniform(70, 160))
            start = -length / 2 - 10 if side < 0 else lane.W + length / 2 + 10
            enter = cursor - abs(stop_x - start) / speed
            if enter < 0:
                cursor += 5
                continue
            script.vehicles.append(
                Vehicle(
                    t=round(enter, 2),
                    direction=-side,
                    speed=speed,
                    kind=kind,
                    stop_x=stop_x,
                    stop_s=stop_s,
                    color=CAR_COLORS[int(rng.integers(len(CAR_COLORS)))],
                    y=lane.FAR_Y,
                    reverse_out=True,
                )
            )
            cursor += stop_s + abs(stop_x - start) / speed + float(rng.uniform(10, 30))
    t = float(rng.uniform(2, 10))
    while t < duration:
        kind = "ebike" if rng.random() < 0.3 else "car"
        script.vehicles.append(
            Vehicle(
                t=t,
                direction=1 if rng.random() < 0.5 else -1,
                speed=float(rng.uniform(120, 260)),
                kind=kind,
                color=CAR_COLORS[int(rng.integers(len(CAR_COLORS)))],
                y=lane.NEAR_Y,
            )
        )
        t += float(rng.uniform(6, 20))
    script.people = _pedestrians(rng, duration, min(45.0, 0.4 * dwell_s))
    return script
