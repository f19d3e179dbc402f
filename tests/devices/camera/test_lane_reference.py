"""The fire-lane empty-lane reference on synthetic frames fed straight to the detector: what it
learns while something stands in a zone, and how it treats the measured exposure."""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from devices.camera.config import FireLaneConfig, FireLaneZone
from devices.camera.detection import Detection
from devices.camera.firelane import FireLaneDetector
from devices.camera.lanezone import extent_px, row_weights

FPS = 5.0
ARRIVE, LEAVE = 5.0, 35.0


def _detector() -> FireLaneDetector:
    zone = FireLaneZone(id="FL-1", polygon=[(200, 300), (440, 300), (440, 420), (200, 420)])
    cfg = FireLaneConfig(zones=[zone], dwell_s=10.0, clear_s=3.0, background_s=5.0)
    return FireLaneDetector(cfg, (640, 480))


def _run(
    det: FireLaneDetector,
    lane: np.ndarray,
    dark: int,
    gain_at: Callable[[float], float],
    seconds: float = 50.0,
) -> list[Detection]:
    """A box of grey level `dark` stands in the zone from ARRIVE to LEAVE; `gain_at` is the
    exposure the camera reports (the picture itself never changes brightness)."""
    rng = np.random.default_rng(7)
    h, w = lane.shape[:2]
    out: list[Detection] = []
    for i in range(int(seconds * FPS)):
        t = i / FPS
        frame = lane.copy()
        if ARRIVE <= t < LEAVE:
            frame[h // 2 - 20 : h // 2 + 25, w // 2 - 40 : w // 2 + 40] = dark
        noise = rng.normal(0.0, 1.5, frame.shape)
        frame = np.clip(frame + noise, 0, 255).astype(np.uint8)
        out += det.process(t, frame, gain_at(t))
    return out


def _lane(det: FireLaneDetector, level: int) -> np.ndarray:
    w, h = det.size
    rng = np.random.default_rng(3)
    lane = np.full((h, w, 3), level, np.float64) + rng.normal(0.0, 6.0, (h, w, 1))
    # Painted hatching: bright stripes, where a wrong exposure shows most.
    for x in range(0, w, 24):
        lane[:, x : x + 6] = 170
    return np.clip(lane, 0, 255)


def test_a_stay_through_a_drifting_measured_exposure_clears_at_the_departure() -> None:
    # Over a long stay the measured exposure wanders (here by 15 %) while the scene does not;
    # a reference frozen round the object must follow the free lane's drift, or the hatching
    # it covers differs from it after the departure and the zone is never cleared.
    det = _detector()

    def drift(t: float) -> float:
        return 1.0 - 0.15 * min(1.0, max(0.0, (t - 10.0) / 20.0))

    dets = _run(det, _lane(det, 60), 25, drift)
    assert [d.type for d in dets] == ["fire_lane_blocked", "fire_lane_cleared"]
    assert abs(dets[1].t - LEAVE) <= 1.0


def test_an_exposure_spike_as_an_object_arrives_does_not_make_it_an_artefact() -> None:
    # A bright car driving past lifts the measured exposure for a second just as a dark box
    # arrives; only a step that holds marks new changes as the camera's own artefacts (which
    # are learnt at once), so the box is still there when the dwell is up.
    det = _detector()

    def spike(t: float) -> float:
        return 1.4 if ARRIVE - 0.6 <= t < ARRIVE + 0.6 else 1.0

    dets = _run(det, _lane(det, 60), 25, spike)
    assert [d.type for d in dets] == ["fire_lane_blocked", "fire_lane_cleared"]
    blocked = dets[0]
    assert blocked.dwell_s is not None and abs(blocked.t - blocked.dwell_s - ARRIVE) <= 1.0


def test_standing_pixels_count_by_the_area_their_object_takes_up() -> None:
    # Two rims and a bar, one pixel thick: ~110 pixels over a 44 x 16 picture; specks of
    # noise, even many, join no group and count for nothing.
    standing = np.zeros((60, 80), np.uint8)
    cv2.circle(standing, (20, 30), 7, 255, 1)
    cv2.circle(standing, (50, 30), 7, 255, 1)
    cv2.line(standing, (20, 30), (50, 24), 255, 1)
    pixels = cv2.countNonZero(standing)
    assert extent_px(standing, 6) > 4 * pixels
    specks = np.zeros_like(standing)
    specks[::4, ::5] = 255
    assert extent_px(specks, 6) == 0


def test_what_stands_where_a_zone_narrows_counts_by_its_perspective() -> None:
    # A lane zone 400 px wide at its near end (bottom) and 100 px at its far end (top).
    zone = np.zeros((240, 500), np.uint8)
    cv2.fillPoly(zone, [np.array([[50, 220], [450, 220], [300, 20], [200, 20]], np.int32)], 255)
    w = row_weights(zone)
    assert w is not None
    assert w[0] == 1.0 and w[230] == 1.0  # rows outside the zone count as they are
    assert w[200] == 1.0  # near end: never counted down
    assert 3.0 < w[25] <= 4.0  # far end: (mean / width)² is over 4 there, capped at 4
    box = np.zeros_like(zone)
    box[20:30, 245:255] = 255  # 10 x 10 standing at row 29
    assert extent_px(box, 6, w) >= 3 * extent_px(box, 6)
    # A zone seen from the side does not narrow; a notch in an outline is not perspective.
    side = np.zeros_like(zone)
    side[60:200, 50:450] = 255
    side[100:110, 50:300] = 0
    flat = row_weights(side)
    assert flat is None or flat.max() < 1.2


def test_an_object_arriving_as_the_exposure_steps_is_not_taken_for_its_artefacts() -> None:
    # The exposure steps up by half just as a dark box comes to a stop on plain asphalt: the
    # bright hatching clips and differs (the camera's own artefacts, learnt at once), the box
    # does not look like anything an exposure change makes and must stand.
    det = _detector()
    lane = _lane(det, 60)
    rng = np.random.default_rng(7)
    h, w = lane.shape[:2]
    dets: list[Detection] = []
    for i in range(int(50.0 * FPS)):
        t = i / FPS
        gain = 1.5 if t >= ARRIVE else 1.0
        frame = lane.copy()
        if ARRIVE <= t < LEAVE:
            frame[h // 2 - 20 : h // 2 + 25, w // 2 - 35 : w // 2 + 35] = 25
        frame = np.clip(frame * gain + rng.normal(0.0, 1.5, frame.shape), 0, 255)
        dets += det.process(t, frame.astype(np.uint8), gain)
    assert [d.type for d in dets] == ["fire_lane_blocked", "fire_lane_cleared"]
    blocked, cleared = dets
    assert blocked.dwell_s is not None and abs(blocked.t - blocked.dwell_s - ARRIVE) <= 1.0
    assert abs(cleared.t - LEAVE) <= 1.0


def test_an_object_that_backs_out_slowly_is_cleared_from_when_it_began_to_move() -> None:
    # A textured box stands, then creeps out of the zone at 20 px/s: its pixels go on
    # differing from the lane for seconds and its moving look is taken up again as something
    # standing; that look never holds still, so the departure is when its own look broke.
    det = _detector()
    lane = _lane(det, 60)
    rng = np.random.default_rng(7)
    pattern = rng.integers(0, 160, (45, 80, 1)).astype(np.float64)
    h, w = lane.shape[:2]
    move = 25.0
    dets: list[Detection] = []
    for i in range(int(60.0 * FPS)):
        t = i / FPS
        frame = lane.copy()
        x = w // 2 - 40 + round(max(0.0, t - move) * 20.0)
        if t >= ARRIVE and x < w:
            frame[h // 2 - 20 : h // 2 + 25, x : x + 80] = pattern[:, : max(0, min(80, w - x))]
        frame = np.clip(frame + rng.normal(0.0, 1.5, frame.shape), 0, 255)
        dets += det.process(t, frame.astype(np.uint8), 1.0)
    assert [d.type for d in dets] == ["fire_lane_blocked", "fire_lane_cleared"]
    assert abs(dets[1].t - move) <= 1.5


def _boxes_behind_and_an_ebike(far: FireLaneZone, near: FireLaneZone,
                               boxes: tuple[int, int, int, int, int],
                               bike: tuple[int, int, int, int]) -> None:
    """Boxes (rows y0-y1, columns x0-x1, grey) stand from 3 s on; an e-bike (rows, columns)
    stands in the near zone from ARRIVE to LEAVE. The near zone clears at the e-bike's
    departure, the far zone stays blocked."""
    cfg = FireLaneConfig(zones=[far, near], dwell_s=10.0, clear_s=3.0, background_s=5.0)
    det = FireLaneDetector(cfg, (640, 480))
    lane = _lane(det, 60)
    ox, oy = det.crop.x0, det.crop.y0
    rng = np.random.default_rng(5)
    dets: list[Detection] = []
    by0, by1, bx0, bx1, grey = boxes
    ey0, ey1, ex0, ex1 = bike
    for i in range(int(60.0 * FPS)):
        t = i / FPS
        frame = lane.copy()
        if t >= 3.0:
            frame[by0 - oy : by1 - oy, bx0 - ox : bx1 - ox] = grey
        if ARRIVE <= t < LEAVE:
            frame[ey0 - oy : ey1 - oy, ex0 - ox : ex1 - ox] = 20
        frame = np.clip(frame + rng.normal(0.0, 1.5, frame.shape), 0, 255)
        dets += det.process(t, frame.astype(np.uint8), 1.0)
    got = [(d.type, d.zone) for d in dets]
    assert sorted(got) == sorted(
        [("fire_lane_blocked", "FAR"), ("fire_lane_blocked", "NEAR"), ("fire_lane_cleared", "NEAR")]
    )
    cleared = next(d for d in dets if d.type == "fire_lane_cleared")
    assert abs(cleared.t - LEAVE) <= 1.0


def test_boxes_in_the_zone_behind_reaching_into_a_zone_do_not_hold_it_blocked() -> None:
    # Boxes stand in the far zone with their bottom rows 4 px into the near zone's outline
    # (60 % of its threshold); an e-bike stands in the near zone and leaves while the boxes
    # stay. The near zone clears at the e-bike's departure, the far zone stays blocked.
    _boxes_behind_and_an_ebike(
        FireLaneZone(id="FAR", polygon=[(200, 240), (440, 240), (440, 300), (200, 300)]),
        FireLaneZone(id="NEAR", polygon=[(200, 300), (440, 300), (440, 360), (200, 360)]),
        boxes=(270, 304, 300, 322, 150), bike=(315, 345, 360, 400))


def test_the_dwell_clock_runs_on_while_what_started_it_still_stands() -> None:
    # A far bicycle's picture counts by the area its rims and frame span. For 8 s its frame
    # melts into the lane (snow, a change of light) and the rims alone span less than the
    # threshold, yet they, most of its look, still stand where they stood. When the frame
    # shows again a bag hangs on it: pixels that began to differ only now. The dwell runs
    # from the bicycle's arrival, not from when the zone read occupied again.
    zone = FireLaneZone(
        id="FL-1",
        polygon=[(200, 300), (440, 300), (440, 420), (200, 420)],
        min_area_px=800,
    )
    cfg = FireLaneConfig(zones=[zone], dwell_s=15.0, clear_s=3.0, background_s=5.0)
    det = FireLaneDetector(cfg, (640, 480))
    lane = _lane(det, 60)
    rng = np.random.default_rng(7)
    h, w = lane.shape[:2]
    cx, cy = w // 2, h // 2 + 20
    white = (200, 200, 200)
    dets: list[Detection] = []
    for i in range(int(50.0 * FPS)):
        t = i / FPS
        frame = lane.copy()
        if ARRIVE <= t < LEAVE:
            cv2.circle(frame, (cx - 30, cy), 9, white, 2)
            cv2.circle(frame, (cx + 30, cy), 9, white, 2)
            if not 9.0 <= t < 17.0:
                cv2.line(frame, (cx - 30, cy), (cx + 30, cy - 8), white, 2)
            if t >= 17.0:
                cv2.rectangle(frame, (cx - 14, cy - 30), (cx + 14, cy - 10), (30, 30, 150), -1)
        frame = np.clip(frame + rng.normal(0.0, 1.5, frame.shape), 0, 255)
        dets += det.process(t, frame.astype(np.uint8), 1.0)
    assert [d.type for d in dets] == ["fire_lane_blocked", "fire_lane_cleared"]
    blocked, cleared = dets
    assert blocked.dwell_s is not None and abs(blocked.t - blocked.dwell_s - ARRIVE) <= 1.0
    assert abs(cleared.t - LEAVE) <= 1.0


def test_boxes_behind_reaching_into_a_narrowing_zone_do_not_count_by_its_perspective() -> None:
    # A near zone 440 px wide at its near end and 80 px at its far end, a far zone behind it.
    # Boxes stand in the far zone with their bottom rows 6 px into the near zone's far end,
    # where something standing counts four times its picture area: they are mostly the far
    # zone's, so their few rows count as they are. An e-bike stands in the near zone and
    # leaves while the boxes stay: the near zone clears at its departure.
    _boxes_behind_and_an_ebike(
        FireLaneZone(id="FAR", polygon=[(280, 300), (360, 300), (350, 240), (290, 240)]),
        FireLaneZone(id="NEAR", polygon=[(100, 420), (540, 420), (360, 300), (280, 300)]),
        boxes=(270, 306, 309, 331, 200), bike=(360, 390, 300, 340))


def test_what_an_object_leaves_at_a_narrow_end_does_not_count_by_perspective() -> None:
    # A dark box stands at the far, narrow end of a zone (440 px wide at its near end, 80 at
    # its far end) and leaves a patch of lane that differs from the held reference behind
    # (snow fallen round it, a wet spot): 118 px, half of it flickering. Counted four times by
    # perspective it held the zone blocked to the end; it is what the box left, not a new
    # arrival, and counts as it is: the zone clears at the box's departure.
    near = FireLaneZone(id="NEAR", polygon=[(100, 420), (540, 420), (360, 300), (280, 300)])
    cfg = FireLaneConfig(zones=[near], dwell_s=10.0, clear_s=3.0, background_s=5.0)
    det = FireLaneDetector(cfg, (640, 480))
    lane = _lane(det, 60)
    ox, oy = det.crop.x0, det.crop.y0
    rng = np.random.default_rng(5)
    dets: list[Detection] = []
    for i in range(int(60.0 * FPS)):
        t = i / FPS
        frame = lane.copy()
        if ARRIVE <= t < LEAVE:
            frame[302 - oy : 322 - oy, 305 - ox : 335 - ox] = 20
        if t >= LEAVE:
            frame[304 - oy : 312 - oy, 310 - ox : 316 - ox] = 110
            if t >= LEAVE + 1.0 and i % 4 != 3:
                frame[304 - oy : 312 - oy, 316 - ox : 326 - ox] = 110
        frame = np.clip(frame + rng.normal(0.0, 1.5, frame.shape), 0, 255)
        dets += det.process(t, frame.astype(np.uint8), 1.0)
    assert [d.type for d in dets] == ["fire_lane_blocked", "fire_lane_cleared"]
    blocked, cleared = dets
    assert blocked.dwell_s is not None and abs(blocked.t - blocked.dwell_s - ARRIVE) <= 1.0
    assert abs(cleared.t - LEAVE) <= 1.0
