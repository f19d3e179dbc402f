"""Style B raster toolkit: implicit-shape sprites, alpha compositing, sensor and codec artefacts."""

from __future__ import annotations

import math
from collections.abc import Callable

import cv2
import numpy as np

Shape = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (u, v) in [-1, 1] → coverage 0/1
SS = 4  # supersampling per axis


def _blob(seed: float) -> Shape:
    def f(u: np.ndarray, v: np.ndarray) -> np.ndarray:
        a = np.arctan2(v, u)
        r = 0.78 + 0.14 * np.sin(3 * a + seed) + 0.08 * np.sin(5 * a + 2 * seed)
        return (u * u + v * v <= r * r).astype(np.float32)

    return f


def shape_fn(name: str, seed: float = 0.0) -> Shape:
    """Coverage function of an object shape in its own frame, unit half-size."""
    if name == "ball":
        return lambda u, v: (u * u + v * v <= 1).astype(np.float32)
    if name == "box":
        return lambda u, v: ((abs(u) <= 0.8) & (abs(v) <= 0.8)).astype(np.float32)
    if name == "bottle":
        return lambda u, v: (
            ((abs(u) <= 0.32) & (abs(v) <= 0.7)) | ((abs(u) <= 0.13) & (v < -0.6) & (v > -1.0))
        ).astype(np.float32)
    if name == "can":
        return lambda u, v: ((abs(u) <= 0.45) & (abs(v) <= 0.8)).astype(np.float32)
    if name == "pot":
        return lambda u, v: ((abs(u) <= 0.55 + 0.3 * (v + 1) / 2) & (abs(v) <= 0.75)).astype(
            np.float32
        )
    return _blob(seed)


def sprite(
    shape: Shape,
    half: float,
    angle: float,
    centre: tuple[float, float],
    blur: tuple[float, float] = (0.0, 0.0),
    samples: int = 1,
    light: bool = True,
) -> tuple[int, int, np.ndarray, np.ndarray]:
    """Render a rotated shape at a sub-pixel centre, smeared along `blur` (pixels).

    Returns (x0, y0, alpha, shade): the frame offset of the patch, coverage 0..1 and a
    lighting factor (top-left lit) of the same size.
    """
    reach = half + 0.5 * math.hypot(*blur) + 2
    cx, cy = centre
    x0, y0 = math.floor(cx - reach), math.floor(cy - reach)
    n = math.ceil(2 * reach) + 2
    # Fine supersampling only where it shows: a big object's edge is a small part of it.
    ss = SS if half < 10 else 2 if half < 40 else 1
    grid = (np.arange(n * ss, dtype=np.float32) + 0.5) / ss
    gx, gy = np.meshgrid(grid + x0 - cx, grid + y0 - cy)
    c, s = math.cos(angle), math.sin(angle)
    acc = np.zeros_like(gx)
    lit = np.zeros_like(gx)
    for k in range(samples):
        f = (k + 0.5) / samples - 0.5
        px, py = gx - f * blur[0], gy - f * blur[1]
        u = (c * px + s * py) / max(half, 0.3)
        v = (-s * px + c * py) / max(half, 0.3)
        cov = shape(u, v)
        acc += cov
        if light:
            lit += cov * np.clip(0.75 - 0.3 * (u + v), 0.35, 1.1)
    acc /= samples
    shade = np.divide(lit, acc * samples, out=np.ones_like(lit), where=acc > 0) if light else None
    alpha = cv2.resize(acc, (n, n), interpolation=cv2.INTER_AREA)
    shade_px = (
        cv2.resize(shade, (n, n), interpolation=cv2.INTER_AREA) if shade is not None else None
    )
    return x0, y0, alpha, shade_px if shade_px is not None else np.ones_like(alpha)


def composite(
    img: np.ndarray,
    x0: int,
    y0: int,
    alpha: np.ndarray,
    color: tuple[float, float, float],
    shade: np.ndarray | None = None,
) -> None:
    """Blend a coloured patch into the frame in place, clipped to the frame."""
    h, w = img.shape[:2]
    ph, pw = alpha.shape
    ax0, ay0 = max(0, -x0), max(0, -y0)
    bx0, by0 = max(0, x0), max(0, y0)
    bx1, by1 = min(w, x0 + pw), min(h, y0 + ph)
    if bx1 <= bx0 or by1 <= by0:
        return
    a = alpha[ay0 : ay0 + by1 - by0, ax0 : ax0 + bx1 - bx0, None]
    col = np.asarray(color, np.float32)[None, None, :]
    if shade is not None:
        col = col * shade[ay0 : ay0 + by1 - by0, ax0 : ax0 + bx1 - bx0, None]
    region = img[by0:by1, bx0:bx1].astype(np.float32)
    img[by0:by1, bx0:bx1] = np.clip(region * (1 - a) + col * a, 0, 255).astype(np.uint8)


