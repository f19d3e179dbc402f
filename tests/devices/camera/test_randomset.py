"""The randomised evaluation scenes: what they vary, what the installer's config holds, and that
the two rendering styles are reproducible and really differ."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from devices.camera.config import load_config
from simulators.video.random_lane_plan import plan_lane
from simulators.video.random_plan import plan_facade
from simulators.video.randomset import render
from simulators.video.style_a import StyleAFacade
from simulators.video.style_b.facade import StyleBFacade


def test_plans_cover_the_scales_and_keep_throws_visible() -> None:
    storeys = [plan_facade(s, 60.0).geo.storey_px() for s in range(1, 13)]
    assert min(storeys) < 33 and max(storeys) > 50, "far and near facades both occur"
    plan = plan_facade(3, 120.0, storey_px=24.0)
    assert 20 <= plan.geo.storey_px() <= 28
    assert plan.drops and all(4.0 <= d.size_px <= 30.0 for d in plan.drops)
    assert {f.mode for f in plan.flyers} >= {"cross", "dive"}


def test_installer_config_has_no_window_masks_and_keeps_traced_trees(tmp_path: Path) -> None:
    plan = next(p for p in (plan_facade(s, 2.0) for s in range(1, 40)) if p.geo.trees)
    clip = render(tmp_path, plan, "a", "cfg", frames=2)
    config = load_config(clip.config)
    assert config.falling is not None
    kinds = [m.kind for m in config.falling.masks]
    assert "window" not in kinds and "trees" in kinds
    assert max(len(m.polygon) for m in config.falling.masks) > 64, "traced outlines load"
    truth = json.loads(clip.truth.read_text(encoding="utf-8"))
    assert truth["scale_band"] in ("far", "mid", "near")
    assert all("path" in e and "contrast" in e for e in truth["events"])


def test_lane_plans_have_far_zones_small_objects_and_long_stays() -> None:
    plan = plan_lane(1, 2100.0, 5.0, 120.0)
    geo = plan.geo
    assert "far" in {geo.zone_distance(u0, u1) for _, u0, u1 in geo.zones()}
    stays = [s.t_leave - s.t_arrive for s in plan.stops]
    assert max(stays) > 600, "stays of ten minutes and more"
    kinds = {s.kind for p in (plan_lane(k, 2100.0, 5.0, 120.0) for k in (1, 2, 3)) for s in p.stops}
    assert {"boxes", "bicycle", "car"} <= kinds


def test_both_styles_are_reproducible_and_different() -> None:
    plan = plan_facade(5, 4.0)
    a1, a2 = StyleAFacade(plan).frame(30), StyleAFacade(plan).frame(30)
    b1 = StyleBFacade(plan).frame(30)
    assert a1.shape == b1.shape == (720, 1280, 3)
    # Same seed, same picture up to the sensor noise drawn per frame.
    assert np.abs(a1.astype(int) - a2.astype(int)).mean() < 6
    # Same scene, different drawing: textures, noise and compression all differ.
    assert np.abs(a1.astype(int) - b1.astype(int)).mean() > 10
