"""Trimming a long fall with drag out of a rain track.

In rain a coasting track's wide gate hops among raindrops (a sighting every few frames, tens
of pixels apart) before it takes an object and follows its whole fall. Style C, set 3100,
clip 3104 at 4.5 s: 8 such sightings in a second, then a light object's 4.3-s fall with drag.
Two things lost it: the hopping head counted as the motion of the thing that then fell, so no
piece after it was clean; and once it was, the trimming stopped at the fall's first second, a
weak free fall passing at 0.40, before it tried the drag fall of which that is the start
(0.93). A head seen in under half its frames is loose links; a piece that passes under
`min_confidence` lets the search go on to the falls that continue it.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from devices.camera.config import FallingConfig, Floors
from devices.camera.judge import Judge
from devices.camera.physics import FloorMap
from devices.camera.region import Crop
from devices.camera.tracking import Track

FPS = 25.0
TOP = 40.0


def _judge(storey: float = 22.0) -> tuple[Judge, FallingConfig]:
    """A facade of 20 storeys of `storey` px (3 m)."""
    lines = [(100.0, TOP + (20 - k) * storey, 1200.0, TOP + (20 - k) * storey) for k in range(21)]
    bottom = TOP + 20 * storey
    cfg = FallingConfig(
        facade=[(100.0, TOP), (1200.0, TOP), (1200.0, bottom), (100.0, bottom)],
        floors=Floors(first=1, height_m=3.0, lines=lines),
    )
    return Judge(cfg, Crop(0, 0, 1280, 720, 1.0), FloorMap(cfg.floors), FPS), cfg


def _drag_fall(k: float, seconds: float) -> list[float]:
    """Drop (m) of an object released at rest under gravity and quadratic drag k (1/m)."""
    dt, y, v, out = 0.001, 0.0, 0.0, []
    for i in range(round(seconds / dt) + 1):
        if i % round(1 / (FPS * dt)) == 0:
            out.append(y)
        y, v = y + v * dt, v + (9.81 - k * v * v) * dt
    return out


def _track(
    head: str, seed: int, drag: float = 0.25, seconds: float = 4.0, storey: float = 22.0
) -> Track:
    """A head of 1 s, then a fall with drag (1/m) from the sill of storey 15, then rest."""
    rng = np.random.default_rng(seed)
    ppm = storey / 3.0
    x0, y0 = 600.0, TOP + 6 * storey
    tr = Track(1)

    def add(t: float, x: float, y: float) -> None:
        tr.t.append(t)
        tr.x.append(x + float(rng.normal(0, 0.4)))
        tr.y.append(y + float(rng.normal(0, 0.4)))
        tr.area.append(12)

    if head == "hopping":  # raindrops a coasting track linked, every third frame or so,
        # the last of them the object on its sill
        for i in (0, 5, 7, 12, 14, 15, 21):
            add(i / FPS, x0 + float(rng.uniform(-60, 60)), y0 + float(rng.uniform(60, 240)))
        add(24 / FPS, x0, y0)
    else:  # something seen in every frame, gliding in from the side
        for i in range(25):
            add(i / FPS, x0 - 100 + 4 * i, y0 - 20 + 0.8 * i)
    t0 = 1.0
    drops = _drag_fall(drag, seconds)
    for i, d in enumerate(drops):
        add(t0 + i / FPS, x0 + 0.3 * math.tanh(i / 25), y0 + d * ppm)
    for i in range(1, 5):
        add(t0 + (len(drops) - 1 + i) / FPS, x0 + 0.3, y0 + drops[-1] * ppm)
    return tr


@pytest.mark.parametrize("seed", range(3))
def test_a_drag_fall_after_a_hopping_rain_head_is_found(seed: int) -> None:
    judge, cfg = _judge()
    [det] = judge([_track("hopping", seed)])
    assert det.floor is not None and abs(det.floor - 15) <= 1
    assert det.confidence >= cfg.min_confidence
    assert abs(det.t - 1.0) < 0.2


@pytest.mark.parametrize("seed", range(4))
def test_a_drag_fall_whose_first_second_passes_low_is_found(seed: int) -> None:
    # A bag (drag 0.3 /m, terminal speed 5.7 m/s) at a 31-px storey: its first second passes
    # as a weak free fall under `min_confidence` (seed 3: the trimming stopped there), the
    # whole 3 s as a fall with drag.
    judge, cfg = _judge(31.0)
    [det] = judge([_track("hopping", seed, drag=0.3, seconds=3.0, storey=31.0)])
    assert det.floor is not None and abs(det.floor - 15) <= 1
    assert det.confidence >= cfg.min_confidence


@pytest.mark.parametrize("seed", range(3))
def test_a_drag_fall_out_of_a_glide_seen_throughout_is_not(seed: int) -> None:
    # The head is one thing's motion, seen in every frame: as before, no piece after it is
    # clean, and a drag fall never passes as a whole fall on its own.
    judge, _ = _judge()
    assert judge([_track("glide", seed)]) == []
