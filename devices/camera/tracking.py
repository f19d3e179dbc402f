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

    def predict(self, t: float, gravity: float) -> tuple[float, float]:
        """Where the object should be at time t: constant velocity, plus gravity once falling."""
        if len(self.t) < 2:
            return self.x[-1], self.y[-1]
        dt0 = self.t[-1] - self.t[-2]
        vx = (self.x[-1] - self.x[-2]) / dt0
        vy = (self.y[-1] - self.y[-2]) / dt0
        dt = t - self.t[-1]
        g = gravity if vy > 0 else 0.0
        return self.x[-1] + vx * dt, self.y[-1] + vy * dt + 0.5 * g * dt * dt


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
    keep = (areas >= min_px) & (areas <= max_px) & ~((ws <= 2) & (hs >= 3 * ws))
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

    def update(self, t: float, blobs: list[Blob]) -> list[Track]:
        """Assign this frame's blobs; return the tracks that ended."""
        pairs: list[tuple[float, int, int]] = []
        for ti, tr in enumerate(self.active):
            px, py = tr.predict(t, self.gravity)
            speed = 0.0
            if len(tr.t) >= 2:
                speed = abs(tr.y[-1] - tr.y[-2]) + abs(tr.x[-1] - tr.x[-2])
            gate = self.gate + 0.3 * speed * (1 + tr.misses)
            # A falling object's blob jumps along y when part of it is hidden (a masked window,
            # low contrast against the wall), so the gate is longer in the falling direction.
            gate_y = gate + (0.6 * speed * (1 + tr.misses) if py > tr.y[-1] else 0.0)
            for bi, b in enumerate(blobs):
                ex, ey = abs(b.x - px), abs(b.y - py)
                if ex <= gate and ey <= gate_y:
                    pairs.append((float(np.hypot(ex, ey * gate / gate_y)), ti, bi))
        pairs.sort()
        used_t: set[int] = set()
        used_b: set[int] = set()
        for _, ti, bi in pairs:
            if ti in used_t or bi in used_b:
                continue
            used_t.add(ti)
            used_b.add(bi)
            self.active[ti].add(t, blobs[bi])
        ended: list[Track] = []
        alive: list[Track] = []
        for ti, tr in enumerate(self.active):
            if ti not in used_t:
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
