"""The integer Gaussian background model against the behaviour MOG2 gave the detector: a
per-pixel noise level, small objects seen, lasting changes and flicker learnt as background."""

from __future__ import annotations

from collections.abc import Iterator

import cv2
import numpy as np

from devices.camera.segment import Gaussian, Mog2

H, W = 96, 128


def _wall(rng: np.random.Generator) -> np.ndarray:
    """A textured wall, grey with coloured tiles."""
    wall = np.full((H, W, 3), 110.0) + rng.normal(0.0, 12.0, (H, W, 1))
    wall[::8, :] = (90, 95, 100)
    return wall


def _frames(
    rng: np.random.Generator, wall: np.ndarray, sigma: np.ndarray, n: int
) -> Iterator[np.ndarray]:
    """`n` noisy float pictures of the wall (noise `sigma` per pixel)."""
    for _ in range(n):
        yield np.clip(wall + rng.normal(0.0, 1.0, wall.shape) * sigma, 0, 255)


def test_noise_sets_each_pixels_threshold_and_a_small_object_still_shows() -> None:
    # The left half is three times as noisy as the right (night, compression): after a few
    # seconds neither half has more than stray foreground, and a 3x3 object 30 levels
    # brighter shows in both.
    rng = np.random.default_rng(1)
    wall = _wall(rng)
    sigma = np.ones((H, W, 1)) * 2.0
    sigma[:, : W // 2] = 6.0
    seg = Gaussian(16.0)
    for frame in _frames(rng, wall, sigma, 150):
        fg = seg.apply(frame.astype(np.uint8))
    assert cv2.countNonZero(fg[:, : W // 2]) <= 0.003 * H * W / 2
    assert cv2.countNonZero(fg[:, W // 2 :]) <= 0.003 * H * W / 2
    frame = next(_frames(rng, wall, sigma, 1))
    for x in (30, 90):
        frame[40:43, x : x + 3] += 30
    fg = seg.apply(frame.astype(np.uint8))
    assert cv2.countNonZero(fg[40:43, 30:33]) >= 6
    assert cv2.countNonZero(fg[40:43, 90:93]) >= 6


def test_an_object_of_another_hue_but_the_walls_brightness_shows() -> None:
    # Blue on grey of the same luminance: the colour channels disagree, so it still counts.
    rng = np.random.default_rng(2)
    wall = _wall(rng)
    seg = Gaussian(16.0)
    for frame in _frames(rng, wall, np.full((H, W, 1), 2.0), 100):
        seg.apply(frame.astype(np.uint8))
    frame = next(_frames(rng, wall, np.full((H, W, 1), 2.0), 1))
    frame[50:54, 60:64] = wall[50:54, 60:64] + np.array([40.0, -5.0, -15.0])
    fg = seg.apply(np.clip(frame, 0, 255).astype(np.uint8))
    assert cv2.countNonZero(fg[50:54, 60:64]) >= 12


def test_a_light_switched_on_is_learnt_within_a_few_seconds_like_mog2() -> None:
    # A window lights up and stays lit: foreground at first, background after ~50 frames,
    # as MOG2's new mode becomes background at history 500.
    rng = np.random.default_rng(3)
    wall = _wall(rng)
    sigma = np.full((H, W, 1), 2.0)
    for seg in (Gaussian(16.0), Mog2(16.0)):
        for frame in _frames(rng, wall, sigma, 100):
            seg.apply(frame.astype(np.uint8))
        lit = wall.copy()
        lit[20:40, 20:40] += 80
        shares = [
            cv2.countNonZero(seg.apply(frame.astype(np.uint8))[20:40, 20:40]) / 400
            for frame in _frames(rng, lit, sigma, 120)
        ]
        assert shares[0] > 0.9, type(seg).__name__
        assert max(shares[90:]) < 0.05, type(seg).__name__


def test_a_flickering_screen_stops_counting() -> None:
    # A screen jumping at random between two levels is not a lasting change: its mean settles
    # between them and its pixels raise their own threshold until the flicker stops counting.
    rng = np.random.default_rng(4)
    wall = _wall(rng)
    sigma = np.full((H, W, 1), 2.0)
    seg = Gaussian(16.0)
    shares = []
    for frame in _frames(rng, wall, sigma, 1500):
        if rng.random() < 0.5:
            frame[60:70, 80:100] += 25
        fg = seg.apply(np.clip(frame, 0, 255).astype(np.uint8))
        shares.append(cv2.countNonZero(fg[60:70, 80:100]) / 200)
    assert max(shares[:60]) > 0.5
    assert np.mean(shares[-250:]) < 0.05