def soft_dot(
    img: np.ndarray, x: float, y: float, sigma: float, color: tuple, strength: float
) -> None:
    """A Gaussian blob (an out-of-focus insect, a snowflake) blended in place."""
    r = int(3 * sigma) + 1
    xs = np.arange(-r, r + 1, dtype=np.float32)
    fx = x - math.floor(x)
    fy = y - math.floor(y)
    gx = np.exp(-((xs - fx) ** 2) / (2 * sigma * sigma))
    gy = np.exp(-((xs - fy) ** 2) / (2 * sigma * sigma))
    composite(img, math.floor(x) - r, math.floor(y) - r, strength * np.outer(gy, gx), color)


def value_noise(shape: tuple[int, int], cell: int, rng: np.random.Generator) -> np.ndarray:
    """Smooth random field in [-1, 1]: a coarse random grid upsampled bicubically."""
    h, w = shape
    coarse = rng.uniform(-1, 1, (h // cell + 3, w // cell + 3)).astype(np.float32)
    big = cv2.resize(
        coarse, ((w // cell + 3) * cell, (h // cell + 3) * cell), interpolation=cv2.INTER_CUBIC
    )
    return big[cell : cell + h, cell : cell + w]


class ShotNoise:
    """Brightness-dependent sensor noise from a bank of signed frames split into two uint8 parts."""

    def __init__(self, reference: np.ndarray, strength: float, seed: int, bank: int = 6) -> None:
        rng = np.random.default_rng(seed)
        sigma = (strength * (0.6 + np.sqrt(reference.astype(np.float32)) / 6)).astype(np.float32)
        self._pos: list[np.ndarray] = []
        self._neg: list[np.ndarray] = []
        for _ in range(bank):
            z = rng.standard_normal(reference.shape[:2]).astype(np.float32)[..., None]
            chroma = 0.35 * rng.standard_normal(reference.shape).astype(np.float32)
            n = sigma * (z + chroma)
            self._pos.append(np.clip(n, 0, 255).astype(np.uint8))
            self._neg.append(np.clip(-n, 0, 255).astype(np.uint8))
        self._rng = rng

    def apply(self, img: np.ndarray) -> np.ndarray:
        """Noisy copy of the frame."""
        k = int(self._rng.integers(len(self._pos)))
        # Rolling the bank by a random offset keeps consecutive frames from repeating a pattern.
        dy = int(self._rng.integers(0, 8))
        pos, neg = self._pos[k], self._neg[k]
        if dy:
            pos, neg = np.roll(pos, dy, axis=0), np.roll(neg, dy, axis=0)
        return cv2.subtract(cv2.add(img, pos), neg)


class Exposure:
    """Auto-exposure that chases the plan's brightness targets with a 0.4 s lag."""

    def __init__(self, targets: list[tuple[float, float, float]], fps: float) -> None:
        self._targets = sorted(targets)
        self._gain = 1.0
        self._k = 1 - math.exp(-1 / (0.4 * fps))

    def gain(self, t: float) -> float:
        """Current gain."""
        goal = 1.0
        for t0, g, ramp in self._targets:
            if t < t0:
                break
            goal = g if ramp <= 0 or t >= t0 + ramp else goal + (g - goal) * (t - t0) / ramp
        self._gain += (goal - self._gain) * self._k
        return self._gain


def jiggle(shakes: list[tuple[float, float, float]], t: float) -> tuple[float, float]:
    """Pole sway: a damped two-axis oscillation started by each shake episode."""
    dx = dy = 0.0
    for t0, dur, amp in shakes:
        s = t - t0
        if 0 <= s <= dur + 1.0:
            env = amp * (min(1.0, s / 0.3) if s < dur else math.exp(-4 * (s - dur)))
            dx += env * math.sin(2 * math.pi * 4.3 * s + t0)
            dy += 0.7 * env * math.sin(2 * math.pi * 3.7 * s + 2 * t0)
    return dx, dy


def move(img: np.ndarray, offset: tuple[float, float]) -> np.ndarray:
    """Translate by a sub-pixel offset with edge replication."""
    if offset == (0.0, 0.0):
        return img
    m = np.float32([[1, 0, offset[0]], [0, 1, offset[1]]])
    return cv2.warpAffine(img, m, (img.shape[1], img.shape[0]), borderMode=cv2.BORDER_REPLICATE)


def jpeg_roundtrip(img: np.ndarray, quality: int) -> np.ndarray:
    """What a camera's JPEG stage leaves: 8×8 blocks and ringing."""
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        return img
    return cv2.imdecode(buf, cv2.IMREAD_COLOR)


def ir_mode(img: np.ndarray) -> np.ndarray:
    """Night infrared: monochrome, vegetation bright, a little bloom."""
    b, g, r = cv2.split(img)
    grey = cv2.addWeighted(cv2.addWeighted(b, 0.25, g, 0.45, 0), 1.0, r, 0.3, 0)
    return cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR)
