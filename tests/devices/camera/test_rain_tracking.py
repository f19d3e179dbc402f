"""The tracker among rain and window lights: which blobs a track coasts through."""

from __future__ import annotations

import numpy as np

from devices.camera.tracking import Blob, Track, Tracker

FPS = 25.0
G_PX = 200.0  # analysis pixels per s² (a near facade, 60 px a storey)


def _blob(x: float, y: float, area: int) -> Blob:
    side = max(1, round(area**0.5))
    return Blob(x, y, area, side, side, round(x - side / 2), round(y - side / 2))


def _fall(merged: range, grow: float, frames: int = 30) -> tuple[Tracker, list[Track]]:
    """An object of 12 px falling from rest; in the frames `merged` its blob has merged with
    raindrops into one `grow` times its size round the object. Returns the tracker and the
    tracks that ended."""
    tr = Tracker(4.0, G_PX, 5, FPS)
    ended: list[Track] = []
    for k in range(frames):
        t = k / FPS
        y = 50.0 + 0.5 * G_PX * t * t
        area = round(12 * grow) if k in merged else 12
        ended += tr.update(t, [_blob(100.0, y, area)])
    return tr, ended


def test_a_resting_thing_that_lights_up_is_not_a_cover() -> None:
    # A window light that flickers where a track stands (set 1300, clip 1307, night snow):
    # with a bound of 2.5 times (tried for heavy rain, not kept) the track coasted through it,
    # took the snow falling below and passed as a fall from rest, a false alarm. A track
    # coasts only through a blob 4 times its object.
    tracker = Tracker(4.0, G_PX, 5, FPS)
    ended: list[Track] = []
    for k in range(14):
        area = 40 if k >= 8 else 12
        ended += tracker.update(k / FPS, [_blob(100.0, 50.0, area)])
    [first] = [t for t in [*tracker.active, *ended] if t.t[0] == 0.0]
    assert len(first.t) == 8 and first.hidden == 0


def test_a_blob_the_size_gate_admits_is_still_linked() -> None:
    tracker, ended = _fall(range(8, 14), 2.0)
    assert not ended
    [track] = tracker.active
    assert len(track.t) == 30 and np.all(np.diff(track.y) > 0)


