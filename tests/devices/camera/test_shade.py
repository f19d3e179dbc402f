"""A tree's shade swaying over a fire lane is a change of light, not a shake and not an object.

The shade is a big, contrasted pattern: phase correlation followed its sway of 1-2 px over
the whole lane crop, the frame was warped by that "shake", the lane's paint and texture no
longer matched the reference, whole zones read changed and blocked and never cleared (style C,
clip 3102). Registration now also asks the lane's colour edges (the paint): light changes
brightness, not hue, so a shift that only the shade made is refused, and a real shake, which
moves the paint too, is still followed.
"""

from __future__ import annotations

import cv2
import numpy as np

from devices.camera.analyze import Analyzer
from devices.camera.condition import Conditioner
from devices.camera.config import CameraConfig, FireLaneConfig, FireLaneZone
from devices.camera.source import Frame
from simulators.video.style_c.lane_clip import lane_config
from simulators.video.style_c.lane_draw import StyleCLane
from simulators.video.style_c.lane_scene import plan_lane_c

W, H = 640, 360
PAD = 8


def _lane(seed: int = 1) -> np.ndarray:
    """Grey asphalt with a faint texture, yellow border lines and hatching, PAD px spare on
    every side (for shifted views)."""
    rng = np.random.default_rng(seed)
    h, w = H + 2 * PAD, W + 2 * PAD
    tex = cv2.resize(rng.random((h // 8, w // 8)).astype(np.float32), (w, h))
    img = np.empty((h, w, 3), np.float32)
    img[:] = (100.0, 104.0, 108.0)
    img *= (0.9 + 0.2 * tex)[..., None]
    yellow = (40.0, 200.0, 230.0)
    for x in (120, 520):
        cv2.rectangle(img, (x, 0), (x + 8, h), yellow, -1)
    for y in range(20, h, 60):
        cv2.line(img, (128, y), (520, y + 40), yellow, 2, cv2.LINE_AA)
    return img


def _shade(seed: int = 2) -> np.ndarray:
    """Dappled shade (a light factor 0.6-1) larger than the lane by PAD on every side."""
    rng = np.random.default_rng(seed)
    h, w = H + 4 * PAD, W + 4 * PAD
    noise = cv2.resize(rng.random((h // 16, w // 16)).astype(np.float32), (w, h),
                       interpolation=cv2.INTER_CUBIC)  # fmt: skip
    return (1.0 - 0.4 * np.clip((noise - 0.4) * 5, 0, 1)).astype(np.float32)


def _frame(lane: np.ndarray, shade: np.ndarray, sx: int, sy: int, cx: int = 0, cy: int = 0,
           rng: np.random.Generator | None = None) -> np.ndarray:  # fmt: skip
    """The lane seen by a camera offset by (cx, cy) under the shade offset by (sx, sy)."""
    lit = lane * shade[PAD + sy : PAD + sy + lane.shape[0], PAD + sx : PAD + sx + lane.shape[1],
                       None]  # fmt: skip
    view = lit[PAD + cy : PAD + cy + H, PAD + cx : PAD + cx + W]
    if rng is not None:
        view = view + rng.normal(0.0, 1.5, view.shape)
    return np.clip(view, 0, 255).astype(np.uint8)


def test_a_swaying_shade_is_not_taken_for_shake() -> None:
    # Style C's lane 3102 (its own drawing code): dappled shade over both zones swaying by
    # 1-3 px, no shake in the first 8 s. Registration followed the shade from 0.6 s on.
    sc = plan_lane_c(3102, 8.0, 25.0, 60.0)
    assert not sc.cond.shakes
    draw = StyleCLane(sc)
    analyzer = Analyzer(lane_config(sc), 25.0)
    for i in range(0, 200, 5):
        analyzer.process(Frame(i, i / 25.0, draw.frame(i)))
        assert analyzer._conditioner is not None
        assert analyzer._conditioner.shift == (0.0, 0.0), (i, analyzer._conditioner.shift)


def test_a_shake_under_a_shade_is_still_followed() -> None:
    lane, shade = _lane(), _shade()
    rng = np.random.default_rng(5)
    cond = Conditioner((W, H), 1.0, min_gain_step=0.03, hue_check=True)
    for _ in range(12):
        cond.apply(_frame(lane, shade, 0, 0, rng=rng))
    # The camera moves: paint, texture and shade alike, 2 px.
    cond.apply(_frame(lane, shade, 0, 0, cx=2, cy=0, rng=rng))
    dx, dy = cond.shift
    assert abs(dx + 2.0) < 0.5 and abs(dy) < 0.5


def test_a_lane_under_a_swaying_shade_stays_free_and_a_box_in_it_still_blocks() -> None:
    lane, shade = _lane(), _shade()
    zone = FireLaneZone(id="FL-1", polygon=[(140, 120), (500, 120), (500, 340), (140, 340)])
    lanes = FireLaneConfig(zones=[zone], dwell_s=8.0, clear_s=3.0, background_s=10.0)
    cfg = CameraConfig(frame_width=W, frame_height=H, fire_lanes=lanes)
    rng = np.random.default_rng(9)
    fps = 5.0
    analyzer = Analyzer(cfg, fps)
    events = []
    for i in range(int(40 * fps)):
        t = i / fps
        # The shade sways by up to 3 px over a few seconds, all the time.
        sx = round(2 * np.sin(0.9 * t) + np.sin(2.3 * t))
        sy = round(1.5 * np.sin(0.7 * t + 1))
        img = _frame(lane, shade, sx, sy, rng=rng)
        if 20.0 <= t < 34.0:  # a red box
            img[220:280, 280:350] = (40, 50, 170)
        events += analyzer.process(Frame(i, t, img))
    kinds = [(e.type, round(e.t, 1)) for e in events]
    assert [k for k, _ in kinds] == ["fire_lane_blocked", "fire_lane_cleared"], kinds
    blocked, cleared = (t for _, t in kinds)
    assert 27.0 <= blocked <= 30.0  # arrival at 20 s + the 8 s dwell, dated near it
    assert abs(cleared - 34.0) <= 3.0  # dated at the departure
