"""Whole-frame effects shared by the scenes: sensor noise, exposure changes, camera shake, rain."""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from simulators.video.timeline import Episode, GainStep

# A small bank of noise images reused at random: fresh Gaussian noise for every 720p frame
# would cost more than the rest of the rendering together.
_NOISE_BANK = 12
_NOISE_OFFSET = 24


class Noise:
    """Additive sensor noise drawn from a precomputed bank."""

    def __init__(self, shape: tuple[int, int], sigma: float, seed: int) -> None:
        rng = np.random.default_rng(seed)
        self._rng = rng
        self._bank = [
            np.clip(rng.normal(_NOISE_OFFSET, sigma, (*shape, 3)), 0, 2 * _NOISE_OFFSET).astype(
                np.uint8
            )
            for _ in range(_NOISE_BANK)
        ]

    def apply(self, frame: np.ndarray) -> np.ndarray:
        """Return the frame with one bank image of noise added (saturating)."""
        noise = self._bank[int(self._rng.integers(_NOISE_BANK))]
        out = cv2.add(frame, noise)
        return cv2.subtract(out, (_NOISE_OFFSET, _NOISE_OFFSET, _NOISE_OFFSET, 0))


def gain_at(steps: list[GainStep], t: float) -> float:
    """Exposure gain at time t: piecewise constant with linear ramps (clouds, auto-exposure)."""
    gain = 1.0
    for step in steps:
        if t < step.t:
            break
        if step.ramp_s > 0 and t < step.t + step.ramp_s:
            return gain + (step.gain - gain) * (t - step.t) / step.ramp_s
        gain = step.gain
    return gain


def apply_gain(frame: np.ndarray, gain: float) -> np.ndarray:
    """Scale brightness; skipped when the gain is 1 because it is the common case."""
    if abs(gain - 1.0) < 1e-3:
        return frame
    return cv2.convertScaleAbs(frame, alpha=gain)


def shake_offset(episodes: list[Episode], t: float) -> tuple[float, float]:
    """Camera displacement (pixels) during wind-shake episodes: a mix of two wobble frequencies."""
    for ep in episodes:
        if ep.t <= t < ep.t + ep.duration_s:
            phase = ep.seed * 0.7
            dx = ep.amplitude * (
                0.7 * math.sin(2 * math.pi * 3.1 * t + phase)
                + 0.3 * math.sin(2 * math.pi * 7.3 * t)
            )
            dy = ep.amplitude * (
                0.6 * math.sin(2 * math.pi * 2.3 * t + 2 * phase)
                + 0.4 * math.sin(2 * math.pi * 5.9 * t + 1.0)
            )
            return dx, dy
    return 0.0, 0.0


def apply_shake(frame: np.ndarray, offset: tuple[float, float]) -> np.ndarray:
    """Translate the frame by a sub-pixel offset, as a shaking pole would."""
    dx, dy = offset
    if dx == 0.0 and dy == 0.0:
        return frame
    matrix = np.float32([[1, 0, dx], [0, 1, dy]])
    h, w = frame.shape[:2]
    return cv2.warpAffine(
        frame, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
    )


@dataclass
class Rain:
    """Rain streaks: each frame shows new short, faint, slanted streaks close to the camera."""

    density: int
    brightness: int
    seed: int

    def __post_init__(self) -> None:
        self._rng = np.random.default_rng(self.seed)

    def apply(self, frame: np.ndarray) -> np.ndarray:
        """Add this frame's streaks to the frame."""
        h, w = frame.shape[:2]
        layer = np.zeros_like(frame)
        n = self.density
        xs = self._rng.integers(0, w, n)
        ys = self._rng.integers(-20, h, n)
        lengths = self._rng.integers(14, 34, n)
        slant = self._rng.normal(0.12, 0.03)
        level = self.brightness
        for x, y, length in zip(xs.tolist(), ys.tolist(), lengths.tolist(), strict=True):
            cv2.line(layer, (x, y), (int(x + slant * length), y + length), (level, level, level), 1)
        return cv2.add(frame, layer)
