"""Re-linking a falling object's sightings along its own parabola, independent of the tracker.

The tracker links blobs greedily frame by frame, so a falling object's points can end up on
other tracks: the start of the fall stays on the track of the object's resting place (or of a
lit window it sat beside), a track running across its path takes a few of its points, two
tracks take turns on a faint object. Each piece alone is too short or too poorly measured to
pass. `recover` starts from one such piece, follows the parabola it implies through the blobs
of the last few seconds, forwards and backwards, and returns every sighting that lies on it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from devices.camera.tracking import Blob, Track

# Seconds of sightings kept: a fall of 30 storeys takes under 3 s.
HISTORY_S = 4.0
# The local fit that predicts the next sighting uses this many sightings nearest in time.
_LOCAL = 10


@dataclass(frozen=True)
class _Frame:
    t: float
    xya: np.ndarray  # (n, 3): x, y, area in analysis pixels
    box: np.ndarray  # (n, 4): x0, y0, x1, y1 of each blob's bounding box


class Sightings:
    """The blobs of the last `HISTORY_S` seconds, frame by frame."""

    def __init__(self, fps: float) -> None:
        self.fps = fps
        self.frames: deque[_Frame] = deque(maxlen=max(8, round(HISTORY_S * fps)))

    def add(self, t: float, blobs: list[Blob]) -> None:
        """Record one frame's blobs (an empty list too: a frame with nothing seen)."""
        xya = np.array([(b.x, b.y, b.area) for b in blobs], np.float64).reshape(-1, 3)
        box = np.array([(b.x0, b.y0, b.x0 + b.w, b.y0 + b.h) for b in blobs], np.float64)
        self.frames.append(_Frame(t, xya, box.reshape(-1, 4)))


def _predict_xy(tt: list[float], xs: list[float], ys: list[float], g: float) -> tuple[float, float]:
    """Where x (no gravity) and y (gravity `g`) are at time 0 by straight-line fits of `x` and
    of `y - g t² / 2` over the times `tt` (two unknowns are robust on a few noisy points; drag
    shows as a slowly changing fit). Closed form in plain Python: `np.polyfit`, and numpy at
    all on ten points, cost several times the rest of a step."""
    n = len(tt)
    mt = sum(tt) / n
    dt = [v - mt for v in tt]
    var = sum(v * v for v in dt)
    yy = [v - 0.5 * g * w * w for v, w in zip(ys, tt, strict=True)]
    mx, my = sum(xs) / n, sum(yy) / n
    if var < 1e-12:
        return mx, my
    bx = sum(d * (v - mx) for d, v in zip(dt, xs, strict=True)) / var
    by = sum(d * (v - my) for d, v in zip(dt, yy, strict=True)) / var
    return mx - bx * mt, my - by * mt


def recover(seed: Track, sightings: Sightings, gravity: float, tol: float, max_gap: int) -> Track:
    """The seed's points plus every sighting that continues its fall (analysis pixels).

    `gravity` is the local gravity in analysis pixels per s²; `tol` the distance (analysis
    pixels) a sighting may lie off the prediction, growing by half for every frame in a row
    without one. Sightings much bigger or much smaller than the seed's object are skipped (a
    lit window it passes, a speck); a frame where the prediction lies inside a much bigger
    blob is not a miss (the object is in front of, or merged with, it: for up to 0.6 s, as in
    the tracker). The walk stops after `max_gap` misses in a row, or when the parabola leaves
    the frames kept.
    """
    frames = list(sightings.frames)
    max_hidden = max(1, round(0.6 * sightings.fps))
    typical = float(np.median(seed.area))
    t, x, y, a = list(seed.t), list(seed.x), list(seed.y), list(seed.area)
    have = set(np.round(np.asarray(t), 4).tolist())

    def take(f: _Frame, misses: int) -> str:
        """'seen', 'hidden' (behind a bigger blob) or 'miss'."""
        if not len(f.xya):
            return "miss"
        # The local fit: the sightings nearest in time. Plain Python on these few points: a
        # walk calls this for every frame it passes, and numpy's per-call overhead on
        # ten-element arrays made the walk 1.3 ms a frame in a rainy clip.
        ft = f.t
        if len(t) <= _LOCAL:
            near: Sequence[int] = range(len(t))
        else:
            near = sorted(range(len(t)), key=lambda i: abs(t[i] - ft))[:_LOCAL]
        px, py = _predict_xy([t[i] - ft for i in near], [x[i] for i in near],
                             [y[i] for i in near], gravity)  # fmt: skip
        bx, by, ba = f.xya.T
        big = ba > 2.5 * typical + 6
        ok = ~big & (4 * ba + 8 >= typical)
        d = np.hypot(bx - px, by - py)
        d[~ok] = np.inf
        k = int(np.argmin(d))
        if d[k] > tol * (1 + 0.5 * misses):
            x0, y0, x1, y1 = f.box.T
            inside = big & (x0 - 2 <= px) & (px <= x1 + 2) & (y0 - 2 <= py) & (py <= y1 + 2)
            return "hidden" if inside.any() else "miss"
        t.append(f.t)
        x.append(float(bx[k]))
        y.append(float(by[k]))
        a.append(int(ba[k]))
        return "seen"

    # Gaps inside the seed first (with the seed's own fit), then outwards.
    for f in frames:
        if seed.t[0] < f.t < seed.t[-1] and round(f.t, 4) not in have:
            take(f, 0)
    for walk in (
        [f for f in frames if f.t > seed.t[-1]],
        [f for f in reversed(frames) if f.t < seed.t[0]],
    ):
        misses = hidden = 0
        for f in walk:
            seen = take(f, misses)
            if seen == "seen":
                misses = 0
            elif seen == "hidden" and hidden < max_hidden:
                hidden += 1
            else:
                misses += 1
                if misses > max_gap:
                    break
    order = np.argsort(t, kind="stable")
    return Track(
        seed.id,
        [t[i] for i in order],
        [x[i] for i in order],
        [y[i] for i in order],
        [a[i] for i in order],
    )


def falling_run(ys: list[float]) -> tuple[int, int]:
    """(start, end) of the run of points that drops furthest without rising (1 px slack)."""
    best, best_drop, k = (0, 0), 0.0, 0
    for i in range(1, len(ys) + 1):
        if i == len(ys) or ys[i] < ys[i - 1] - 1.0:
            if ys[i - 1] - ys[k] > best_drop:
                best, best_drop = (k, i), ys[i - 1] - ys[k]
            k = i
    return best
