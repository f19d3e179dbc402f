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


# Set 1300, clip 1307 (far facade, night, snow), the track of its false alarm in full-frame
# pixels (storey 29 px): a snowflake drifting down at a steady 58 px/s for 0.8 s, then the
# blobs of three other flakes by a flickering window, each lower than the last.
_CHAIN = [
    (25.04, 1044.9, 456.4), (25.08, 1045.4, 457.9), (25.12, 1046.0, 460.0),
    (25.16, 1046.0, 463.0), (25.20, 1047.0, 465.0), (25.24, 1047.0, 468.0),
    (25.28, 1047.0, 470.0), (25.32, 1048.2, 471.8), (25.36, 1048.0, 475.0),
    (25.40, 1048.0, 477.0), (25.44, 1049.0, 480.0), (25.48, 1049.4, 481.8),
    (25.52, 1048.6, 483.9), (25.56, 1049.0, 486.8), (25.60, 1049.6, 489.4),
    (25.64, 1049.6, 492.1), (25.68, 1049.6, 494.1), (25.72, 1049.8, 495.6),
    (25.76, 1049.9, 498.6), (25.80, 1049.5, 501.0), (25.84, 1049.5, 508.0),
    (25.88, 1049.3, 509.7), (25.92, 1049.5, 511.0), (26.04, 1053.0, 531.0),
    (26.16, 1054.0, 535.5), (26.32, 1052.0, 562.0), (26.36, 1052.0, 564.0),
]  # fmt: skip


def test_a_steady_drift_whose_bend_comes_later_is_not_a_fall() -> None:
    # Scaled to this config's 60-px storey. The whole bends at 0.72 g with 11 standard
    # errors (0.70 confidence without the rule); its first half is a straight line at speed.
    k = FLOORS.floor_px(600, 300) / 29.0
    t = [p[0] - _CHAIN[0][0] for p in _CHAIN]
    x = [600 + (p[1] - _CHAIN[0][1]) * k for p in _CHAIN]
    y = [300 + (p[2] - _CHAIN[0][2]) * k for p in _CHAIN]
    v = assess(t, x, y, FLOORS, CFG, FPS, 0.35 * k)
    assert not v.ok and v.reason == "uniform_head"


def test_a_fall_whose_head_is_rest_or_a_throw_upwards_still_passes() -> None:
    # Held on the sill for 0.25 s, then thrown up at 2/3 storey a second: the head is no
    # straight line at speed. And a fall from rest, whose head bends from the first frame.
    rng = np.random.default_rng(3)
    t = np.arange(0, 1.6, 1 / FPS)
    s = np.clip(t - 0.25, 0, None)
    y = 150 - 40 * s + 0.5 * G * s * s + rng.normal(0, 0.4, len(t))
    x = 500 + 15 * s + rng.normal(0, 0.4, len(t))
    v = assess(t.tolist(), x.tolist(), y.tolist(), FLOORS, CFG, FPS)
    assert v.ok, v
    y = 150 + 0.5 * G * t * t + rng.normal(0, 0.4, len(t))
    v = assess(t[:30].tolist(), x[:30].tolist(), y[:30].tolist(), FLOORS, CFG, FPS)
    assert v.ok, v


def _scaled(points: list[tuple[float, float, float]], storey: float) -> tuple[list, list, list]:
    k = FLOORS.floor_px(600, 300) / storey
    t = [p[0] - points[0][0] for p in points]
    x = [600 + (p[1] - points[0][1]) * k for p in points]
    y = [300 + (p[2] - points[0][2]) * k for p in points]
    return t, x, y


