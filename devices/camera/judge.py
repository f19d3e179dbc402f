"""Judging finished tracks: stitching fragments, trimming, the physical test, duplicates."""

from __future__ import annotations

import heapq
from dataclasses import dataclass

import numpy as np

from devices.camera.config import FallingConfig
from devices.camera.detection import Detection
from devices.camera.physics import FloorMap, Verdict, assess
from devices.camera.recover import HISTORY_S, Sightings, coherent, falling_run, recover
from devices.camera.region import Crop
from devices.camera.tracking import Track, median_area
from devices.camera.trim import _MAX_LOOSE, Trimming

_DEDUP_S = 1.5
_DUP_POINTS = 5
_STITCH_S = 0.4
_MAX_FRAGMENTS = 200
_TRIMMABLE = frozenset(
    {
        "erratic",
        "erratic_x",
        "sideways",
        "turning",
        "not_ballistic",
        "not_monotonic",
        "sparse",
    }
)
# A passing track that runs alongside a longer track still in progress (a fast object's
# motion-blurred blob split in two, each piece caught by a track) waits for that track: if it
# passes, the shorter one is the same throw seen twice.
_COVER_MIN_POINTS = 3
# A piece that fails is followed through the recent sightings (see `recover`) if it has at
# least this many points and already drops a fifth of a storey.
_SEED_POINTS = 4
_SEED_STOREYS = 0.2


@dataclass(frozen=True)
class _Pending:
    cover: int  # id of the longer active track it runs alongside
    track: Track
    xs: list[float]
    ys: list[float]
    verdict: Verdict


@dataclass(frozen=True)
class _Fit:
    t0: float
    x0: float
    vx: float
    y0: float
    v0: float
    size: float  # the object's size (square root of its median area)


@dataclass(frozen=True)
class _Emitted:
    t_end: float
    yfit: np.ndarray
    xfit: np.ndarray
    t0: float


