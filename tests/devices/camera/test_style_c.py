"""Style C (simulators/video/style_c): clips in the bench's truth format, installer configs."""

from __future__ import annotations

import json
from pathlib import Path

import cv2

from devices.camera.config import load_config
from simulators.video.style_c.clip import render_facade
from simulators.video.style_c.lane_clip import render_lane


def test_facade_clip_truth_and_installer_config(tmp_path: Path) -> None:
    video, truth_path, config_path = render_facade(tmp_path, 7001, 12.0, "far", "c", frames=10)
    truth = json.loads(truth_path.read_text())
    assert truth["style"] == "c" and truth["scene"] == "facade" and truth["frames"] == 10
    assert truth["scale_band"] == "far" and 20 <= truth["storey_px"] < 33
    for e in truth["events"]:
        assert {"t", "floor", "size_band", "x", "y", "path", "contrast"} <= set(e)
        assert e["floor"] >= 2
    config = load_config(config_path)
    assert config.falling is not None
    # What an installer draws: sky and trees only, never a window.
    assert {m.kind for m in config.falling.masks} <= {"sky", "trees"}
    assert len(config.falling.floors.lines) == truth["floors"] + 1
    cap = cv2.VideoCapture(str(video))
    ok, frame = cap.read()
    cap.release()
    assert ok and frame.shape == (720, 1280, 3)


def test_lane_clip_has_far_zone_and_stays(tmp_path: Path) -> None:
    _, truth_path, config_path = render_lane(tmp_path, 7002, 900.0, 5.0, 120.0, "l", frames=5)
    truth = json.loads(truth_path.read_text())
    assert truth["zones"]["FL-2"] == "far"
    assert any(e["blocking"] for e in truth["events"])
    config = load_config(config_path)
    assert config.fire_lanes is not None
    far = next(z for z in config.fire_lanes.zones if z.id == "FL-2")
    assert far.min_area_px is not None and far.min_area_px >= 24


def test_the_analyzer_finds_a_style_c_throw_with_the_installers_config(tmp_path: Path) -> None:
    # Seed 5007 (near, a development seed): one throw at 5.33 s from floor 4 in its first 10 s.
    from devices.camera.analyze import Analyzer, run
    from devices.camera.source import FrameSource

    video, truth_path, config_path = render_facade(tmp_path, 5007, 10.0, "near", "c")
    truth = json.loads(truth_path.read_text())
    [throw] = [e for e in truth["events"] if e["t"] < 9.0]
    source = FrameSource(str(video), threads=1)
    found = [d for d in run(source, Analyzer(load_config(config_path), source.fps))]
    source.close()
    falls = [d for d in found if d.type == "falling_object"]
    assert len(falls) == 1
    assert abs(falls[0].t - throw["t"]) < 1.5 and abs(falls[0].floor - throw["floor"]) <= 1