def test_the_covering_blobs_are_those_the_size_gate_refuses_round_the_prediction() -> None:
    # `_covers` vectorised (in rain ~40 blobs a frame meet up to 160 tracks): the same
    # tracks as the plain loop over tracks and blobs it replaced.
    rng = np.random.default_rng(11)
    for _ in range(20):
        tracker = Tracker(4.0, G_PX, 5, FPS)
        for k in range(4):
            blobs = [
                _blob(float(x), float(y), int(a))
                for x, y, a in zip(
                    rng.uniform(0, 200, 30), rng.uniform(0, 200, 30) + 3 * k,
                    rng.integers(2, 20, 30), strict=True,
                )
            ]
            tracker.update(k / FPS, blobs)
        blobs = [
            _blob(float(x), float(y), int(a))
            for x, y, a in zip(
                rng.uniform(0, 200, 40), rng.uniform(0, 200, 40), rng.integers(2, 200, 40),
                strict=True,
            )
        ]
        tracker._last = tracker._predict(4 / FPS)
        used = set(rng.choice(len(tracker.active), len(tracker.active) // 3).tolist())
        px, py, _, _, _, area = tracker._last
        expect = {
            i
            for i, tr in enumerate(tracker.active)
            if i not in used and len(tr.t) >= 3
            and any(
                b.area >= 16
                and b.area >= 4 * area[i] + 8
                and b.x0 - 2 <= px[i] <= b.x0 + b.w + 2
                and b.y0 - 2 <= py[i] <= b.y0 + b.h + 2
                for b in blobs
            )
        }
        assert tracker._covers(blobs, used) == expect


def _crossed_fall(crossings: range) -> tuple[Tracker, list[Track]]:
    """An object of 12 px falling from rest for 30 frames; just before each frame of
    `crossings` a raindrop's track arrives (three points, 8 px a frame sideways) that predicts
    the object's blob exactly, so that it is the nearer claimant of that blob."""
    tr = Tracker(4.0, G_PX, 5, FPS)
    ended: list[Track] = []

    def y_at(k: int) -> float:
        return 50.0 + 0.5 * G_PX * (k / FPS) ** 2

    for k in range(30):
        if k in crossings:
            drop = Track(1000 + k)
            for m in (3, 2, 1):
                drop.add((k - m) / FPS, _blob(100.0 - 8.0 * m, y_at(k), 12))
            tr.active.append(drop)
        ended += tr.update(k / FPS, [_blob(100.0, y_at(k), 12)])
    return tr, ended


def test_a_blob_two_tracks_predicted_is_kept_by_both() -> None:
    # Heavy rain (style C, clips 3106 and 3110): the object's blob lies where a raindrop's
    # track predicted it as well, nearer in units of that track's wider gate, and greedy
    # assignment gave it to the raindrop; frame after frame the object's track counted misses
    # and broke. A track that found nothing of its own keeps a blob another track took when
    # it lies within the track's own base gate of its prediction: both hypotheses go on, the
    # judge decides (and a second detection of one throw is a duplicate).
    tracker, ended = _crossed_fall(range(10, 16))
    [fall] = [t for t in [*tracker.active, *ended] if t.t[0] == 0.0]
    assert len(fall.t) == 30
    assert np.allclose(fall.x, 100.0)
    # Each raindrop's track took the object's blob as well.
    drops = [t for t in [*tracker.active, *ended] if t.id >= 1000]
    assert len(drops) == 6 and all(t.x[3] == 100.0 for t in drops)


def test_a_blob_far_from_a_tracks_prediction_is_not_shared() -> None:
    # Only within the base gate: a track that predicted elsewhere does not take the blob.
    tracker = Tracker(4.0, G_PX, 5, FPS)
    for k in range(5):
        tracker.update(k / FPS, [_blob(100.0, 50.0, 12), _blob(150.0 - 8.0 * k, 80.0, 12)])
    # The moving track ends up 7 px from the resting one's blob: not shared.
    tracker.update(5 / FPS, [_blob(107.0, 80.0, 12)])
    rest = next(t for t in tracker.active if t.x[0] == 100.0)
    assert len(rest.t) == 5 and rest.misses == 1


def test_only_a_track_that_follows_its_object_shares_a_blob() -> None:
    # A raindrop's track whose last point lay far from where it predicted it (it hops from
    # drop to drop) gets no share: shared blobs kept such tracks alive until they wandered
    # onto a throw and carried their erratic past into its head (clip 3112, a throw lost).
    def tracks(off: float) -> tuple[Track, Track]:
        tracker = Tracker(4.0, G_PX, 5, FPS)
        fall = Track(1)
        for k in range(4):
            fall.add(k / FPS, _blob(100.0, 50.0 + 0.5 * G_PX * (k / FPS) ** 2, 12))
        other = Track(2)
        for k in range(4):
            other.add(k / FPS, _blob(100.0 - 3.0 * (4 - k), 51.0 + 0.5 * G_PX * (4 / FPS) ** 2, 12))
        other.off = off
        tracker.active = [fall, other]
        tracker.update(4 / FPS, [_blob(100.0, 50.0 + 0.5 * G_PX * (4 / FPS) ** 2, 12)])
        return fall, other

    fall, other = tracks(0.5)
    assert len(fall.t) == 5 and len(other.t) == 5
    fall, other = tracks(10.0)
    assert len(fall.t) == 5 and len(other.t) == 4 and other.misses == 1


def test_a_track_at_rest_does_not_share() -> None:
    # Set 1300, clip 1307 (night snow): a window light's track took a snowflake's blob as it
    # passed, followed the snow down and passed as a fall from rest (a false alarm). A track
    # shares only while it moves at least a pixel a frame.
    tracker = Tracker(4.0, G_PX, 5, FPS)
    window = Track(1)
    for k in range(6):
        window.add(k / FPS, _blob(100.0, 50.0, 12))
    flake = Track(2)
    for k in range(4):
        flake.add((k + 2) / FPS, _blob(100.0, 41.0 + 3.0 * k, 12))
    tracker.active = [flake, window]
    # The flake's track predicts the blob exactly; the window's prediction is 3 px from it.
    tracker.update(6 / FPS, [_blob(100.0, 53.0, 12)])
    assert len(flake.t) == 5
    assert len(window.t) == 6 and window.misses == 1
