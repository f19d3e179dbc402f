"""Blob extraction and a greedy nearest-neighbour tracker with gravity-aware gating."""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

# Beyond this many blobs in one frame the scene is in turmoil (shake, storm); tracking them
# all would cost more than the frame budget and link noise into tracks.
MAX_BLOBS = 80
MAX_TRACKS = 60
MAX_POINTS = 400


@dataclass(frozen=True)
class Blob:
    """A connected foreground region, in analysis-frame pixels."""

    x: float
    y: float
    area: int
    w: int
    h: int


@dataclass
class Track:
    """A sequence of observations believed to be one object."""

    id: int
    t: list[float] = field(default_factory=list)
    x: list[float] = field(default_factory=list)
    y: list[float] = field(default_factory=list)
    area: list[int] = field(default_factory=list)
    misses: int = 0

    def add(self, t: float, blob: Blob) -> None:
        """Append an observation."""
        self.t.append(t)
        self.x.append(blob.x)
        self.y.append(blob.y)
        self.area.append(blob.area)
        self.misses = 0


def find_blobs(mask: np.ndarray, min_px: int, max_px: int) -> list[Blob]:
    """Connected components of the mask within the size range, thin streaks (rain) excluded."""
    n, _, stats, cents = cv2.connectedComponentsWithStats(mask, connectivity=8)
    if n <= 1:
        return []
    areas = stats[1:, cv2.CC_STAT_AREA]
    ws = stats[1:, cv2.CC_STAT_WIDTH]
    hs = stats[1:, cv2.CC_STAT_HEIGHT]
    # A rain streak is one or two pixels wide and several times longer than wide; a falling
    # object's motion blur is never that thin at the sizes we can see anyway.
    keep = (areas >= min_px) & (areas <= max_px) & ~((ws <= 2) & (hs >= 4 * ws) & (hs >= 7))
    idx = np.flatnonzero(keep)
    if len(idx) > MAX_BLOBS:
        idx = idx[np.argsort(-areas[idx])[:MAX_BLOBS]]
    return [
        Blob(float(cents[i + 1, 0]), float(cents[i + 1, 1]), int(areas[i]), int(ws[i]), int(hs[i]))
        for i in idx
    ]


class Tracker:
    """Links blobs frame to frame; finished tracks are handed back for judging."""

    def __init__(self, gate_px: float, gravity_px: float, max_gap: int) -> None:
        self.gate, self.gravity, self.max_gap = gate_px, gravity_px, max_gap
        self.active: list[Track] = []
        self._next_id = 1

    def _predict(self, t: float) -> tuple[np.ndarray, ...]:
        """Predicted x, y, gates and typical area of every active track."""
        n = len(self.active)
        px, py, gate, gate_y, area = (np.empty(n) for _ in range(5))
        for i, tr in enumerate(self.active):
            area[i] = float(np.median(tr.area[-3:]))
            if len(tr.t) < 2:
                px[i], py[i], speed = tr.x[-1], tr.y[-1], 0.0
            else:
                dt0 = tr.t[-1] - tr.t[-2]
                vx = (tr.x[-1] - tr.x[-2]) / dt0
                vy = (tr.y[-1] - tr.y[-2]) / dt0
                dt = t - tr.t[-1]
                g = self.gravity if vy > 0 else 0.0
                px[i] = tr.x[-1] + vx * dt
                py[i] = tr.y[-1] + vy * dt + 0.5 * g * dt * dt
                speed = abs(tr.y[-1] - tr.y[-2]) + abs(tr.x[-1] - tr.x[-2])
            # The velocity comes from two noisy centroids, so the error grows with speed and
            # with every missed frame; it must not grow so fast that a coasting track can hop
            # to an unrelated blob half a storey away.
            grow = speed * (1 + tr.misses)
            gate[i] = self.gate * (1 + 0.5 * tr.misses) + 0.15 * grow
            # A falling object's blob jumps along y when part of it is hidden (a masked window,
            # low contrast against the wall), so the gate is longer in the falling direction.
            gate_y[i] = gate[i] + (0.3 * grow if py[i] > tr.y[-1] else 0.0)
        return px, py, gate, gate_y, area

    def update(self, t: float, blobs: list[Blob]) -> list[Track]:
        """Assign this frame's blobs; return the tracks that ended."""
        used_t: set[int] = set()
        used_b: set[int] = set()
        if self.active and blobs:
            px, py, gate, gate_y, area = self._predict(t)
            bx = np.array([b.x for b in blobs])
            by = np.array([b.y for b in blobs])
            ba = np.array([b.area for b in blobs], np.float64)
            ex = np.abs(bx[None, :] - px[:, None])
            ey = np.abs(by[None, :] - py[:, None])
            # A blob far bigger than the track's object is something it passes in front of (a
            # lit window, a curtain, an insect at the lens): coasting through it keeps the
            # track on its object instead of on the window. Motion blur and tumbling change
            # an object's area by less than 4x; the slack keeps tiny blobs from counting.
            size_ok = (ba[None, :] <= 4 * area[:, None] + 8) & (
                4 * ba[None, :] + 8 >= area[:, None]
            )
            ok = (ex <= gate[:, None]) & (ey <= gate_y[:, None]) & size_ok
            ti, bi = np.nonzero(ok)
            if len(ti):
                d = np.hypot(ex[ti, bi], ey[ti, bi] * gate[ti] / gate_y[ti])
                for k in np.argsort(d, kind="stable"):
                    a, b = int(ti[k]), int(bi[k])
                    if a in used_t or b in used_b:
                        continue
                    used_t.add(a)
                    used_b.add(b)
                    self.active[a].add(t, blobs[b])
        ended: list[Track] = []
        alive: list[Track] = []
        for i, tr in enumerate(self.active):
            if i not in used_t:
                tr.misses += 1
            if tr.misses > self.max_gap or len(tr.t) >= MAX_POINTS:
                ended.append(tr)
            else:
                alive.append(tr)
        for bi, b in enumerate(blobs):
            if bi not in used_b and len(alive) < MAX_TRACKS:
                tr = Track(self._next_id)
                self._next_id += 1
                tr.add(t, b)
                alive.append(tr)
        self.active = alive
        return ended

    def flush(self) -> list[Track]:
        """End every track (end of stream)."""
        ended, self.active = self.active, []
        return ended
