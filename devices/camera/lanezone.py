"""One fire-lane zone's clock: arrival, dwell, blocked, departure and cleared."""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from devices.camera.config import FireLaneConfig, FireLaneZone
from devices.camera.detection import Detection

# A dropout shorter than this (a truck's shadow, a noisy frame) does not restart the dwell clock.
GAP_S = 2.0
# Never count a picture area under this (full-frame pixels) as an object, whatever the zone's
# share says. Above it the share decides: what an installer would not count (a carrier bag)
# shrinks with the zone's apparent size like everything else, so the default 1 % of a far zone
# of 2,600 px (26 px) means what 1,000 px mean in a near zone of 100,000. A floor of 60 px was
# 2-9 % of the far zones of the randomised set and held a far bicycle at night (45 px) out.
MIN_OBJECT_PX = 24.0
# The object is "still there" while this share of its pixels match their look when it stood.
_PRESENT = 0.6
# ... and this share of them still differ from the empty lane.
_DIFFERS = 0.5
_RECAPTURE_S = 5.0
# A look recaptured while a zone is blocked is the object only once it has matched this long
# without a break: a tricycle backing out slowly still covers its spot 5 s after it began to
# move, and its moving look, taken for a new object, dated the clear when that look broke.
_CONFIRM_S = 2.0
_JOIN = np.ones((3, 3), np.uint8)
_TEMPLATE_ALPHA = 0.1
# A zone seen along the lane is wide at its near end and narrow at its far end, and what stands
# at the far end looks smaller by the square of that ratio: a scooter at the far end of a near
# zone covered 0.43 % of it, under the 1 % share. Something standing where the zone is
# narrower than its mean width counts by its area scaled up by (mean width / width)², at most
# this much; never scaled down, so nothing that counts today counts less.
_MAX_PERSPECTIVE = 4.0


@dataclass
class ZoneState:
    """Per-zone occupancy clock and the look of what stands in it."""

    zone: FireLaneZone
    mask: np.ndarray
    area_px: float  # full-frame pixels
    threshold_px: float  # full-frame pixels
    since: float | None = None  # estimated arrival of what stands there
    free_since: float | None = None
    blocked: bool = False
    share: float = 0.0
    present_at: float | None = None  # last time the standing object matched its template
    template: np.ndarray | None = None  # colours of the object's pixels (n x channels)
    template_mask: np.ndarray | None = None  # their flat indices in the analysis image
    mismatch_since: float | None = None
    # A recaptured look not yet confirmed: since when it has matched without a break (None
    # while it does not match); `tentative` is False once it stood long enough.
    tentative: bool = False
    matching_since: float | None = None
    history: list[str] = field(default_factory=list)
    # When the zone last read free after something stood in it: what began to differ before
    # then is what that thing left behind (see `extent_px`'s perspective), not a new arrival.
    freed_at: float = -1e18
    # Per analysis row: how much more an object standing on that row counts (see
    # `row_weights`); None counts every row alike.
    row_weight: np.ndarray | None = None


def object_reach_px(polygon: list[tuple[float, float]]) -> float:
    """How far above a zone's ground outline an object standing in it reaches in the picture:
    half the square root of the zone's area (a car in a near zone, a bicycle in a far strip
    both come out near their real height)."""
    a = np.asarray(polygon, np.float64)
    area = 0.5 * abs(float(a[:, 0] @ np.roll(a[:, 1], 1) - a[:, 1] @ np.roll(a[:, 0], 1)))
    return 0.5 * float(np.sqrt(area))


def reach_up(mask: np.ndarray, px: float) -> np.ndarray:
    """The mask extended upwards by `px` rows (objects stand in the zone and rise above it)."""
    h = max(1, round(px))
    kernel = np.ones((h + 1, 1), np.uint8)
    return cv2.dilate(mask, kernel, anchor=(0, 0))


def row_weights(outline: np.ndarray) -> np.ndarray | None:
    """Per row of the picture, (mean width / width)² of the zone's ground outline, clipped to
    [1, `_MAX_PERSPECTIVE`]; 1 outside the outline's rows. The widths are a straight-line fit
    over the rows (perspective makes a lane's width in the picture linear in the row), so a
    notch or a slanted end of the outline does not make one row count four times. None when
    the outline does not narrow (a zone seen from the side)."""
    widths = np.count_nonzero(outline, axis=1).astype(np.float64)
    rows = np.flatnonzero(widths)
    if len(rows) < 4:
        return None
    a, b = np.polyfit(rows, widths[rows], 1)
    fit = a * rows + b
    mean = float(widths[rows].mean())
    if fit.min() <= 0 or fit.max() < 1.1 * fit.min():
        return None
    out = np.ones(len(widths))
    out[rows] = np.clip((mean / fit) ** 2, 1.0, _MAX_PERSPECTIVE)
    return out


