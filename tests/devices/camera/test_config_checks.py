"""Configuration edges: large polygons, geometry off the frame, occupancy thresholds, and the
installer's check picture."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

from devices.camera.analyze import main
from devices.camera.checks import geometry_warnings
from devices.camera.config import (
    MAX_VERTICES,
    CameraConfig,
    FireLaneConfig,
    FireLaneZone,
    GeometryWarning,
    Mask,
)
from devices.camera.lanezone import MIN_OBJECT_PX, zone_state
from simulators.video import facade


def _circle(n: int, cx: float = 300.0, cy: float = 400.0, r: float = 120.0) -> list:
    return [
        (cx + r * math.cos(2 * math.pi * k / n), cy + r * math.sin(2 * math.pi * k / n))
        for k in range(n)
    ]


def _area(poly: list) -> float:
    a = np.asarray(poly, np.float64)
    return 0.5 * abs(float(a[:, 0] @ np.roll(a[:, 1], 1) - a[:, 1] @ np.roll(a[:, 0], 1)))


def test_a_traced_tree_outline_of_150_vertices_is_accepted_as_it_is() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", GeometryWarning)
        mask = Mask(name="tree", kind="trees", polygon=_circle(150))
    assert len(mask.polygon) == 150


def test_a_huge_polygon_is_simplified_with_a_warning_and_keeps_its_shape() -> None:
    raw = _circle(5000)
    with pytest.warns(GeometryWarning, match="5000 vertices was simplified"):
        mask = Mask(name="tree", polygon=raw)
    assert 3 <= len(mask.polygon) <= MAX_VERTICES
    assert _area(mask.polygon) == pytest.approx(_area(raw), rel=0.01)


def test_geometry_outside_the_frame_is_reported() -> None:
    base = facade.camera_config(1)
    assert base.falling is not None
    assert geometry_warnings(base) == [], "the stock scene is clean (its masks overhang a bit)"
    f = base.falling
    off = f.model_copy(
        update={
            "facade": [(240, 70), (1400, 70), (1400, 670), (240, 670)],
            "masks": [*f.masks, Mask(name="lost", polygon=[(2000, 0), (2100, 0), (2100, 50)])],
        }
    )
    zones = FireLaneConfig(zones=[FireLaneZone(id="FL-9", polygon=[(10, 10), (20, 10), (20, 20)])])
    warns = geometry_warnings(base.model_copy(update={"falling": off, "fire_lanes": zones}))
    text = "\n".join(warns)
    assert "falling.facade: 2 of 4 points lie outside the 1280x720 frame" in text
    assert "falling.masks[lost] lies entirely outside the frame" in text
    assert "fire_lanes.zones[FL-9] covers only 50 px" in text


def test_occupancy_threshold_follows_the_zone_and_never_drops_below_a_floor() -> None:
    zone = FireLaneZone(id="FL-1", polygon=[(0, 0), (400, 0), (400, 100), (0, 100)])
    mask = np.zeros((100, 400), np.uint8)
    mask[:] = 255
    assert zone_state(zone, mask, 1.0).threshold_px == pytest.approx(400.0)  # 1 % of 40 000
    tiny = zone.model_copy(update={"min_area_frac": 0.0001})
    assert zone_state(tiny, mask, 1.0).threshold_px == MIN_OBJECT_PX
    direct = zone.model_copy(update={"min_area_px": 150.0})
    assert zone_state(direct, mask, 1.0).threshold_px == 150.0


def test_draw_config_writes_the_check_picture(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    frame = np.full((720, 1280, 3), 128, np.uint8)
    frames = tmp_path / "frames"
    frames.mkdir()
    cv2.imwrite(str(frames / "f000.png"), frame)
    cfg = facade.camera_config(1).model_dump(mode="json", exclude_none=True)
    cfg["fire_lanes"] = {
        "zones": [{"id": "FL-1", "polygon": [[100, 600], [500, 600], [500, 700], [100, 700]]}]
    }
    cfg["falling"]["masks"].append({"name": "off", "polygon": [[1300, 0], [1400, 0], [1400, 40]]})
    path = tmp_path / "cam.yaml"
    path.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    CameraConfig.model_validate(cfg)
    out = tmp_path / "check.png"
    assert main(["--video", str(frames), "--config", str(path), "--draw-config", str(out)]) == 0
    captured = capsys.readouterr()
    assert str(out) in captured.out
    assert "falling.masks[off] lies entirely outside the frame" in captured.err
    picture = cv2.imread(str(out))
    assert picture.shape == frame.shape
    assert (np.abs(picture.astype(int) - 128).sum(axis=2) > 60).mean() > 0.05, "something drawn"
    # The facade outline is drawn in its colour where the config says it is.
    assert tuple(picture[300, 240]) != (128, 128, 128)
