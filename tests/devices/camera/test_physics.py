"""The physical test of tracks and the camera config, without video."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from pydantic import ValidationError

from devices.camera.config import CameraConfig, FallingConfig, Floors
from devices.camera.physics import FloorMap, assess
from simulators.video import facade

FPS = 25.0
CFG = facade.camera_config(1).falling
assert CFG is not None
FLOORS = FloorMap(CFG.floors)
G = facade.G_PX


Motion = Callable[[float], float]


def _track(seconds: float, fx: Motion, fy: Motion) -> tuple[list[float], list[float], list[float]]:
    t = np.arange(0, seconds, 1 / FPS)
    return t.tolist(), [fx(v) for v in t], [fy(v) for v in t]


def test_free_fall_passes_and_names_the_floor() -> None:
    t, x, y = _track(1.5, lambda s: 500 + 20 * s, lambda s: 112 + 0.5 * G * s * s)
    v = assess(t, x, y, FLOORS, CFG, FPS)
    assert v.ok and v.floor == 10 and v.confidence > 0.9
    assert v.accel_ratio == pytest.approx(1.0, abs=0.01)


def test_release_point_hidden_behind_a_mask_is_extrapolated() -> None:
    # Seen only from 0.4 s after release (it fell past a masked window first).
    t, x, y = _track(1.2, lambda s: 500.0, lambda s: 232 + 0.5 * G * (s + 0.4) ** 2)
    t = [v + 0.4 for v in t]
    assert assess(t, x, y, FLOORS, CFG, FPS).floor == 8


@pytest.mark.parametrize(
    ("name", "fx", "fy", "reason"),
    [
        ("gliding bird", lambda s: 300 + 60 * s, lambda s: 150 + 140 * s, "not_ballistic"),
        ("rising bird", lambda s: 300 + 60 * s, lambda s: 500 - 120 * s, "not_falling"),
        ("horizontal", lambda s: 300 + 250 * s, lambda s: 300 + 2 * np.sin(9 * s), "not_falling"),
        ("leaf", lambda s: 600 + 30 * np.sin(4 * s), lambda s: 200 + 60 * s, "not_ballistic"),
        (
            "erratic",
            lambda s: 600 + 80 * np.sin(13 * s),
            lambda s: 200 + 0.5 * G * s * s,
            "erratic_x",
        ),
    ],
)
def test_tracks_that_are_not_free_fall_are_rejected(
    name: str, fx: Motion, fy: Motion, reason: str
) -> None:
    t, x, y = _track(1.6, fx, fy)
    v = assess(t, x, y, FLOORS, CFG, FPS)
    assert not v.ok and v.reason == reason, name


def test_noisy_parabola_is_rejected_as_erratic() -> None:
    rng = np.random.default_rng(0)
    t, x, y = _track(1.5, lambda s: 500.0, lambda s: 112 + 0.5 * G * s * s)
    y = (np.array(y) + rng.normal(0, 25, len(y))).tolist()
    assert assess(t, x, y, FLOORS, CFG, FPS).reason == "erratic"


def test_floor_lines_follow_perspective() -> None:
    # A camera looking up: storeys get shorter and lines tilt.
    floors = FloorMap(
        Floors(
            first=2,
            lines=[
                (0, 700, 1000, 680),
                (0, 600, 1000, 590),
                (0, 520, 1000, 515),
                (0, 460, 1000, 458),
            ],
        )
    )
    assert floors.floor_at(500, 650) == 2
    assert floors.floor_at(500, 560) == 3
    assert floors.floor_at(500, 480) == 4
    assert floors.floor_at(500, 100) == 4  # above the roof line: the top storey
    assert floors.floor_px(500, 650) > floors.floor_px(500, 480)


def test_config_rejects_unknown_keys_and_downward_floor_lines() -> None:
    with pytest.raises(ValidationError):
        FallingConfig.model_validate(CFG.model_dump() | {"sensitivity": 3})
    with pytest.raises(ValidationError):
        Floors(lines=[(0, 100, 10, 100), (0, 200, 10, 200)])
    with pytest.raises(ValidationError):
        CameraConfig()


def test_curvature_resting_on_one_sighting_after_a_gap_is_not_a_fall() -> None:
    # Set 1200, clip 1215: a small blob drifting down at constant speed for 0.55 s, then,
    # after 0.3 s unseen, one blob where gravity would have put a falling object. The whole
    # bends like a fall (0.9 g, 8.5 standard errors, confidence 0.67); without the lone point
    # it does not bend at all.
    t = [*np.arange(0, 0.56, 1 / FPS).tolist(), 0.88]
    y = [400 + 44 * s for s in t[:-1]] + [400 + 44 * 0.88 + 35]
    x = [600 - 20 * s for s in t]
    v = assess(t, x, y, FLOORS, CFG, FPS)
    assert not v.ok and v.reason == "lone_end"


def test_a_fall_seen_again_after_a_gap_still_passes() -> None:
    # A real fall lost for 0.2 s before its last sighting: the rest bends on its own.
    t, x, y = _track(1.0, lambda s: 500 + 20 * s, lambda s: 112 + 0.5 * G * s * s)
    t, x, y = t[:-6] + t[-1:], x[:-6] + x[-1:], y[:-6] + y[-1:]
    t, x, y = t[:1] + t[6:], x[:1] + x[6:], y[:1] + y[6:]
    v = assess(t, x, y, FLOORS, CFG, FPS)
    assert v.ok, v