def extent_px(
    standing: np.ndarray,
    min_parts: int,
    row_weight: np.ndarray | None = None,
    settled: np.ndarray | None = None,
    whole: np.ndarray | None = None,
) -> int:
    """The picture area standing things cover (analysis pixels): the convex hull of each group
    of standing pixels (grouped across one-pixel gaps) that has at least `min_parts` of them,
    times `row_weight` at the group's lowest row (where it stands) if given — only for a group
    most of whose pixels are `settled` (if given): a car driving slowly in from the far end
    keeps a strip of its pixels changed for `static_s` as it passes, and counted four times
    that strip had the zone occupied, and the dwell dated, 5 s before the car stopped.
    Nor for a group that is the lesser part of a thing standing mostly elsewhere (`whole`:
    everything standing, every zone): the bottom rows of boxes standing in the zone behind
    reach a few pixels into this zone's far end, where the weight is largest, and counted
    four times they held this zone blocked for 81 s after what stood in it had left.

    A far bicycle is its wheels' rims and a thin frame: 40-60 standing pixels drawn over a
    28 x 12 picture. Counting pixels, it covered under 2 % of its zone and dropped out; its
    hull is the area an installer sees it take up. Scattered specks of noise or snow join no
    group big enough to count.
    """
    grown = cv2.dilate(standing, _JOIN)
    n, labels = cv2.connectedComponents(grown, connectivity=8)
    if n <= 1:
        return 0
    own = labels[standing > 0]
    counts = np.bincount(own, minlength=n)
    total = 0
    whole_labels: np.ndarray | None = None
    for i in np.nonzero(counts >= min_parts)[0]:
        if i == 0:
            continue
        ys, xs = np.nonzero((labels == i) & (standing > 0))
        pts = np.stack([xs, ys], axis=1).astype(np.int32)
        hull = cv2.convexHull(pts)
        # The hull's outline runs through pixel centres: add half a pixel all round.
        hull_px = max(len(pts), int(cv2.contourArea(hull) + 0.5 * cv2.arcLength(hull, True)))
        if row_weight is not None and (settled is None or 2 * settled[ys, xs].sum() >= len(ys)):
            if whole is not None:
                if whole_labels is None:
                    _, whole_labels = cv2.connectedComponents(
                        cv2.dilate(whole, _JOIN), connectivity=8
                    )
                k = int(np.bincount(whole_labels[ys, xs]).argmax())
                of_whole = np.count_nonzero((whole_labels == k) & (whole > 0))
            else:
                of_whole = len(ys)
            if 2 * len(ys) >= of_whole:
                hull_px = int(hull_px * row_weight[int(ys.max())])
        total += hull_px
    return total


def left_behind_before(state: ZoneState) -> float:
    """Pixels that began to differ up to this time are what earlier occupants left behind,
    never counted by perspective: those from before the zone last read free, and while the
    zone's occupant no longer matches its look (it has left), everything from before its last
    match — a patch of lane that differs where it stood is not a new arrival."""
    if state.mismatch_since is not None and state.present_at is not None:
        return max(state.freed_at, state.present_at)
    return state.freed_at


def zone_state(zone: FireLaneZone, mask: np.ndarray, scale: float) -> ZoneState:
    """A zone's state: `mask` is its ground outline (analysis pixels); objects are counted in
    it extended upwards by their height; the threshold is in full-frame pixels."""
    area = cv2.countNonZero(mask) / (scale * scale)
    thr = zone.min_area_px if zone.min_area_px is not None else zone.min_area_frac * area
    counted = reach_up(mask, object_reach_px(zone.polygon) * scale)
    return ZoneState(
        zone, counted, max(1.0, area), max(MIN_OBJECT_PX, thr), row_weight=row_weights(mask)
    )


