"""Judging tracks without video: fragments of rejected tracks, evidence across scales."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from devices.camera.config import FallingConfig, Floors
from devices.camera.judge import Judge
from devices.camera.physics import FloorMap, assess, confidence
from devices.camera.region import Crop
from devices.camera.tracking import Blob, Track

FPS = 25.0
G = 9.81


def _config(storey_px: float, floors: int = 12, top: float = 40.0, left: float = 100.0,
            right: float = 900.0) -> FallingConfig:
    """A facade of `floors` storeys between `left` and `right`, its floor lines drawn."""
    lines = [
        (left, top + (floors - k) * storey_px, right, top + (floors - k) * storey_px)
        for k in range(floors + 1)
    ]
    bottom = top + floors * storey_px
    return FallingConfig(
        facade=[(left, top), (right, top), (right, bottom), (left, bottom)],
        floors=Floors(first=1, height_m=3.0, lines=lines),
    )


def _judge(storey_px: float, scale: float = 1.0) -> tuple[Judge, FallingConfig]:
    cfg = _config(storey_px)
    return Judge(cfg, Crop(0, 0, 1280, 720, scale), FloorMap(cfg.floors), FPS), cfg


def _track(
    fx: Callable[[float], float],
    fy: Callable[[float], float],
    seconds: float,
    t0: float = 0.0,
    noise: float = 0.3,
    seed: int = 0,
    scale: float = 1.0,
) -> Track:
    """A track as the tracker hands it over: analysis-frame pixels (`scale` × full frame)."""
    rng = np.random.default_rng(seed)
    ts = t0 + np.arange(0, seconds, 1 / FPS)
    tr = Track(1)
    for t in ts:
        tr.t.append(float(t))
        tr.x.append(scale * float(fx(t - t0)) + float(rng.normal(0, noise)))
        tr.y.append(scale * float(fy(t - t0)) + float(rng.normal(0, noise)))
        tr.area.append(20)
    return tr


def _stoop(px_per_m: float, y0: float) -> tuple[Callable[[float], float], Callable[[float], float]]:
    """A bird: 1 s level flight, a 0.6 s stoop at 0.9 g, then it pulls out and climbs away."""
    g = 0.9 * G * px_per_m

    def fy(t: float) -> float:
        if t < 1.0:
            return y0 + 3 * np.sin(4 * t)
        s = t - 1.0
        if s < 0.6:
            return y0 + 0.5 * g * s * s
        drop = 0.5 * g * 0.36
        r = s - 0.6
        return y0 + drop + g * 0.6 * (1 - np.exp(-5 * r)) / 5 - 40 * r

    return (lambda t: 200 + 120 * t), fy


@pytest.mark.parametrize("storey_px", [24.0, 60.0])
def test_a_stoop_out_of_level_flight_is_not_a_falling_object(storey_px: float) -> None:
    judge, _ = _judge(storey_px)
    fx, fy = _stoop(storey_px / 3.0, 150.0)
    tr = _track(fx, fy, 2.6)
    assert judge([tr]) == []


@pytest.mark.parametrize("storey_px", [24.0, 60.0])
def test_a_throw_whose_track_runs_on_after_landing_is_found(storey_px: float) -> None:
    judge, cfg = _judge(storey_px)
    k = storey_px / 3.0
    y0 = 40.0 + 4 * storey_px  # sill of storey 9 of 12
    ground = 40.0 + 12 * storey_px
    land = float(np.sqrt(2 * (ground - y0) / (G * k)))

    def fy(t: float) -> float:
        return min(ground, y0 + 0.5 * G * k * t * t)  # then it lies on the ground

    tr = _track(lambda t: 500.0, fy, land + 0.8)
    [det] = judge([tr])
    assert det.floor is not None and abs(det.floor - 9) <= 1
    assert det.confidence >= cfg.min_confidence


def test_a_piece_of_a_long_snow_track_passes_only_as_a_whole_fall() -> None:
    """Snow chained into one long track, with an object's whole fall in the middle of it."""
    judge, _ = _judge(60.0, scale=0.5)
    k = 20.0
    fall = 1.6

    def fy(t: float) -> float:
        if t < 3.0:
            return 100 + 30 * t  # a flake drifting down
        if t < 3.0 + fall:
            s = t - 3.0
            return 190 + 0.5 * G * k * s * s
        return 190 + 0.5 * G * k * fall * fall + 30 * (t - 3.0 - fall)

    tr = _track(lambda t: 400 + 5 * np.sin(t), fy, 7.0, scale=0.5)
    [det] = judge([tr])
    assert 2.7 <= det.t <= 3.2
    # The same piece cut short to 0.5 s is not enough on its own.
    judge2, _ = _judge(60.0, scale=0.5)

    def fy_short(t: float) -> float:
        if t < 3.0:
            return 100 + 30 * t
        if t < 3.5:
            return 190 + 0.5 * G * k * (t - 3.0) ** 2
        return 190 + 0.5 * G * k * 0.25 + 15 * (t - 3.5) - 60 * (t - 3.5) ** 2

    assert judge2([_track(lambda t: 400 + 5 * np.sin(t), fy_short, 6.0, scale=0.5)]) == []