# Set 1100, clip 1105: a leaf drifting down, followed across 0.44 s to one blob and 0.2 s on
# to another (storey 77 px); set 1200, clip 1203: a steady drift, then three sightings 4, 4
# and 3 frames apart, each lower than the last (storey 41 px). Both were false alarms.
_LEAF_AND_TWO = [
    (116.72, 152.5, 122.4), (116.76, 153.2, 124.2), (116.88, 151.2, 133.5),
    (116.92, 154.2, 130.5), (116.96, 153.2, 133.2), (117.00, 152.7, 135.3),
    (117.04, 153.9, 136.4), (117.08, 151.8, 139.8), (117.52, 148.2, 222.2),
    (117.72, 149.0, 275.0),
]  # fmt: skip
_DRIFT_AND_THREE = [
    (70.44, 1004.0, 409.0), (70.48, 1002.0, 411.0), (70.52, 1002.0, 413.0),
    (70.56, 1002.0, 415.0), (70.60, 1000.0, 417.0), (70.64, 1000.0, 418.0),
    (70.68, 1000.0, 421.0), (70.72, 999.0, 421.0), (70.76, 998.0, 423.0),
    (70.80, 998.0, 425.0), (70.84, 998.0, 427.0), (70.88, 996.0, 429.0),
    (70.92, 996.0, 431.0), (70.96, 996.0, 433.0), (71.00, 996.0, 435.0),
    (71.16, 994.0, 443.0), (71.32, 980.0, 465.0), (71.44, 976.0, 489.0),
]  # fmt: skip


@pytest.mark.parametrize(("points", "storey"), [(_LEAF_AND_TWO, 76.9), (_DRIFT_AND_THREE, 41.4)])
def test_curvature_resting_on_several_sightings_after_gaps_is_not_a_fall(
    points: list[tuple[float, float, float]], storey: float
) -> None:
    # (The leaf's track was followed through faint frames: seen enough for the sparse test.)
    t, x, y = _scaled(points, storey)
    v = assess(t, x, y, FLOORS, CFG, FPS, faint=10)
    assert not v.ok and v.reason == "lone_end", v


def test_a_sparse_fall_seen_in_runs_with_gaps_still_passes() -> None:
    # A faint object at night: segmented in runs of 4 frames with gaps of 5 between (faint
    # frames in those), its last two sightings after gaps too; every part bends like gravity.
    t, x, y = _track(1.4, lambda s: 500 + 10 * s, lambda s: 112 + 0.5 * G * s * s)
    keep = [i for i in range(len(t)) if i % 9 < 4 or i in (len(t) - 6, len(t) - 1)]
    tk, xk, yk = [t[i] for i in keep], [x[i] for i in keep], [y[i] for i in keep]
    v = assess(tk, xk, yk, FLOORS, CFG, FPS, faint=len(t) - len(keep))
    assert v.ok, v


def test_a_bird_turning_down_over_an_arc_is_not_a_fall() -> None:
    # Style C, clip 3012: over the top of a circular arc a bird's height bends like a fall
    # (R w^2 = g here) while its sideways speed drains into the dive, which drag cannot do.
    w, r = 1.2, G / 1.44
    t = np.arange(0, 0.8, 1 / FPS)
    a = -1.3 + w * t
    x, y = 500 + r * np.cos(a) - 60 * t, 200 + r * np.sin(a)
    v = assess(t.tolist(), x.tolist(), y.tolist(), FLOORS, CFG, FPS)
    assert not v.ok and v.reason == "turning"


def test_a_light_object_thrown_sideways_and_slowed_by_drag_still_passes() -> None:
    # Quadratic drag (k = 0.15 / m at 20 px per metre) slows it sideways and down alike: the
    # sideways slowing is what drag explains, not a turn.
    k, dt = 0.15 / 20.0, 0.001
    p, vel, ts, xs, ys = np.array([400.0, 150.0]), np.array([60.0, -20.0]), [], [], []
    for i in range(int(1.6 / dt)):
        if i % 40 == 0:
            ts.append(i * dt)
            xs.append(float(p[0]))
            ys.append(float(p[1]))
        vel = vel + (np.array([0.0, G]) - k * np.linalg.norm(vel) * vel) * dt
        p = p + vel * dt
    v = assess(ts, xs, ys, FLOORS, CFG, FPS)
    assert v.ok, v.reason
