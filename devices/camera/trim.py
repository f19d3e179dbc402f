"""Trimming a rejected track down to the fall it holds, and the rules for what it leaves out."""

from __future__ import annotations

import math

import numpy as np

from devices.camera.config import FallingConfig
from devices.camera.physics import FloorMap, Verdict
from devices.camera.recover import falling_run
from devices.camera.tracking import Track

# What a trimmed segment leaves out must not be motion of the same thing: the head must be a
# few loose points, the object at rest before release, or something else the track started on
# (it jumped from there); the tail must be the object at rest or lost (see `_head_ok`,
# `_tail_is_rest`). A bird's stoop out of level flight and its pull-out fail both.
_MAX_LOOSE = 3
# A head seen in fewer than this share of its frames is loose links too (see `_head_ok`).
_SPARSE_HEAD = 0.5
# A piece out of the middle of a track (snow or rain the tracker chained before and after the
# object) passes only as a whole fall on its own: two storeys, most of a second, gravity well
# measured. A bird's stoop or a gust-blown leaf is never that; the false alarms the issue
# describes were 0.5 s pieces.
_ALONE_S = 0.8
_ALONE_STOREYS = 2.0
_ALONE_CONFIDENCE = 0.85


class Trimming:
    """The trimming half of `Judge`: which piece of a failed track may pass, and how."""

    cfg: FallingConfig
    floors: FloorMap
    fps: float
    storey_px: float
    _g_full: float
    _faint: list[float]

    def _assess(self, t: list[float], xs: list[float], ys: list[float]) -> Verdict:
        raise NotImplementedError

    def _count(self, reason: str) -> None:
        raise NotImplementedError

    def _holds_a_drop(self, xs: list[float], ys: list[float]) -> bool:
        """Whether a track that ends no lower than it began holds a fall's drop on the way.

        After a fast object vanished (it fell behind something, or past the wall's own
        colour), its coasting track's wide gate caught rain or a bird and followed that up
        the wall: the whole ends where it began (`not_falling`), with a clean 1.4 s fall in
        the middle that trimming can cut out (set 1000, clip 1006). Only tracks whose run
        without rising drops the minimum are worth the trimming's fits.
        """
        k, m = falling_run(ys)
        if m - k < self.cfg.min_points:
            return False
        drop = ys[m - 1] - ys[k]
        storey = self.floors.floor_px(xs[k], ys[k])
        return drop >= self.cfg.min_drop_floors * storey and drop >= self.cfg.min_drop_px

    def _tail_is_rest(self, xs: list[float], ys: list[float], end: int) -> bool:
        """Whether the points after `end` are the object at rest (landed) or a few loose links.

        A bird that stoops and pulls out, a leaf caught by a gust, a window light that a
        falling-looking blob passed through: in each the rest of the track keeps moving. Such a
        track is rejected as a whole, however good one piece of it looks.
        """
        n = len(xs)
        if n - end <= _MAX_LOOSE:
            return True
        reach = max(6.0, 0.5 * self.storey_px)
        x_end, y_end = xs[end - 1], ys[end - 1]
        tail_x = np.asarray(xs[end:])
        tail_y = np.asarray(ys[end:])
        return bool(
            np.all(np.abs(tail_x - x_end) <= reach)
            and np.all(tail_y >= y_end - 0.3 * self.storey_px)
        )

    def _tail_is_still(self, xs: list[float], ys: list[float], end: int) -> bool:
        """`_tail_is_rest`, and no lower either: the tail a piece that passed as a fall with
        drag (`physics._drag`) must have.

        The drag curve follows a fall to its steady end, so a thing that went on descending
        after such a piece was cut did what no drag fall does (style C, clip 3005: a bird
        diving out of an arc, cut where its sideways speed turned back, then a storey lower
        and still moving). Free-fall pieces keep the looser rule: in rain a real throw's track
        goes on past a clean piece with its x thrown about by the drops (set 1300, clip 1312:
        lost with this rule for every piece, one bird of clip 3005 less).
        """
        if len(xs) - end <= _MAX_LOOSE:
            return True
        reach = max(6.0, 0.5 * self.storey_px)
        below = np.asarray(ys[end:]) - ys[end - 1]
        return bool(self._tail_is_rest(xs, ys, end) and np.all(below <= reach))

    def _head_ok(
        self, t: list[float], xs: list[float], ys: list[float], start: int, end: int
    ) -> bool:
        """Whether the points before `start` are loose links, rest, or a different thing."""
        if start <= _MAX_LOOSE:
            return True
        hx, hy = np.asarray(xs[:start]), np.asarray(ys[:start])
        rest = 0.3 * self.storey_px
        if np.ptp(hx) <= rest and np.ptp(hy) <= rest:
            return True  # held on the sill, then let go
        # Seen in under half its frames: the loose links of a coasting track whose wide gate
        # hopped among raindrops before it took the object (style C, clip 3104: 8 sightings
        # in 26 frames, 50-100 px apart, then a 4.3-s fall with drag), not one thing moving.
        if start < _SPARSE_HEAD * ((t[start - 1] - t[0]) * self.fps + 1):
            return True
        # The track hopped from something else to the object within the last few points
        # before the segment (the search grid is coarse): one step far longer than the head's.
        steps = np.hypot(np.diff(xs[: start + 1]), np.diff(ys[: start + 1]))
        jump = float(steps[-3:].max())
        typical = float(np.median(steps[:-3])) if len(steps) > 3 else 0.0
        if jump > max(0.5 * self.storey_px, 4 * typical):
            return True
        # ... or from something fast to an object near rest: a coasting track's wide gate
        # caught it. A bird stooping out of its glide enters the dive at the glide's speed;
        # an object that starts at rest cannot have come from a point it would need several
        # times its own starting speed to reach.
        gap = math.hypot(xs[start] - xs[start - 1], ys[start] - ys[start - 1])
        if gap <= 0.5 * self.storey_px:
            return False  # (checked first: the fits below cost more than all the rest)
        if end - start < 3:
            return False  # no speed to measure (a parabola through one point is NaN)
        ts = np.asarray(t[start:end]) - t[start]
        vy = float(np.polyfit(ts, ys[start:end], 2)[1])
        vx = float(np.polyfit(ts, xs[start:end], 1)[0])
        dt = t[start] - t[start - 1]
        reach = (math.hypot(vx, vy) + self._g_full * dt) * dt + 0.25 * self.storey_px
        return gap > 3 * reach

    def _hopeless(
        self, t: list[float], xs: list[float], ys: list[float], k: int, m: int
    ) -> bool:
        """Whether the piece [k, m) fails the physical test's first, cheap checks anyway (too
        few points, too brief, too sparse, too small a drop): in heavy rain tracks are tried
        piece by piece dozens of times a second, and the head and tail checks before the
        test cost more than these."""
        cfg, n = self.cfg, m - k
        if n < cfg.min_points:
            return True
        span = t[m - 1] - t[k]
        if span < cfg.min_track_s:
            return True
        faint = sum(t[k] < u < t[m - 1] for u in self._faint) if self._faint else 0
        if n + faint < 0.6 * (span * self.fps + 1):
            return True
        drop = ys[m - 1] - ys[k]
        return drop < cfg.min_drop_floors * self.floors.floor_px(xs[k], ys[k]) or (
            drop < cfg.min_drop_px
        )

    def _long_enough(self, t: list[float], ys: list[float]) -> bool:
        """Whether a piece is long and deep enough to stand as a fall on its own."""
        return t[-1] - t[0] >= _ALONE_S and ys[-1] - ys[0] >= _ALONE_STOREYS * self.storey_px

    def _strong(self, v: Verdict) -> bool:
        """Evidence that a piece cut out of a longer track is a fall whatever surrounds it.

        Only free fall is: a fall with drag has a free parameter more, and a bird diving out
        of an arc draws one in the middle of its flight (style C, clip 3005: 1.8 s of a bird's
        dive, 3.8 storeys, passing as a drag fall at 0.86 between its arc and its turn back).
        """
        if v.drag:
            return False
        return v.sigma >= 2 * self.cfg.min_accel_sigma and v.confidence >= _ALONE_CONFIDENCE

    def _segments(self, t: list[float], ys: list[float]) -> list[tuple[int, int]]:
        """Candidate (start, end) pieces of a rejected track, longest first.

        Short tracks: a coarse grid of all pieces (at most ~60). Long ones (snow and rain
        chained into tracks of many seconds): pieces built from half-second windows whose
        parabola bends like a fall, merged, each tried as it is and a little shorter.
        """
        n, need = len(t), self.cfg.min_points
        w0 = max(need, round(0.5 * self.fps))
        if n <= 3 * w0:
            step = max(1, (n - need) // 10)
            return [
                (k, k + length)
                for length in range(n - 1, need - 1, -step)
                for k in range(0, n - length + 1, step)
            ]
        ts = np.asarray(t)
        y = np.asarray(ys)
        g = self._g_full
        hop = max(1, round(0.1 * self.fps))
        runs: list[list[int]] = []
        for k in range(0, n - w0 + 1, hop):
            seg_t = ts[k : k + w0] - ts[k]
            a = np.polyfit(seg_t, y[k : k + w0], 2)[0]
            if 0.3 <= 2 * a / g <= 3.0 and y[k + w0 - 1] > y[k]:
                if runs and k <= runs[-1][1]:
                    runs[-1][1] = k + w0
                else:
                    runs.append([k, k + w0])
        # A fall slowed by drag ends in a steady descent that no window bends in: each run is
        # also tried with the windows that go on descending after it (a quarter storey a
        # window, most steps down; see `physics._drag`) — after all the runs as they are, so
        # that a longer piece passing low does not end the search before the fall's own
        # (style C, clip 3101: a 1.2 s fall then rest, lost when these came first).
        longer = []
        for k0, m0 in runs:
            end, k = m0, m0 - w0 + hop
            while k + w0 <= n:
                seg = y[k : k + w0]
                if seg[-1] - seg[0] < 0.25 * self.storey_px or np.mean(np.diff(seg) > 0) < 0.8:
                    break
                end, k = k + w0, k + hop
            if end > m0:
                longer.append([k0, end])
        out = []
        # A run of bending windows reaches up to a window's length past the fall at either
        # end (windows that straddle its start still bend), so trim it back from both sides.
        cuts = range(-hop, w0 + 1, hop)
        for group in (runs, longer):
            for k0, m0 in sorted(group, key=lambda r: r[0] - r[1]):
                pieces = {(max(0, k0 + a), min(n, m0 - b)) for a in cuts for b in cuts}
                out += sorted(
                    (p for p in pieces if p[1] - p[0] >= need), key=lambda p: p[0] - p[1]
                )
        return out

    def _trim(
        self, tr: Track, xs: list[float], ys: list[float], verdict: Verdict, quiet: bool = False
    ) -> tuple[Track, list[float], list[float], Verdict]:
        # The object's fall may be part of a longer track: it started on something else, and
        # after the object landed the track stays on it. A piece passes if its head and tail
        # pass the tests above, or if it is a whole fall on its own: never a short piece out
        # of the middle of one thing's continuous motion.
        low: tuple[int, int, Verdict] | None = None
        for k, m in self._segments(tr.t, ys):
            # After a piece that passed under `min_confidence`, only a fall that continues it
            # (the same start, longer) may still do better.
            if low is not None and not (abs(k - low[0]) <= _MAX_LOOSE and m > low[1]):
                continue
            if self._hopeless(tr.t, xs, ys, k, m):
                continue
            clean = self._tail_is_rest(xs, ys, m) and self._head_ok(tr.t, xs, ys, k, m)
            if not clean and not self._long_enough(tr.t[k:m], ys[k:m]):
                continue
            v = self._assess(tr.t[k:m], xs[k:m], ys[k:m])
            if v.ok and v.drag and not self._tail_is_still(xs, ys, m):
                continue
            if not (v.ok and (clean or self._strong(v))):
                continue
            if low is None and not v.drag and v.confidence < self.cfg.min_confidence:
                # A light object's first second is a weak free fall; the drag fall of which
                # it is the start is tried with the extended runs, after the runs as they
                # are (style C, clip 3104: 0.40 on 0.9 s, then 0.93 on the whole 4.3 s).
                low = (k, m, v)
                continue
            if low is not None and v.confidence < low[2].confidence:
                continue
            return self._cut(tr, xs, ys, k, m, v, quiet)
        if low is not None:
            return self._cut(tr, xs, ys, *low, quiet)
        return tr, xs, ys, verdict

    def _cut(
        self, tr: Track, xs: list[float], ys: list[float], k: int, m: int, v: Verdict,
        quiet: bool,
    ) -> tuple[Track, list[float], list[float], Verdict]:
        cut = Track(tr.id, tr.t[k:m], tr.x[k:m], tr.y[k:m], tr.area[k:m])
        if not quiet:
            self._count("trimmed")
        return cut, xs[k:m], ys[k:m], v