def test_confidence_means_the_same_at_a_far_and_a_near_facade() -> None:
    """The same 2.5-storey fall scores alike at 24 and at 72 px per storey; a 0.5 s piece of
    a fall at the far facade scores below the threshold."""
    out = {}
    for storey_px, scale in ((24.0, 1.0), (72.0, 0.5)):
        cfg = _config(storey_px)
        floors = FloorMap(cfg.floors)
        k = storey_px / 3.0
        tr = _track(
            lambda t: 500.0,
            lambda t, k=k: 100 + 0.5 * G * k * (t + 0.2) ** 2,
            1.1,
            noise=0.35 / scale,
        )
        v = assess(tr.t, tr.x, tr.y, floors, cfg, FPS, 0.35 / scale)
        assert v.ok, v
        out[storey_px] = v.confidence
    assert abs(out[24.0] - out[72.0]) < 0.12
    assert min(out.values()) >= 0.8
    cfg = _config(24.0)
    k = 8.0
    # Half a second of a gliding bird whose wobble bends like gravity.
    tr = _track(
        lambda t: 300 + 60 * t, lambda t: 200 + 40 * t + 0.5 * 0.9 * G * k * t * t, 0.5, noise=0.5
    )
    v = assess(tr.t, tr.x, tr.y, FloorMap(cfg.floors), cfg, FPS, 0.35)
    assert not v.ok or v.confidence < cfg.min_confidence


def test_confidence_rises_with_evidence() -> None:
    weak = confidence(1.0, 6.0, 1.0, 0.5)
    strong = confidence(1.0, 30.0, 3.0, 1.2)
    assert weak < strong
    assert confidence(0.5, 30.0, 3.0, 1.2) < strong


def _split_throw(storey_px: float) -> tuple[Track, Track]:
    """One throw seen by two tracks: a long one from the release, and a short one that took
    the lower half of the object's motion-blurred blob for 0.6 s in the middle of the fall."""
    k = storey_px / 3.0

    def fy(t: float) -> float:
        return 100 + 0.5 * G * k * t * t

    whole = _track(lambda t: 500.0 + 10 * t, fy, 2.0)
    rng = np.random.default_rng(1)
    span = slice(25, 41)  # t = 1.0 … 1.6 s
    piece = Track(
        2,
        whole.t[span],
        [x + float(rng.normal(0, 0.3)) for x in whole.x[span]],
        [y + 2.0 + float(rng.normal(0, 0.3)) for y in whole.y[span]],
        whole.area[span],
    )
    return whole, piece


@pytest.mark.parametrize("storey_px", [24.0, 60.0])
def test_a_second_track_on_the_same_throw_is_not_a_second_detection(storey_px: float) -> None:
    # The short track ends first, while the long one still runs: judged alone it passes, and
    # the long one, judged later, would not recognise it as its own duplicate.
    judge, _ = _judge(storey_px)
    whole, piece = _split_throw(storey_px)
    running = Track(whole.id, whole.t[:40], whole.x[:40], whole.y[:40], whole.area[:40])
    assert judge([piece], active=[running]) == []
    [det] = judge([whole], active=[])
    assert det.t == whole.t[0]
    assert judge([], active=[]) == []


def test_a_held_back_track_is_reported_if_the_long_one_fails() -> None:
    judge, _ = _judge(24.0)
    whole, piece = _split_throw(24.0)
    # The long track turns out to be something else (here: sideways nonsense) and fails.
    bad = Track(whole.id, whole.t, [500.0 + 300 * t for t in whole.t], whole.y, whole.area)
    running = Track(bad.id, bad.t[:40], whole.x[:40], whole.y[:40], bad.area[:40])
    assert judge([piece], active=[running]) == []
    dets = judge([bad], active=[])
    assert [d.t for d in dets] == [piece.t[0]]


def test_the_rest_of_a_fall_behind_a_crossing_bird_is_not_a_second_detection() -> None:
    # A far facade: the first 0.9 s of a fall from rest are reported. A bird crossing at the
    # object's height hands another track 6 points, then that track follows the rest of the
    # fall: its head is 35 px off the reported parabola, but the fall is the same throw.
    storey_px = 24.7
    k = storey_px / 3.0
    judge, _ = _judge(storey_px)

    def fx(t: float) -> float:
        return 882.0 - 2.0 * t

    def fy(t: float) -> float:
        return 187.0 + 0.5 * G * k * t * t

    assert len(judge([_track(fx, fy, 0.9, seed=3)])) == 1
    rng = np.random.default_rng(4)
    rest = Track(2)
    bird = [(float(t), 917.0 - 80.0 * (t - 0.52), 208.0) for t in np.arange(0.52, 0.86, 1 / FPS)]
    fall = [(float(t), fx(t), fy(t)) for t in np.arange(1.08, 3.7, 1 / FPS)]
    for t, x, y in bird + fall:
        rest.add(t, Blob(x + float(rng.normal(0, 0.3)), y + float(rng.normal(0, 0.3)), 20, 4, 5))
    assert judge([rest]) == []
    assert judge.rejected.get("duplicate") == 1


