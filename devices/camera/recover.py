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

from devices.camera.tracking import Blob, Track, median_area

# Seconds of sightings kept: a fall of 30 storeys takes under 3 s.
HISTORY_S = 4.0
# The local fit that predicts the next sighting uses this many sightings nearest in time.
_LOCAL = 10


# Faint frames (see `Sightings.faint`): the object's box must differ from the same box in other
# frames by this many of their standard deviations, and by at least this many grey levels;
# the other frames are at least `_AWAY_S` away (the object has moved on) and at most `_REFS`.
FAINT_Z = 2.5
_FAINT_LEVELS = 1.0
_AWAY_S = 0.3
_REFS = 8
# At most this many such looks per second of video on average (a burst of `_LOOKS_BURST`).
_LOOKS_PER_S = 150.0
_LOOKS_BURST = 300.0
# At most this many walks (`recover` calls) per second of video on average, a burst of
# `_WALKS_BURST`: in heavy rain with a compressed picture (style C, clip 3008: ~40 blobs a
# frame) 83 failed pieces a second were followed, a third of the frame time; the busiest clip
# of sets 1000 and 1100 needs 16 a second (38 in its busiest second).
_WALKS_PER_S = 30.0
_WALKS_BURST = 90.0
# A piece that lies on one fall (`coherent`) is walked from a reserve of the same size once
# that budget is spent: first-come, the budget went to raindrops' pieces (clip 3008: ~10,000
# pieces a 2-min clip worth a walk, 134 of them coherent, the throws' among them).
_COHERENT_RMS = 1.5  # analysis pixels
_COHERENT_SEEN = 0.5  # of the piece's frames
# A faint frame's spread over the reference frames is never taken below this (grey levels):
# a flat wall after compression varies less than the object's contrast can be measured.
_MIN_SPREAD = 0.5
# The cosine between a faint frame's difference and the object's contrast, at least.
_SAME_COLOUR = 0.8
# A prediction this close to a big blob's bounding box is inside it (x0, y0, x1, y1).
_WIDEN = np.array([-2.0, -2.0, 2.0, 2.0])


@dataclass(frozen=True)
class _Frame:
    t: float
    xya: np.ndarray  # (n, 3): x, y, area in analysis pixels
    box: np.ndarray  # (n, 4): x0, y0, x1, y1 of each blob's bounding box
    image: np.ndarray | None = None  # the analysis image, for `Sightings.faint`
    # The columns a walk reads at every frame it passes (`recover`), contiguous: x, y, area,
    # and the bounding boxes widened by 2 px (x0 - 2, y0 - 2, x1 + 2, y1 + 2).
    cols: tuple[np.ndarray, ...] = ()