def track_presence(
    s: ZoneState,
    t: float,
    image: np.ndarray,
    empty: np.ndarray,
    standing: np.ndarray,
    thr: float,
    enough: bool,
) -> None:
    """Follow whether the standing object is unchanged; sets `present_at`.

    The departure is when the object starts to move, not when the zone finally reads free:
    a car reversing out still covers its spot for seconds. Matching the object's pixels
    against their look while it stood dates the departure to one analysed frame. `empty` is
    the empty-lane reference at this frame's exposure: the object is present only while its
    place also still differs from that — a dark car at night looks like the dark lane in
    most of its pixels, and its look alone went on "matching" the lane it left.
    """
    own = cv2.bitwise_and(standing, s.mask)
    # Only something big enough to count (`enough`: the zone reads occupied now) is worth
    # remembering: a few leftover pixels would "match" for ever and keep the zone blocked.
    # The template keeps the object's pixels only (flat indices and their colours): indexing
    # whole pictures by a mask cost 10 ms a frame.
    flat = image.reshape(-1, image.shape[-1])
    if s.template is None or s.template_mask is None:
        if enough:
            _capture(s, t, flat, own)
        return
    idx = s.template_mask
    n = len(idx)
    if n == 0:
        s.template = None
        return
    seen = flat[idx].astype(np.float32)
    diff = np.abs(seen - s.template).max(axis=1)
    match = float(np.count_nonzero(diff < thr)) / n
    # Half the threshold: an object whose contrast thins out as the light changes still
    # differs from the lane by that much, the empty lane (noise < a quarter) does not.
    lane = empty.reshape(-1, empty.shape[-1])[idx]
    apart = np.abs(seen - lane).max(axis=1)
    differs = float(np.count_nonzero(apart > 0.5 * thr)) / n
    if match >= _PRESENT and differs >= _DIFFERS:
        s.mismatch_since = None
        # Follow slow light changes on the object itself.
        s.template += _TEMPLATE_ALPHA * (seen - s.template)
        if s.tentative:
            if s.matching_since is None:
                s.matching_since = t
            if t - s.matching_since < _CONFIRM_S:
                return
            s.tentative = False
        s.present_at = t
        return
    s.matching_since = None
    if s.mismatch_since is None:
        s.mismatch_since = t
    elif t - s.mismatch_since >= _RECAPTURE_S and enough:
        # Something else may stand there now (one car left, another stayed): learn its look,
        # to be confirmed by matching for `_CONFIRM_S`. Until then the departure stays the
        # old object's last match.
        _capture(s, t, flat, own, tentative=True)


def recently_present(s: ZoneState, t: float) -> bool:
    """Whether what blocked the zone still matched its look within `_RECAPTURE_S`."""
    return s.present_at is not None and t - s.present_at < _RECAPTURE_S


def _capture(
    s: ZoneState, t: float, flat: np.ndarray, own: np.ndarray, tentative: bool = False
) -> None:
    idx = np.flatnonzero(own)
    s.template, s.template_mask = flat[idx].astype(np.float32), idx
    s.mismatch_since, s.tentative, s.matching_since = None, tentative, None
    if not tentative:
        s.present_at = t


def step(
    s: ZoneState, cfg: FireLaneConfig, t: float, occupied: bool, arrival: float, dt: float
) -> Detection | None:
    """Advance the zone's clock by one analysed frame; return an event if one is due."""
    if occupied:
        s.free_since = None
        if s.since is None:
            s.since = arrival
        if not s.blocked and t - s.since >= cfg.dwell_s:
            s.blocked = True
            frac = s.share * s.area_px / s.threshold_px
            conf = min(1.0, 0.6 + 0.4 * min(1.0, frac / 3))
            return Detection(
                type="fire_lane_blocked",
                t=t,
                confidence=round(conf, 3),
                zone=s.zone.id,
                dwell_s=t - s.since,
            )
        return None
    if s.since is None:
        return None
    if s.free_since is None:
        s.free_since = t
    if not s.blocked:
        if t - s.free_since > GAP_S:
            _reset(s)
        return None
    if t - s.free_since >= cfg.clear_s:
        # Report when the lane became free: the object's departure, which the presence
        # tracking dates better than the moment the last pixel reverted.
        left = s.free_since
        if s.present_at is not None and s.present_at < left:
            left = min(left, s.present_at + dt)
        _reset(s)
        return Detection(
            type="fire_lane_cleared",
            t=left,
            confidence=0.9,
            zone=s.zone.id,
            confirmation_delay_s=max(0.0, t - left),
        )
    return None


def _reset(s: ZoneState) -> None:
    if s.free_since is not None:
        s.freed_at = s.free_since
    s.blocked = False
    s.since = s.free_since = s.present_at = s.mismatch_since = s.matching_since = None
    s.template = s.template_mask = None
    s.tentative = False
