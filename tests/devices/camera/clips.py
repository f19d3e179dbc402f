"""Short scripted clips for the camera tests, rendered once per session into a temp folder."""

from __future__ import annotations

from pathlib import Path

from simulators.video.generate import Clip, write_clip

__all__ = ["Clip"]
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

DWELL_S = 5.0
CLEAR_S = 2.0
THROW_FLOOR = 7
THROW_T = 1.2


def throw(out: Path) -> Clip:
    """One flower pot thrown from a 7th-floor window at t=1.2 s."""
    script = FacadeScript(
        4.0,
        throws=[
            Throw(t=THROW_T, floor=THROW_FLOOR, column=3, vx=15.0, size=12, color=(40, 40, 200))
        ],
    )
    return write_clip(out, "facade", 11, script, name="throw")


def birds(out: Path) -> Clip:
    """A bird flying across and one gliding steeply down at constant speed."""
    script = FacadeScript(
        4.0,
        birds=[
            Bird(t=0.5, x=-30.0, y=300.0, vx=260.0, vy=5.0, duration_s=3.4, size=14),
            Bird(
                t=0.8,
                x=1310.0,
                y=120.0,
                vx=-150.0,
                vy=140.0,
                duration_s=3.2,
                size=12,
                flap_hz=0.0,
                wobble=0.0,
            ),
        ],
    )
    return write_clip(out, "facade", 12, script, name="birds")


def rain(out: Path) -> Clip:
    """Heavy rain and nothing else."""
    return write_clip(out, "facade", 13, FacadeScript(4.0, Effects(rain=380)), name="rain")


def lighting(out: Path) -> Clip:
    """A sudden 40 % brightness jump, then a slow darkening."""
    effects = Effects(gain_steps=[GainStep(1.5, 1.4), GainStep(2.5, 0.8, ramp_s=1.0)])
    return write_clip(out, "facade", 14, FacadeScript(4.0, effects), name="lighting")


def clutter(out: Path) -> Clip:
    """Night: camera shake, falling leaves, an insect at the lens and windows switching."""
    effects = Effects(night=True, shakes=[Episode(1.5, 2.0, 4.0, 3)])
    script = FacadeScript(
        4.0,
        effects,
        leaves=[Leaf(t=0.3, x=600.0, y=150.0, speed=60.0, sway=30.0, sway_hz=0.7, duration_s=3.5)],
        insects=[Insect(t=1.0, x=700.0, y=350.0, duration_s=2.0, size=30, seed=5)],
        toggles=[
            WindowToggle(1.0, 33, True),
            WindowToggle(2.0, 45, True),
            WindowToggle(2.6, 33, False),
        ],
        lit_windows=[3, 20, 51],
    )
    return write_clip(out, "facade", 15, script, name="clutter")


def parked(out: Path) -> Clip:
    """A car parks in FL-1 for 9 s (dwell 5 s) and drives on; people walk past. The clip runs
    6 s past the departure: the car takes ~2 s to leave the zone, then clear_s to confirm."""
    script = LaneScript(
        18.0,
        vehicles=[
            Vehicle(t=0.5, direction=1, speed=200.0, stop_x=400.0, stop_s=9.0),
        ],
        people=[Person(t=1.0, x0=900.0, y0=300.0, x1=900.0, y1=710.0)],
    )
    return write_clip(out, "lane", 16, script, dwell_s=DWELL_S, clear_s=CLEAR_S, name="parked")


def drive_through(out: Path) -> Clip:
    """Cars and an e-bike drive through both zones without stopping."""
    script = LaneScript(
        10.0,
        vehicles=[
            Vehicle(t=0.5, direction=1, speed=220.0),
            Vehicle(t=3.0, direction=-1, speed=180.0, kind="ebike", y=585.0),
        ],
    )
    return write_clip(out, "lane", 17, script, dwell_s=DWELL_S, clear_s=CLEAR_S, name="through")


def parked_at_start(out: Path) -> Clip:
    """A car already parked when the camera starts drives away at ~4 s: its ghost must not block."""
    script = LaneScript(
        14.0,
        vehicles=[
            Vehicle(
                t=-30.0, direction=1, speed=200.0, stop_x=900.0, stop_s=30.0, color=(25, 25, 25)
            ),
        ],
    )
    return write_clip(out, "lane", 18, script, dwell_s=DWELL_S, clear_s=CLEAR_S, name="ghost")
