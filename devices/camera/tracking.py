"""Blob extraction and a greedy nearest-neighbour tracker with gravity-aware gating."""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

# Beyond this many blobs in one frame the scene is in turmoil (shake, storm); tracking them
# all would cost more than the frame budget and link noise into tracks.
MAX_BLOBS = 120
MAX_TRACKS = 160
MAX_POINTS = 400
# A track with at least this many points that found no blob of its own keeps a blob another
# track took if it lies within the track's base gate of its prediction (see `_share`).
_SHARE_POINTS = 3
# ... and only while it moves at least this many analysis pixels a frame (see `_share`).
_SHARE_SPEED = 1.0


@dataclass(frozen=True)
class Blob:
    """A connected foreground region, in analysis-frame pixels."""

    x: float
    y: float
    area: int
    w: int
    h: int
    x0: int = 0  # bounding box corner
    y0: int = 0


@dataclass
class Track:
    """A sequence of observations believed to be one object."""

    id: int
    t: list[float] = field(default_factory=list)
    x: list[float] = field(default_factory=list)
    y: list[float] = field(default_factory=list)
    area: list[int] = field(default_factory=list)
    misses: int = 0
    typical: float = 0.0  # median area of the last three observations
    hidden: int = 0  # frames spent coasting behind a bigger blob
    # How far (analysis pixels) the last point lay from where the tracker predicted it.
    off: float = 0.0
    # Times of frames where the object was not segmented but its pixels showed it (set by
    # `recover.recover`): seen for the sparse test, not points to fit.
    faint: list[float] = field(default_factory=list)

    def add(self, t: float, blob: Blob) -> None:
        """Append an observation."""
        self.t.append(t)
        self.x.append(blob.x)
        self.y.append(blob.y)
        self.area.append(blob.area)
        self.misses = 0
        self.hidden = 0
        last = sorted(self.area[-3:])
        self.typical = float(last[len(last) // 2])


def median_area(areas: list[int]) -> float:
    """`float(np.median(areas))` of a non-empty list, without numpy's cost on a few points (the
    judge takes thousands a second in heavy rain): the middle value, or the mean of the two."""
    s = sorted(areas)
    n = len(s)
    return float(s[n // 2]) if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def find_blobs(mask: np.ndarray, min_px: int, max_px: int) -> list[Blob]:
    """Connected regions of the mask within the size range, rain streaks excluded.

    Outer contours rather than connected-component labelling: on a mostly empty mask they
    cost a few hundredths of a millisecond where labelling scans every pixel (~0.7 ms).
    """
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    found: list[Blob] = []
    for c in contours:
        x, y, w, h = cv2.boundingRect(c)
        if w * h < min_px:
            continue
        m = cv2.moments(mask[y : y + h, x : x + w], binaryImage=True)
        area = m["m00"]
        if not min_px <= area <= max_px:
            continue
        # A rain streak is a line: over its length it is about two pixels thick, however it
        # slants (so its box can be wide). A falling object's motion blur is short: even a
        # small one is as thick as it is, and its streak rarely reaches six analysis pixels.
        longest = max(w, h)
        if area < 2.3 * longest and longest >= 6:
            continue
        found.append(Blob(x + m["m10"] / area, y + m["m01"] / area, int(area), w, h, x, y))
    if len(found) > MAX_BLOBS:
        found = sorted(found, key=lambda b: -b.area)[:MAX_BLOBS]
    return found


class Tracker:
    """Links blobs frame to frame; finished tracks are handed back for judging."""

    def __init__(self, gate_px: float, gravity_px: float, max_gap: int, fps: float = 25.0) -> None:
        self.gate, self.gravity, self.max_gap = gate_px, gravity_px, max_gap
        # A track born on an object that is already falling (it was lost in a shake, or
        # behind a window light) must find its second point a whole step further down:
        # up to 2.5 s of free fall's speed, per frame.
        self.first_step = gravity_px * 2.5 / max(fps, 1.0)
        self.fps = max(fps, 1.0)
        # How long a track may coast through a much bigger blob (a lit window, a flickering
        # screen, a curtain) that swallowed its object, without counting misses.
        self.max_hidden = max(1, round(0.6 * fps))
        self.active: list[Track] = []
        self._next_id = 1
        self._last: tuple[np.ndarray, ...] | None = None

    def _predict(self, t: float) -> tuple[np.ndarray, ...]:
        """Predicted x, y, gates (sideways, up, down) and typical area of every active track."""
        nan = float("nan")
        flat: list[float] = []
        put = flat.extend
        for tr in self.active:
            ts, xs, ys, gap = tr.t, tr.x, tr.y, tr.misses + tr.hidden
            if len(ts) > 1:
                put((ts[-1], xs[-1], ys[-1], ts[-2], xs[-2], ys[-2], gap, tr.typical))
            else:
                put((ts[-1], xs[-1], ys[-1], nan, nan, nan, gap, tr.typical))
        # One flat list, not a list of rows: numpy reads it a third faster.
        t1, x1, y1, t0, x0, y0, misses, area = np.array(flat, np.float64).reshape(-1, 8).T
        young = np.isnan(t0)
        dt0 = np.where(young, 1.0, t1 - t0)
        vx = np.where(young, 0.0, (x1 - x0) / dt0)
        vy = np.where(young, 0.0, (y1 - y0) / dt0)
        dt = t - t1
        g = np.where(vy > 0, self.gravity, 0.0)
        px = x1 + vx * dt
        py = y1 + vy * dt + 0.5 * g * dt * dt
        speed = np.where(young, 0.0, np.abs(y1 - y0) + np.abs(x1 - x0))
        # The velocity comes from two noisy centroids, so the error grows with speed and with
        # every missed frame; it must not grow so fast that a coasting track can hop to an
        # unrelated blob half a storey away.
        grow = speed * (1 + misses)
        gate = self.gate * (1 + 0.5 * misses) + 0.15 * grow
        # A falling object's blob jumps along y when part of it is hidden (a masked window,
        # low contrast against the wall), so the gate is longer in the falling direction.
        gate_up = gate.copy()
        gate_down = gate + np.where(py > y1, 0.3 * grow, 0.0)
        # A track born on an object that is already falling must find its second point a
        # whole free-fall step further down.
        steps = 1 + misses
        gate = np.where(young, (self.gate + 0.25 * self.first_step) * steps, gate)
        gate_up = np.where(young, self.gate * steps, gate_up)
        gate_down = np.where(young, (self.gate + self.first_step) * steps, gate_down)
        return px, py, gate, gate_up, gate_down, area

    def update(self, t: float, blobs: list[Blob]) -> list[Track]:
        """Assign this frame's blobs; return the tracks that ended."""
        used_t: set[int] = set()
        used_b: set[int] = set()
        self._last = None
        if self.active and blobs:
            self._last = self._predict(t)
            px, py, gate, gate_up, gate_down, area = self._last
            bx = np.array([b.x for b in blobs])
            by = np.array([b.y for b in blobs])
            ba = np.array([b.area for b in blobs], np.float64)
            ex = np.abs(bx[None, :] - px[:, None])
            dy = by[None, :] - py[:, None]
            # A blob far bigger than the track's object is something it passes in front of (a
            # lit window, a curtain, an insect at the lens): coasting through it keeps the
            # track on its object instead of on the window. Motion blur and tumbling grow an
            # object's area gradually, never 2.5x from one frame to the next; partial cover
            # can shrink it fast. The slack keeps tiny blobs from counting.
            size_ok = (ba[None, :] <= 2.5 * area[:, None] + 6) & (
                4 * ba[None, :] + 8 >= area[:, None]
            )
            ok = (ex <= gate[:, None]) & (-dy <= gate_up[:, None]) & (dy <= gate_down[:, None])
            ok &= size_ok
            ti, bi = np.nonzero(ok)
            if len(ti):
                # Distance in units of the gate, so a long downward gate does not make every
                # blob below look near.
                dyv = dy[ti, bi]
                span = np.where(dyv > 0, gate_down[ti], gate_up[ti])
                d = np.hypot(ex[ti, bi] / gate[ti], dyv / span)
                # Established tracks choose first: a track born last frame on a raindrop has a
                # long search window and must not take the blob a falling object's track
                # predicted exactly.
                tier = np.array([3 - min(3, len(self.active[i].t)) for i in ti.tolist()])
                for k in np.lexsort((d, tier)):
                    a, b = int(ti[k]), int(bi[k])
                    if a in used_t or b in used_b:
                        continue
                    used_t.add(a)
                    used_b.add(b)
                    self.active[a].add(t, blobs[b])
                    self.active[a].off = float(np.hypot(ex[a, b], dy[a, b]))
                self._share(t, blobs, ti, bi, np.hypot(ex[ti, bi], dy[ti, bi]), used_t)
        ended: list[Track] = []
        alive: list[Track] = []
        covers = self._covers(blobs, used_t)
        for i, tr in enumerate(self.active):
            if i in covers and tr.hidden < self.max_hidden:
                tr.hidden += 1
            elif i not in used_t:
                tr.misses += 1
            if tr.misses > self.max_gap or len(tr.t) >= MAX_POINTS:
                ended.append(tr)
            else:
                alive.append(tr)
        fresh = sorted((b for bi, b in enumerate(blobs) if bi not in used_b), key=lambda b: -b.area)
        room = MAX_TRACKS - len(alive)
        if len(fresh) > room:
            # In heavy rain every streak starts a track: a full table must not keep the
            # object from getting one. Single sightings that already missed go first.
            stale = [tr for tr in alive if len(tr.t) == 1 and tr.misses > 0]
            drop = {id(tr) for tr in stale[: len(fresh) - room]}
            ended += [tr for tr in alive if id(tr) in drop]
            alive = [tr for tr in alive if id(tr) not in drop]
        for b in fresh[: max(0, MAX_TRACKS - len(alive))]:
            tr = Track(self._next_id)
            self._next_id += 1
            tr.add(t, b)
            alive.append(tr)
        self.active = alive
        return ended

    def _share(
        self, t: float, blobs: list[Blob], ti: np.ndarray, bi: np.ndarray, dist: np.ndarray,
        used: set[int],
    ) -> None:
        """Two hypotheses for a contested blob. In heavy rain a raindrop's track with a wide
        gate predicts the object's blob too, nearer in units of its gate, and takes it; the
        object's track counted a miss, frame after frame, and broke (style C, clips 3106, 3110:
        the blob on a throw's path went to some 20 tracks in 43 frames). An established track
        that found nothing of its own (`used`: the tracks that did) keeps the nearest blob
        within its base gate of its prediction even if another track took it: both go on, the
        judge decides, and a second detection of one throw is a duplicate (`Judge`). Only a
        track that follows its object shares: its last point lay within the base gate of its
        prediction. (Without that, raindrops' tracks that hop from drop to drop lived on on
        shared blobs until they wandered onto a throw, whose head they then spoiled: clip
        3112.)"""
        keep = (dist <= self.gate) & ~np.isin(ti, list(used))
        if not keep.any():
            return
        best: dict[int, tuple[float, int]] = {}
        for a, b, d in zip(ti[keep].tolist(), bi[keep].tolist(), dist[keep].tolist(), strict=True):
            tr = self.active[a]
            if len(tr.t) < _SHARE_POINTS or tr.off > self.gate:
                continue
            # A track at rest does not share: a window light's track that took a passing
            # snowflake's blob followed the snow down and passed as a fall from rest (set 1300,
            # clip 1307, a false alarm).
            step = np.hypot(tr.x[-1] - tr.x[-2], tr.y[-1] - tr.y[-2]) / (tr.t[-1] - tr.t[-2])
            if step < _SHARE_SPEED * self.fps:
                continue
            if a not in best or d < best[a][0]:
                best[a] = (d, b)
        for a, (d, b) in best.items():
            used.add(a)
            self.active[a].add(t, blobs[b])
            self.active[a].off = d

    def _covers(self, blobs: list[Blob], used: set[int]) -> set[int]:
        """Unmatched established tracks whose predicted position lies inside a blob too big to
        be their object (4 times its area and 8 px): the object is behind, or merged into, it.

        (Coasting through anything the size gate refuses, 2.5 times, was measured for heavy
        rain, where the object's blob merges with raindrops, and not kept: it moved which rain
        throws were found without finding more, and let a track standing on a flickering
        window coast on into falling snow; docs/camera.md, 2026-12-07 fourteenth.)"""
        big = [b for b in blobs if b.area >= 16]
        if not big or not self._last:
            return set()
        px, py, _, _, _, area = self._last
        # Vectorised: in rain ~40 blobs a frame meet up to 160 tracks.
        cand = np.array(
            [i not in used and len(tr.t) >= 3 for i, tr in enumerate(self.active)], bool
        )
        if not cand.any():
            return set()
        ba = np.array([b.area for b in big], np.float64)
        x0 = np.array([b.x0 - 2 for b in big], np.float64)
        x1 = np.array([b.x0 + b.w + 2 for b in big], np.float64)
        y0 = np.array([b.y0 - 2 for b in big], np.float64)
        y1 = np.array([b.y0 + b.h + 2 for b in big], np.float64)
        idx = np.nonzero(cand)[0]
        cx, cy, ca = px[idx, None], py[idx, None], area[idx, None]
        inside = (ba >= 4 * ca + 8) & (x0 <= cx) & (cx <= x1) & (y0 <= cy) & (cy <= y1)
        return set(idx[inside.any(axis=1)].tolist())

    def flush(self) -> list[Track]:
        """End every track (end of stream)."""
        ended, self.active = self.active, []
        return ended
