"""What happens in a synthetic clip: the actors and effects of each scene, scripted or seeded."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class GainStep:
    """A global brightness change (cloud, auto-exposure): from time t the gain ramps to `gain`."""

    t: float
    gain: float
    ramp_s: float = 0.0


@dataclass(frozen=True)
class Episode:
    """A camera-shake episode (wind on the pole)."""

    t: float
    duration_s: float
    amplitude: float
    seed: int = 0


@dataclass(frozen=True)
class Throw:
    """An object thrown or dropped from a window: released at time t from the sill of `floor`."""

    t: float
    floor: int
    column: int
    vx: float = 0.0
    vy: float = 0.0
    size: int = 12
    color: tuple[int, int, int] = (40, 40, 200)


@dataclass(frozen=True)
class Bird:
    """A bird crossing the view at constant velocity, flapping, possibly gliding down."""

    t: float
    x: float
    y: float
    vx: float
    vy: float
    duration_s: float
    size: int = 12
    flap_hz: float = 4.0
    wobble: float = 6.0


@dataclass(frozen=True)
class Leaf:
    """A leaf drifting down at a slow terminal speed, swaying sideways."""

    t: float
    x: float
    y: float
    speed: float
    sway: float
    sway_hz: float
    duration_s: float
    size: int = 7
    color: tuple[int, int, int] = (40, 110, 70)


@dataclass(frozen=True)
class Insect:
    """An insect close to the lens: a large, soft, erratic blob."""

    t: float
    x: float
    y: float
    duration_s: float
    size: int = 30
    seed: int = 0


@dataclass(frozen=True)
class WindowToggle:
    """A window light switching on or off."""

    t: float
    window: int
    on: bool


@dataclass(frozen=True)
class Vehicle:
    """A car or e-bike entering the lane scene; it may stop at `stop_x` for `stop_s` seconds."""

    t: float
    direction: int
    speed: float
    kind: str = "car"
    stop_x: float | None = None
    stop_s: float = 0.0
    color: tuple[int, int, int] = (50, 50, 160)
    y: float = 505.0
    reverse_out: bool = False


@dataclass(frozen=True)
class Person:
    """A pedestrian crossing the lane, possibly pausing inside it."""

    t: float
    x0: float
    y0: float
    x1: float
    y1: float
    speed: float = 40.0
    pause_frac: float = 0.5
    pause_s: float = 0.0
    color: tuple[int, int, int] = (90, 60, 40)


@dataclass
class Effects:
    """Scene-wide conditions: night, rain, exposure steps and shake episodes."""

    night: bool = False
    rain: int = 0
    gain_steps: list[GainStep] = field(default_factory=list)
    shakes: list[Episode] = field(default_factory=list)


@dataclass
class FacadeScript:
    """Everything that happens in a facade clip."""

    duration_s: float
    effects: Effects = field(default_factory=Effects)
    throws: list[Throw] = field(default_factory=list)
    birds: list[Bird] = field(default_factory=list)
    leaves: list[Leaf] = field(default_factory=list)
    insects: list[Insect] = field(default_factory=list)
    toggles: list[WindowToggle] = field(default_factory=list)
    lit_windows: list[int] = field(default_factory=list)


@dataclass
class LaneScript:
    """Everything that happens in a fire-lane clip."""

    duration_s: float
    effects: Effects = field(default_factory=Effects)
    vehicles: list[Vehicle] = field(default_factory=list)
    people: list[Person] = field(default_factory=list)


def summary(script: FacadeScript | LaneScript) -> dict[str, Any]:
    """Counts of each actor and effect, for the ground-truth file."""
    eff = script.effects
    out: dict[str, Any] = {
        "night": eff.night,
        "rain": eff.rain,
        "gain_steps": [asdict(g) for g in eff.gain_steps],
        "shakes": [asdict(s) for s in eff.shakes],
    }
    if isinstance(script, FacadeScript):
        out |= {
            "birds": len(script.birds),
            "gliding_birds": sum(1 for b in script.birds if b.vy > 0),
            "leaves": len(script.leaves),
            "insects": len(script.insects),
            "window_toggles": len(script.toggles),
        }
    else:
        out |= {
            "vehicles": len(script.vehicles),
            "pausing_vehicles": sum(1 for v in script.vehicles if v.stop_s > 0),
            "people": len(script.people),
            "pausing_people": sum(1 for p in script.people if p.pause_s > 0),
        }
    return out
