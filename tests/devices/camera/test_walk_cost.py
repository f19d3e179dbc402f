"""The heavy-rain cost cuts of the judge and the recovery walk change no outcome.

The judge keeps the tracks that ended lately in a heap by end time instead of filtering the
whole list at every frame; the walk reads each frame's blob columns prepared once, and decides
the size gate by two bounds instead of two tests per blob. Both must give what the old forms
gave, exactly (docs/camera.md, 2026-12-08 nineteenth).
"""

from __future__ import annotations

import numpy as np

from devices.camera.recover import HISTORY_S, Sightings, recover
from devices.camera.tracking import Blob, Track
from tests.devices.camera.test_judge import _judge


def _ended(rng: np.random.Generator, now: float, k: int) -> Track:
    # Tracks end after a gap, or after coasting, so their last points are not in order.
    n = int(rng.integers(2, 9))
    end = now - float(rng.uniform(0.0, 1.5))
    t = [end - 0.04 * (n - 1 - i) for i in range(n)]
    return Track(k, t, [10.0] * n, [10.0 + i for i in range(n)], [9] * n)


def test_the_recent_tracks_are_those_the_list_filter_kept() -> None:
    judge, _ = _judge(30.0)
    rng = np.random.default_rng(3)
    old: list[Track] = []
    k = 0
    for frame in range(400):
        now_frame = frame / 25.0
        tracks = []
        for _ in range(int(rng.integers(0, 6))):
            k += 1
            tracks.append(_ended(rng, now_frame, k))
        judge(tracks)
        if tracks:
            now = max(tr.t[-1] for tr in tracks)
            old = [r for r in old if now - r.t[-1] <= HISTORY_S] + [
                tr for tr in tracks if len(tr.t) > 3
            ]
        assert [r.id for r in judge._others([])] == [r.id for r in old]


def _old_take(xya: np.ndarray, box: np.ndarray, px: float, py: float, typical: float,
              tol: float) -> str | int:  # fmt: skip
    bx, by, ba = xya.T
    big = ba > 2.5 * typical + 6
    ok = ~big & (4 * ba + 8 >= typical)
    d = np.hypot(bx - px, by - py)
    d[~ok] = np.inf
    k = int(np.argmin(d))
    if d[k] > tol:
        x0, y0, x1, y1 = box.T
        inside = big & (x0 - 2 <= px) & (px <= x1 + 2) & (y0 - 2 <= py) & (py <= y1 + 2)
        return "hidden" if inside.any() else "miss"
    return k


def test_the_walk_picks_the_blob_the_old_gate_picked() -> None:
    # Random frames of blobs of every size round a prediction, typical areas whole and half:
    # the walk's blob (or hidden / miss) is the old one's, over thousands of draws.
    rng = np.random.default_rng(7)
    for trial in range(3000):
        n = int(rng.integers(1, 12))
        blobs = []
        for _ in range(n):
            w, h = (int(v) for v in rng.integers(1, 12, 2))
            area = int(rng.integers(1, w * h + 1))
            x0, y0 = (int(v) for v in rng.integers(0, 40, 2))
            blobs.append(Blob(x0 + w / 2, y0 + h / 2, area, w, h, x0, y0))
        typical = float(rng.integers(2, 60)) + (0.5 if trial % 2 else 0.0)
        s = Sightings(25.0)
        s.add(0.0, [Blob(20.0, 5.0, round(typical), 3, 3, 19, 4)])
        s.add(0.04, [Blob(20.0, 6.0, round(typical), 3, 3, 19, 5)])
        s.add(0.08, blobs)
        f = s.frames[-1]
        seed = Track(1, [0.0, 0.04], [20.0, 20.0], [5.0, 6.0], [round(typical)] * 2)
        seed.area = [int(typical), int(np.ceil(typical))]  # its median is `typical`
        tol = float(rng.uniform(0.5, 8.0))
        out = recover(seed, s, 0.0, tol, 0)
        want = _old_take(f.xya, f.box, 20.0, 7.0, float(np.median(seed.area)), tol)
        got = out.t.index(0.08) if 0.08 in out.t else None
        if isinstance(want, int):
            assert got is not None
            assert (out.x[got], out.y[got]) == (float(f.xya[want, 0]), float(f.xya[want, 1]))
        else:
            assert got is None