class Sightings:
    """The blobs of the last `HISTORY_S` seconds, frame by frame (and the pictures, if given)."""

    def __init__(self, fps: float) -> None:
        self.fps = fps
        self.frames: deque[_Frame] = deque(maxlen=max(8, round(HISTORY_S * fps)))
        self._looks = _LOOKS_BURST
        self._walks = _WALKS_BURST
        self._reserve = _WALKS_BURST

    def walk(self, coherent: bool = False) -> bool:
        """Whether this second's budget allows one more walk (and take it). A `coherent`
        piece (one that lies on a fall, see `coherent`) may also draw on the reserve."""
        if coherent and self._walks < 1.0:
            if self._reserve < 1.0:
                return False
            self._reserve -= 1.0
            return True
        if self._walks < 1.0:
            return False
        self._walks -= 1.0
        return True

    def can_look(self) -> bool:
        """Whether this second's budget of faint looks (`contrast`) has one left."""
        return self._looks >= 1.0

    def add(self, t: float, blobs: list[Blob], image: np.ndarray | None = None) -> None:
        """Record one frame's blobs (an empty list too: a frame with nothing seen)."""
        self._looks = min(_LOOKS_BURST, self._looks + _LOOKS_PER_S / max(self.fps, 1.0))
        self._walks = min(_WALKS_BURST, self._walks + _WALKS_PER_S / max(self.fps, 1.0))
        self._reserve = min(_WALKS_BURST, self._reserve + _WALKS_PER_S / max(self.fps, 1.0))
        xya = np.array([(b.x, b.y, b.area) for b in blobs], np.float64).reshape(-1, 3)
        box = np.array([(b.x0, b.y0, b.x0 + b.w, b.y0 + b.h) for b in blobs], np.float64)
        box = box.reshape(-1, 4)
        cols = (*np.ascontiguousarray(xya.T), *np.ascontiguousarray((box + _WIDEN).T))
        self.frames.append(_Frame(t, xya, box, image, tuple(cols)))

    def contrast(
        self, frames: list[_Frame], i: int, x: float, y: float, half: int
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """The mean colour of the box of half-size `half` round (x, y) in frame `i` minus its
        median over `_REFS` frames at least `_AWAY_S` from it, and the spread of the same
        difference over those frames (robust, per channel); None without pictures, or once
        this second's budget of such looks is spent (`_LOOKS_PER_S`: in heavy rain every
        raindrop's track is followed, and looking at all of them would cost a third of the
        frame rate)."""
        f = frames[i]
        if f.image is None or self._looks < 1.0:
            return None
        h, w = f.image.shape[:2]
        xi, yi = round(x), round(y)
        x0, x1 = max(0, xi - half), min(w, xi + half + 1)
        y0, y1 = max(0, yi - half), min(h, yi + half + 1)
        if x1 <= x0 or y1 <= y0:
            return None
        away = round(_AWAY_S * self.fps)
        n = len(frames)
        pool = [*range(0, max(0, i - away + 1)), *range(min(n, i + away), n)]
        if len(pool) < _REFS:
            return None
        self._looks -= 1.0
        step = len(pool) / _REFS
        patches = [frames[pool[int(k * step)]].image for k in range(_REFS)]
        if any(p is None for p in patches):
            return None
        ch = f.image.shape[2] if f.image.ndim == 3 else 1
        stack = np.stack([p[y0:y1, x0:x1] for p in patches])  # type: ignore[index]
        refs = np.sort(stack.reshape(_REFS, -1, ch).mean(axis=1), axis=0)
        mid = 0.5 * (refs[_REFS // 2 - 1] + refs[_REFS // 2])
        dev = np.sort(np.abs(refs - mid), axis=0)
        spread = np.maximum(0.5 * 1.4826 * (dev[_REFS // 2 - 1] + dev[_REFS // 2]), _MIN_SPREAD)
        here = f.image[y0:y1, x0:x1].reshape(-1, ch).mean(axis=0)
        return here - mid, spread

    def faint(
        self, frames: list[_Frame], i: int, x: float, y: float, half: int, colour: np.ndarray
    ) -> bool:
        """Whether the object is in frame `i` at (x, y) though not segmented: the box there
        differs from the other frames' in the object's own colour (`colour`: its contrast
        where it was seen) by `FAINT_Z` of their spread and at least `_FAINT_LEVELS` grey
        levels, and by no more than twice the object's contrast, in much the same direction
        (a raindrop or a lit window far brighter than the object, or of another colour, is
        something else)."""
        got = self.contrast(frames, i, x, y, half)
        if got is None:
            return False
        diff, spread = got
        size = float(np.linalg.norm(colour))
        unit = colour / size
        along = float(diff @ unit)
        noise = float(np.sqrt((spread * spread) @ (unit * unit)))
        if not max(FAINT_Z * noise, _FAINT_LEVELS) <= along <= 2.0 * size:
            return False
        return along >= _SAME_COLOUR * float(np.linalg.norm(diff))


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


def _colour(
    sightings: Sightings, frames: list[_Frame], seed: Track, half: int
) -> np.ndarray | None:
    """How the seed's object differs from the wall in colour (mean over its own sightings, a
    vector of grey levels per channel); None if the pictures are not kept or it differs by less
    than `_FAINT_LEVELS`."""
    at = {round(f.t, 4): i for i, f in enumerate(frames)}
    diffs = []
    for t, x, y in zip(seed.t, seed.x, seed.y, strict=True):
        i = at.get(round(t, 4))
        got = None if i is None else sightings.contrast(frames, i, x, y, half)
        if got is not None:
            diffs.append(got[0])
        if len(diffs) >= 6:
            break
    if len(diffs) < 2:
        return None
    mean = np.mean(diffs, axis=0)
    return mean if float(np.linalg.norm(mean)) >= _FAINT_LEVELS else None


def recover(seed: Track, sightings: Sightings, gravity: float, tol: float, max_gap: int) -> Track:
    """The seed's points plus every sighting that continues its fall (analysis pixels).

    `gravity` is the local gravity in analysis pixels per s²; `tol` the distance (analysis
    pixels) a sighting may lie off the prediction, growing by half for every frame in a row
    without one. Sightings much bigger or much smaller than the seed's object are skipped (a
    lit window it passes, a speck); a frame where the prediction lies inside a much bigger
    blob is not a miss (the object is in front of, or merged with, it: for up to 0.6 s, as in
    the tracker). The walk stops after `max_gap` misses in a row, or when the parabola leaves
    the frames kept.

    A frame without a sighting where the pictures show the object anyway — its box at the
    prediction differs from the same box in other frames, in the object's own colour, by
    `FAINT_Z` times their spread (`Sightings.faint`) — is not a miss either: a faint object
    at night or in fog is segmented in a few frames of many. Such frames are returned as
    `Track.faint` (times): they count as seen for the sparse test, never as points to fit.
    """
    frames = list(sightings.frames)
    typical = median_area(seed.area)
    half = max(1, round(0.5 * float(np.sqrt(typical))))
    # The object's colour, measured at the first frame that needs it (most walks never do).
    colour: list[np.ndarray | None] = []
    faint: list[float] = []
    max_hidden = max(1, round(0.6 * sightings.fps))
    # Blobs of the object's size: at most 2.5 times it (plus 6 px; bigger is something it
    # passes in front of) and at least a quarter of it (less 2 px). Both bounds are exact in
    # floating point (areas are whole numbers, the typical area a whole or half one), so
    # `hi >= area >= lo` is `not area > 2.5 typical + 6 and 4 area + 8 >= typical`.
    hi = 2.5 * typical + 6
    lo = (typical - 8) / 4
    t, x, y, a = list(seed.t), list(seed.x), list(seed.y), list(seed.area)
    have = set(np.round(np.asarray(t), 4).tolist())

    def take(i: int, misses: int) -> str:
        """'seen', 'hidden' (behind a bigger blob), 'faint' or 'miss'."""
        f = frames[i]
        # The local fit: the sightings nearest in time. Plain Python on these few points: a
        # walk calls this for every frame it passes, and numpy's per-call overhead on
        # ten-element arrays made the walk 1.3 ms a frame in a rainy clip.
        ft = f.t
        if len(t) <= _LOCAL:
            near: Sequence[int] = range(len(t))
        else:
            near = sorted(range(len(t)), key=lambda i: abs(t[i] - ft))[:_LOCAL]
        px, py = _predict_xy([t[j] - ft for j in near], [x[j] for j in near],
                             [y[j] for j in near], gravity)  # fmt: skip
        if not len(f.xya):
            return missed(i, px, py)
        bx, by, ba, x0, y0, x1, y1 = f.cols
        d = np.where((ba <= hi) & (ba >= lo), np.hypot(bx - px, by - py), np.inf)
        k = int(d.argmin())
        if d[k] > tol * (1 + 0.5 * misses):
            inside = (ba > hi) & (x0 <= px) & (px <= x1) & (y0 <= py) & (py <= y1)
            return "hidden" if inside.any() else missed(i, px, py)
        t.append(f.t)
        x.append(float(bx[k]))
        y.append(float(by[k]))
        a.append(int(ba[k]))
        return "seen"

    def missed(i: int, px: float, py: float) -> str:
        if not sightings.can_look():
            return "miss"  # (the looks' budget refills only with the next frame)
        if not colour:
            colour.append(_colour(sightings, frames, seed, half))
        c = colour[0]
        if c is not None and sightings.faint(frames, i, px, py, half, c):
            faint.append(frames[i].t)
            return "faint"
        return "miss"

    # Gaps inside the seed first (with the seed's own fit), then outwards.
    for i, f in enumerate(frames):
        if seed.t[0] < f.t < seed.t[-1] and round(f.t, 4) not in have:
            take(i, 0)
    n = len(frames)
    for walk in (
        [i for i in range(n) if frames[i].t > seed.t[-1]],
        [i for i in reversed(range(n)) if frames[i].t < seed.t[0]],
    ):
        misses = hidden = 0
        for i in walk:
            seen = take(i, misses)
            if seen == "seen":
                misses = 0
            elif seen == "faint":
                pass
            elif seen == "hidden" and hidden < max_hidden:
                hidden += 1
            else:
                misses += 1
                if misses > max_gap:
                    break
    order = np.argsort(t, kind="stable")
    out = Track(
        seed.id,
        [t[i] for i in order],
        [x[i] for i in order],
        [y[i] for i in order],
        [a[i] for i in order],
    )
    out.faint = sorted(faint)
    return out


def falling_run(ys: list[float]) -> tuple[int, int]:
    """(start, end) of the run of points that drops furthest without rising (1 px slack)."""
    best, best_drop, k = (0, 0), 0.0, 0
    for i in range(1, len(ys) + 1):
        if i == len(ys) or ys[i] < ys[i - 1] - 1.0:
            if ys[i - 1] - ys[k] > best_drop:
                best, best_drop = (k, i), ys[i - 1] - ys[k]
            k = i
    return best


def coherent(tr: Track, g: float, fps: float) -> bool:
    """Whether a piece (analysis pixels; `g` in analysis pixels per s²) lies on one fall:
    straight lines fitted to x and to y - g t² / 2 leave at most `_COHERENT_RMS` (rms), and it
    was seen in at least `_COHERENT_SEEN` of its frames. A raindrop's track in heavy rain links
    whichever drop came into its widened gate: its pieces are seen in a third of their frames
    and stray by 4-7 px from any fall (clip 3008: medians); a throw's pieces by under 1 px.
    Plain Python: it is asked of every piece, thousands a minute in rain."""
    n = len(tr.t)
    span = tr.t[-1] - tr.t[0]
    if n < 4 or span <= 0 or (n - 1) / (span * fps) < _COHERENT_SEEN:
        return False
    t0 = tr.t[0]
    tt = [v - t0 for v in tr.t]
    mt = sum(tt) / n
    dt = [v - mt for v in tt]
    var = sum(v * v for v in dt)
    for vals in (tr.x, [y - 0.5 * g * w * w for y, w in zip(tr.y, tt, strict=True)]):
        m = sum(vals) / n
        b = sum(d * (v - m) for d, v in zip(dt, vals, strict=True)) / var
        rss = sum((v - m - b * d) ** 2 for v, d in zip(vals, dt, strict=True))
        if rss / n > _COHERENT_RMS * _COHERENT_RMS:
            return False
    return True
