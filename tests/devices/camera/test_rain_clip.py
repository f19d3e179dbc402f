"""A throw in heavy rain (style C), end to end: the tracker's shared blobs and the walk
reserve keep the object's track together among raindrops' tracks."""

from __future__ import annotations

import json
from pathlib import Path

from tests.devices.camera.drag_clips import falls_in
from tests.devices.camera.rain_clips import RELEASE_T, rain_throw


def test_a_throw_in_heavy_rain_at_a_near_facade_is_found(tmp_path: Path) -> None:
    # Clip 3106's scene (near facade, 458 rain streaks a frame, JPEG and WMV2) with its throw
    # at 112.1 s alone: before, its blob went from track to track among the raindrops' and
    # every piece failed (nothing found).
    truth_path = rain_throw(tmp_path, 3106, "near", 10)
    assert json.loads(truth_path.read_text())["conditions"]["rain"] > 400
    throw, falls = falls_in(truth_path)
    assert len(falls) == 1
    assert abs(falls[0].t - RELEASE_T) < 1.0 and abs(falls[0].floor - throw["floor"]) <= 1