class Judge(Trimming):
    """Turns finished tracks into falling-object detections, or counts why not."""

    def __init__(self, cfg: FallingConfig, crop: Crop, floors: FloorMap, fps: float) -> None:
        self.cfg, self.crop, self.floors, self.fps = cfg, crop, floors, fps
        cx = float(np.mean([p[0] for p in cfg.facade]))
        cy = float(np.mean([p[1] for p in cfg.facade]))
        self.storey_px = floors.floor_px(cx, cy)
        self._g_full = floors.gravity_px(cx, cy)
        self._g_det = self._g_full * crop.scale
        # Centroid noise: about a third of an analysis pixel, in full-frame pixels.
        self.noise_px = 0.35 / crop.scale
        self._stitch_tol = max(3.0, 0.15 * self.storey_px * crop.scale)
        self._emitted: list[_Emitted] = []
        # Fragments to stitch, each with its free-fall fit (see `_fragment_fit`): in rain every
        # ended track meets dozens of them, and refitting each for every track cost a tenth of
        # the frame time (style C, clip 3008).
        self._fragments: list[tuple[Track, _Fit]] = []
        # At most the earliest end among them (exact after each filter; a stitched fragment
        # leaves it lower, which only makes the next filter run).
        self._fragments_end = float("inf")
        self._pending: list[_Pending] = []
        # Tracks that ended lately (`_amid_motion`), a heap by end time (then arrival): in heavy
        # rain a few thousand are within the sightings' span, and filtering the whole list at
        # every frame cost 3 % of the frame time (style C, clip 3008).
        self._recent: list[tuple[float, int, Track]] = []
        self._arrivals = 0
        # Faint frames of the recovered track being judged (see `recover`).
        self._faint: list[float] = []
        self.rejected: dict[str, int] = {}

    def __call__(
        self,
        tracks: list[Track],
        active: list[Track] | None = None,
        sightings: Sightings | None = None,
    ) -> list[Detection]:
        """Detections among the given finished tracks.

        `active` are the tracks still running: a passing track that runs alongside a longer one
        of them is held back until that one has been judged (see `_cover`). `sightings` are the
        recent blobs: a track that fails is followed through them (see `_recover`).
        """
        active = active or []
        out = []
        if tracks:
            # Tracks that ended lately, for `_amid_motion` (the sightings' span).
            now = max(tr.t[-1] for tr in tracks)
            # The tracks that ended more than HISTORY_S before `now` (the same comparison,
            # monotonic in the end time, so exactly those) are the heap's first ones.
            recent = self._recent
            while recent and now - recent[0][0] > HISTORY_S:
                heapq.heappop(recent)
            for tr in tracks:
                if len(tr.t) > _MAX_LOOSE:
                    heapq.heappush(recent, (tr.t[-1], self._arrivals, tr))
                    self._arrivals += 1
        for tr in sorted(tracks, key=lambda tr: tr.t[0]):
            tr = self._stitch(tr)
            found = self._judge(tr)
            if found is None and sightings is not None:
                found = self._recover(tr, sightings, active)
            if found is None:
                continue
            tr, xs, ys, verdict = found
            cover = self._cover(tr, xs, ys, active)
            if cover is not None:
                self._pending.append(_Pending(cover, tr, xs, ys, verdict))
                continue
            if self._duplicate(tr.t, xs, ys):
                self._count("duplicate")
                continue
            out.append(self._detection(tr, xs, ys, verdict))
        # Held-back tracks whose longer companion has ended (and was judged just above or
        # earlier): a duplicate if that one was emitted, else a detection of their own.
        running = {a.id for a in active}
        waiting = []
        for p in self._pending:
            if p.cover in running:
                waiting.append(p)
            elif self._duplicate(p.track.t, p.xs, p.ys):
                self._count("duplicate")
            else:
                out.append(self._detection(p.track, p.xs, p.ys, p.verdict))
        self._pending = waiting
        return out

    def _judge(
        self, tr: Track, quiet: bool = False
    ) -> tuple[Track, list[float], list[float], Verdict] | None:
        """The track (trimmed if need be) and its verdict if it passes; else counts why not
        and keeps it as a fragment to stitch (unless `quiet`)."""
        if len(tr.t) < self.cfg.min_points:
            if not quiet:
                self._keep_fragment(tr)
            return None
        xs, ys = self._full(tr)
        verdict = self._assess(tr.t, xs, ys)
        if not verdict.ok and (
            verdict.reason in _TRIMMABLE
            or (verdict.reason == "not_falling" and self._holds_a_drop(xs, ys))
        ):
            tr, xs, ys, verdict = self._trim(tr, xs, ys, verdict, quiet)
        if not verdict.ok or verdict.confidence < self.cfg.min_confidence:
            if not quiet:
                self._count(verdict.reason if not verdict.ok else "low_confidence")
                if not verdict.ok:
                    self._keep_fragment(tr)
            return None
        return tr, xs, ys, verdict

    def _recover(
        self, tr: Track, sightings: Sightings, active: list[Track]
    ) -> tuple[Track, list[float], list[float], Verdict] | None:
        """A failed piece of a fall, completed from the recent sightings, if that passes.

        The tracker may have split one fall over several tracks (see `recover`); the piece is
        followed along its own parabola and the whole is judged like any track, so it passes
        only as a whole fall, and rest before the release or after the landing is trimmed as
        usual.
        """
        # Only the piece that falls: before and after it the track may have been on a resting
        # object, a lit window or another track's object.
        k, m = falling_run(tr.y)
        if m - k < _SEED_POINTS:
            return None
        full_x, full_y = self._full(tr)
        own_head = self._head_ok(tr.t, full_x, full_y, k, m)
        tr = Track(tr.id, tr.t[k:m], tr.x[k:m], tr.y[k:m], tr.area[k:m])
        xs, ys = self._full(tr)
        x0, y0 = xs[0], ys[0]
        storey = self.floors.floor_px(x0, y0)
        g = self.floors.gravity_px(x0, y0)
        drop, span = ys[-1] - ys[0], tr.t[-1] - tr.t[0]
        # Any stretch of a fall drops at least what a fall from rest would at a fifth of
        # gravity (drag included); a jittering blob's slow drift does not, and following every
        # one of those would cost more than the rest of the judging.
        if drop < _SEED_STOREYS * storey or drop < 0.1 * g * span * span:
            return None
        s = self.crop.scale
        typical = median_area(tr.area)
        tol = max(2.5, 0.1 * storey * s) + 0.3 * float(np.sqrt(typical))
        if not sightings.walk(coherent(tr, g * s, self.fps)):
            self._count("walk_budget")
            return None
        whole = recover(tr, sightings, g * s, tol, self.cfg.max_gap_frames)
        if len(whole.t) < max(self.cfg.min_points, len(tr.t) + 2):
            return None
        fall = (max(whole.y) - min(whole.y)) / s
        if whole.t[-1] - whole.t[0] < self.cfg.min_track_s or fall < self.cfg.min_drop_px:
            return None  # (cheap checks the physical test would fail anyway)
        self._faint = whole.faint
        try:
            found = self._judge(whole, quiet=True)  # the piece itself was counted already
        finally:
            self._faint = []
        if found is not None and (
            not own_head or self._amid_motion(found[0], self._others(active))
        ):
            # The track, or another one, moved into the piece's first point: the piece is one
            # stretch of that thing's motion (a leaf's last swing after seconds of fluttering
            # down the wall, its blob split off onto a track of its own: set 1100, clip 1118,
            # a false alarm). As in trimming, such a piece passes only as a whole fall.
            cut, _, fys, v = found
            if not (self._long_enough(cut.t, fys) and self._strong(v)):
                return None
        if found is not None:
            self._count("recovered")
        return found

    def _others(self, active: list[Track]) -> list[Track]:
        """The tracks that ended lately, in the order they ended, then the active ones."""
        return [r for _, _, r in sorted(self._recent, key=lambda e: e[1])] + active

    def _amid_motion(self, piece: Track, others: list[Track]) -> bool:
        """Whether another track holds the piece's first point and came there moving: more
        than a few points before it that are neither rest nor a jump from something else."""
        t0 = piece.t[0]
        for o in others:
            if o.id == piece.id or len(o.t) <= _MAX_LOOSE or not o.t[0] < t0 <= o.t[-1]:
                continue
            i = next((j for j, u in enumerate(o.t) if abs(u - t0) < 1e-6), None)
            if i is None or i <= _MAX_LOOSE:
                continue
            if abs(o.x[i] - piece.x[0]) > 1.0 or abs(o.y[i] - piece.y[0]) > 1.0:
                continue
            ox, oy = self._full(o)
            if not self._head_ok(o.t, ox, oy, i, min(len(o.t), i + len(piece.t))):
                return True
        return False

    def _cover(
        self, tr: Track, xs: list[float], ys: list[float], active: list[Track]
    ) -> int | None:
        """The id of a longer active track that follows the same path as `tr`, if any.

        The object's blob can split in two when it is fast (motion blur longer than the
        closing joins); each piece then has a track, and the shorter one ends first. Judged
        alone it would be a second detection of one throw (the independent set counted such
        a piece as a false alarm).
        """
        ts = np.asarray(tr.t) - tr.t[0]
        yfit = np.polyfit(ts, ys, 2)
        xfit = np.polyfit(ts, xs, 1)
        tol = max(6.0, 0.5 * self.storey_px)
        c, inv = self.crop, 1.0 / self.crop.scale
        for a in active:
            if a.id == tr.id or not a.t or a.t[0] >= tr.t[0] or len(a.t) <= len(tr.t):
                continue
            at = np.asarray(a.t)
            inside = (at >= tr.t[0]) & (at <= tr.t[-1])
            if inside.sum() < _COVER_MIN_POINTS:
                continue
            dt = at[inside] - tr.t[0]
            ax = c.x0 + np.asarray(a.x)[inside] * inv
            ay = c.y0 + np.asarray(a.y)[inside] * inv
            near = np.hypot(ax - np.polyval(xfit, dt), ay - np.polyval(yfit, dt)) <= tol
            if near.sum() >= max(_COVER_MIN_POINTS, 0.6 * len(dt)):
                return a.id
        return None

    def _count(self, reason: str) -> None:
        self.rejected[reason] = self.rejected.get(reason, 0) + 1

    def _full(self, tr: Track) -> tuple[list[float], list[float]]:
        c = self.crop
        inv = 1.0 / c.scale
        return [c.x0 + x * inv for x in tr.x], [c.y0 + y * inv for y in tr.y]

    def _assess(self, t: list[float], xs: list[float], ys: list[float]) -> Verdict:
        faint = sum(t[0] < u < t[-1] for u in self._faint) if self._faint else 0
        return assess(t, xs, ys, self.floors, self.cfg, self.fps, self.noise_px, faint)

    def _stitch(self, tr: Track) -> Track:
        # An object that fades out and back in (low contrast against parts of the wall) leaves
        # several short tracks; glue a track to the fragment it continues before judging it.
        if tr.t[0] - self._fragments_end > _STITCH_S:  # else none is too old (monotonic)
            self._fragments = [p for p in self._fragments if tr.t[0] - p[0].t[-1] <= _STITCH_S]
            self._fragments_end = min((p[0].t[-1] for p in self._fragments), default=float("inf"))
        if len(tr.t) < 3:
            return tr
        best, best_d = None, 0.0
        for pair in self._fragments:
            f, fit = pair
            gap_t = tr.t[0] - f.t[-1]
            if gap_t <= 0:
                continue
            x_pred, y_pred, vy = self._extrapolate(fit, tr.t[0])
            ey = abs(tr.y[0] - y_pred)
            ex = abs(tr.x[0] - x_pred)
            # The extrapolation of a short fragment is rough: allow for its speed and size.
            tol = self._stitch_tol + 0.5 * fit.size
            if ey <= tol + 0.3 * abs(vy) * gap_t and ex <= tol + 0.1 * abs(vy) * gap_t:
                d = ex + ey
                if best is None or d < best_d:
                    best, best_d = pair, d
        if best is None:
            return tr
        self._fragments.remove(best)
        f = best[0]
        return Track(f.id, f.t + tr.t, f.x + tr.x, f.y + tr.y, f.area + tr.area)

    def _fragment_fit(self, f: Track) -> _Fit:
        """Free fall through fragment `f`, for `_extrapolate` (analysis pixels)."""
        # Fit y - g t^2 / 2 = y0 + v0 t with gravity known: two unknowns are robust on a short
        # fragment, and the last points are skipped because an object slipping behind a mask
        # leaves a centroid that lags.
        n = len(f.t)
        keep = n - 2 if n >= 6 else n
        ts = np.asarray(f.t[:keep]) - f.t[0]
        g = self._g_det
        # Two straight lines by their closed form (np.polyfit costs ~40 µs a call, and in heavy
        # rain thousands of fragments are kept a minute).
        dt = ts - ts.mean()
        sxx = float(dt @ dt)
        yy = np.asarray(f.y[:keep]) - 0.5 * g * ts * ts
        xx = np.asarray(f.x[:keep], np.float64)
        v0 = float(dt @ yy) / sxx
        vx = float(dt @ xx) / sxx
        y0 = float(yy.mean()) - v0 * float(ts.mean())
        x0 = float(xx.mean()) - vx * float(ts.mean())
        size = float(np.sqrt(median_area(f.area)))
        return _Fit(f.t[0], x0, vx, y0, v0, size)

    def _extrapolate(self, fit: _Fit, t: float) -> tuple[float, float, float]:
        """Where free fall carries a fragment by time t: (x, y, vy) in analysis pixels."""
        g = self._g_det
        dt = t - fit.t0
        return fit.x0 + fit.vx * dt, fit.y0 + fit.v0 * dt + 0.5 * g * dt * dt, fit.v0 + g * dt

    def _keep_fragment(self, tr: Track) -> None:
        if len(tr.t) >= 3 and tr.y[-1] > tr.y[0] and len(self._fragments) < _MAX_FRAGMENTS:
            self._fragments.append((tr, self._fragment_fit(tr)))
            self._fragments_end = min(self._fragments_end, tr.t[-1])

    def _duplicate(self, t: list[float], xs: list[float], ys: list[float]) -> bool:
        # A track broken by an occluder (a masked window, a tree branch) must not count twice:
        # its second half continues the parabola of the first.
        self._emitted = [e for e in self._emitted if t[0] - e.t_end <= _DEDUP_S]
        ta, xa, ya = np.asarray(t), np.asarray(xs), np.asarray(ys)
        for e in self._emitted:
            dt = ta - e.t0
            on = (np.abs(np.polyval(e.yfit, dt) - ya) < 2 * self.storey_px) & (
                np.abs(np.polyval(e.xfit, dt) - xa) < self.storey_px
            )
            if on[0]:
                return True
            # Its head may be something else: a bird crossing the fall gave a track 6 points
            # before the rest of the fall (set 1000, clip 1002, a second detection).
            if np.count_nonzero(on & (ta <= e.t_end + _DEDUP_S)) >= _DUP_POINTS:
                return True
        return False

    def _detection(self, tr: Track, xs: list[float], ys: list[float], v: Verdict) -> Detection:
        ts = np.asarray(tr.t) - tr.t[0]
        self._emitted.append(
            _Emitted(tr.t[-1], np.polyfit(ts, ys, 2), np.polyfit(ts, xs, 1), tr.t[0])
        )
        return Detection(
            type="falling_object",
            t=tr.t[0],
            confidence=v.confidence,
            floor=v.floor,
            track=[(t, x, y) for t, x, y in zip(tr.t, xs, ys, strict=True)],
        )