@pytest.mark.parametrize("storey_px", [30.0, 60.0])
def test_a_fall_whose_coasting_track_then_climbed_the_wall_is_found(storey_px: float) -> None:
    # Set 1000, clip 1006: the object vanished after 1.4 s of a clean fall, its track coasted
    # and caught rain that it followed back up the wall, so the whole track ended higher than
    # it began (`not_falling`) and was never trimmed.
    judge, cfg = _judge(storey_px)
    k = storey_px / 3.0
    y0 = 40.0 + 3 * storey_px
    fall = 1.4
    tr = _track(lambda t: 500.0 - 20 * t, lambda t: y0 + 0.5 * G * k * t * t, fall, seed=2)
    y_end = tr.y[-1]
    for i, step in enumerate(range(6)):
        t = tr.t[-1] + (6 if i == 0 else 3) / FPS
        tr.t.append(t)
        tr.x.append(520.0 + 60 * step)
        tr.y.append(y_end - 0.3 * (y_end - y0) * (step + 1))
        tr.area.append(20)
    assert tr.y[-1] < y0 + cfg.min_drop_floors * storey_px  # the whole does not drop
    [det] = judge([tr])
    assert det.floor is not None and abs(det.floor - 10) <= 1
    assert det.track[-1][0] <= fall + 0.05  # the climb is cut off


def test_a_fragment_is_stitched_with_its_fit_kept_from_when_it_ended() -> None:
    # The fit through a fragment is made once, when it is kept, not for every later track.
    judge, _ = _judge(40.0)
    g = 9.81 * 40.0 / 3.0
    first = _track(lambda t: 400.0, lambda t: 150.0 + 0.5 * g * t * t, 0.2)
    judge([first])
    assert len(judge._fragments) == 1
    fit = judge._fragments[0][1]
    assert fit.t0 == first.t[0] and fit.v0 == pytest.approx(0.0, abs=8.0)
    second = _track(lambda t: 400.0, lambda t: 150.0 + 0.5 * g * t * t, 0.9, t0=0.32)
    found = judge([second])
    assert len(found) == 1 and found[0].t == pytest.approx(0.0, abs=0.05)
    assert judge._fragments == []


def test_a_head_check_on_a_piece_of_one_point_does_not_fail() -> None:
    # A recovered piece that begins on the last point of another track (`_amid_motion` checks
    # that track's head over the piece's length, cut at the track's end): a parabola through
    # one point is NaN, and numpy's least squares raised LinAlgError, ending the analysis
    # (style C, clip 3106, with the walk budget lifted).
    judge, _ = _judge(40.0)
    t = [k / FPS for k in range(10)]
    # A head moving 8 px a frame, then a step of 25 px (over half a storey, under 4 steps).
    xs = [100.0 + 8 * k for k in range(9)] + [100.0 + 8 * 8 + 15.0]
    ys = [100.0] * 9 + [120.0]
    assert judge._head_ok(t, xs, ys, 9, 10) is False


def test_pieces_cut_without_a_test_are_those_the_test_turns_down() -> None:
    # `_hopeless` skips pieces in trimming before the head and tail checks; it must refuse
    # only what the physical test refuses anyway (too few, brief, sparse, no drop).
    judge, cfg = _judge(40.0)
    rng = np.random.default_rng(3)
    for _ in range(300):
        n = int(rng.integers(4, 30))
        t = np.cumsum(rng.choice([1, 1, 1, 2, 3], size=n)) / FPS
        ys = 100.0 + np.cumsum(rng.normal(2.0, 6.0, size=n))
        xs = 300.0 + np.cumsum(rng.normal(0.0, 1.0, size=n))
        k, m = 0, n
        if judge._hopeless(list(t), list(xs), list(ys), k, m):
            v = assess(list(t), list(xs), list(ys), judge.floors, cfg, FPS, judge.noise_px)
            assert v.reason in {"short", "brief", "sparse", "not_falling"}


def test_a_fragments_fit_is_the_least_squares_lines() -> None:
    # The closed form kept for stitching (np.polyfit cost ~40 µs a call; heavy rain keeps
    # thousands of fragments a minute) gives polyfit's lines.
    judge, _ = _judge(40.0, scale=0.5)
    rng = np.random.default_rng(5)
    for n in (3, 5, 6, 12, 40):
        t = list(np.sort(rng.choice(np.arange(80), n, replace=False)) / FPS + 3.0)
        x = list(200 + rng.normal(0, 3, n).cumsum())
        y = list(100 + rng.normal(2, 3, n).cumsum())
        fit = judge._fragment_fit(Track(1, t, x, y, [9] * n))
        keep = n - 2 if n >= 6 else n
        ts = np.asarray(t[:keep]) - t[0]
        g = judge._g_det
        v0, y0 = np.polyfit(ts, np.asarray(y[:keep]) - 0.5 * g * ts * ts, 1)
        vx, x0 = np.polyfit(ts, np.asarray(x[:keep]), 1)
        assert np.allclose((fit.x0, fit.vx, fit.y0, fit.v0), (x0, vx, y0, v0), atol=1e-9)
