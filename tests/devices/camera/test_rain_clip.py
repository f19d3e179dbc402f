"""A throw in heavy rain (style C), end to end: the tracker's shared blobs and the walk
reserve keep the object's track together among raindrops' tracks."""

from __future__ import annotations

import json
from pathlib import Path

from tests.devices.camera.rain_clips import RELEASE_T, rain_throw


def test_a_throw_in_heavy_rain_at_a_near_facade_is_found(tmp_path: Path) -> None:
    # Clip 3106's scene (near facade, 458 rain streaks a frame, JPEG and WMV2) with its throw
    # at 112.1 s alone: before, its blob went from track to track among the raindrops' and
    # every piece failed (nothing found).
    from devices.camera.analyze import Analyzer, run
    from devices.camera.config import load_config
    from devices.camera.source import FrameSource

    truth_path = rain_throw(tmp_path, 3106, "near", 10)
    truth = json.loads(truth_path.read_text())
    assert truth["conditions"]["rain"] > 400
    [throw] = truth["events"]
    stem = truth_path.name.removesuffix(".truth.json")
    video = next(p for p in tmp_path.glob(stem + ".*") if p.suffix == ".avi")
    source = FrameSource(str(video), threads=1)
    found = list(run(source, Analyzer(load_config(tmp_path / f"{stem}.camera.yaml"), source.fps)))
    source.close()
    falls = [d for d in found if d.type == "falling_object"]
    assert len(falls) == 1
    assert abs(falls[0].t - RELEASE_T) < 1.0 and abs(falls[0].floor - throw["floor"]) <= 1
