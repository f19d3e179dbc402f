"""Frame conditioning: registration of a tall, narrow facade crop."""

from __future__ import annotations

import cv2
import numpy as np

from devices.camera.condition import REG_WIDTH, Conditioner


def textured_wall(w: int, h: int, seed: int) -> np.ndarray:
    """A blurred random texture 20 px larger than (w, h) on every side, to crop shifted
    views of (a shaking camera)."""
    rng = np.random.default_rng(seed)
    wall = cv2.GaussianBlur(rng.integers(0, 255, (h + 40, w + 40), dtype=np.uint8), (0, 0), 2)
    return cv2.cvtColor(wall, cv2.COLOR_GRAY2BGR)


def test_a_tall_narrow_crop_is_registered_on_a_small_copy_and_still_follows_shake() -> None:
    # A far tower: 234 x 650 analysis pixels, narrower than REG_WIDTH. Phase correlation on
    # the whole of it cost 4 ms a frame; it must run on a halved copy and still measure shake.
    w, h = 234, 650
    wall = textured_wall(w, h, seed=3)
    cond = Conditioner((w, h), 1.0)
    reg_w, reg_h = cond._reg_size
    assert w <= REG_WIDTH and reg_w * reg_h <= 1.5 * REG_WIDTH * REG_WIDTH
    for _ in range(5):
        cond.apply(wall[20 : 20 + h, 20 : 20 + w])
    cond.apply(wall[23 : 23 + h, 20 : 20 + w])  # the camera dips: content moves up by 3 px
    dx, dy = cond.shift
    # Within the 3x3 range test that guards the foreground while the camera moves.
    assert abs(dx) < 0.75 and abs(dy + 3.0) < 0.75


def test_shake_is_measured_right_on_a_crop_of_odd_width() -> None:
    # 225 px wide: OpenCV's phase correlation centres its surface for even sides only and read
    # a 2 px shake as 1.5 px (and every still frame as half a pixel of shake).
    w, h = 225, 300
    for seed in range(3):
        wall = textured_wall(w, h, seed=seed)
        cond = Conditioner((w, h), 1.0)
        for _ in range(5):
            cond.apply(wall[20 : 20 + h, 20 : 20 + w])
        cond.apply(wall[20 : 20 + h, 22 : 22 + w])  # the content moves 2 px left
        dx, dy = cond.shift
        assert abs(dx + 2.0) < 0.15 and abs(dy) < 0.15
