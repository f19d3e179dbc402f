"""Fire-lane occupation (消防通道占用): standing objects against an empty-lane reference."""

from __future__ import annotations

import math

import cv2
import numpy as np

from devices.camera.config import FireLaneConfig
from devices.camera.detection import Detection
from devices.camera.lanezone import (
    ZoneState,
    extent_px,
    left_behind_before,
    object_reach_px,
    recently_present,
    step,
    track_presence,
    zone_state,
)
from devices.camera.region import Crop, crop_for

# Dark scenes have less contrast: the threshold follows the lane brightness down to this floor.
_MIN_THRESHOLD = 8.0
_CONTRAST = 0.3
_NOISE_K = 4.0  # the threshold stays this many noise deviations above the sensor noise
_GHOST_RATIO = 2.0
# Resolution: the smallest zone keeps at least this many analysis pixels (a far zone's bicycle
# must not shrink to a few pixels), the whole window at most the budget unless that needs more.
_ZONE_PIXELS = 12_000
_BUDGET = 160_000
# A changed pixel's counter drops by two per unchanged frame instead of resetting: noise on a
# low-contrast object (a grey box on grey asphalt) must not restart its standing time, yet the
# counter tops out `_HOLD_S` above the standing mark so a spot reads free soon after it is.
_HOLD_S = 1.0
_DECAY = 2
# An exposure step: the level moves by this factor and holds (see `_exposure_step`); the
# changed runs that began up to `_STEP_BACK_S` before it is known are taken for its artefacts.
_STEP = 1.08
_STEP_BACK_S = 4.5
_BRIGHT = 200  # paint this bright bends the camera's response near clipping
# Copies of the reference, so that a zone something came to stand in gets back the lane as it
# was before the arrival (a minute back covers an approach and the standing time).
_SNAP_EVERY_S = 5.0
_SNAP_KEEP_S = 60.0
_SNAP_MARGIN_S = 1.0
# Standing pixels grouped with fewer than this many (full-frame) are specks, not an object.
_MIN_PARTS_PX = 6
# Something standing where a zone narrows counts by its perspective (see `extent_px`) once it
# has stood this long beyond `static_s`: by then what was driving in has stopped or gone.
_SETTLE_S = 3.0


def channel_max(image: np.ndarray) -> np.ndarray:
    """The largest of a colour image's channels per pixel (numpy's max over the last axis
    costs ten times as much: it was two thirds of the lane analysis)."""
    b, g, r = cv2.split(image)
    return cv2.max(cv2.max(b, g), r)


def _area(poly: list[tuple[float, float]]) -> float:
    a = np.asarray(poly, np.float64)
    return 0.5 * abs(
        float(np.dot(a[:, 0], np.roll(a[:, 1], 1)) - np.dot(a[:, 1], np.roll(a[:, 0], 1)))
    )


def lane_crop(cfg: FireLaneConfig, frame_size: tuple[int, int]) -> Crop:
    """Where and at what resolution the zones are analysed: the zones and the room above them
    that objects standing in them take up in the picture."""
    polys = [z.polygon for z in cfg.zones]
    raised = [[(x, y - object_reach_px(p)) for x, y in p] for p in polys]
    if cfg.detect_width:
        scale = cfg.detect_width / frame_size[0]
        return crop_for(polys + raised, frame_size, 0, 0.0, fixed_scale=scale)
    smallest = max(1.0, min(_area(p) for p in polys))
    need = min(1.0, math.sqrt(_ZONE_PIXELS / smallest))
    return crop_for(polys + raised, frame_size, _BUDGET, need)


class FireLaneDetector:
    """Finds objects that came to rest in a fire-lane polygon and times how long they stay."""

    def __init__(self, cfg: FireLaneConfig, frame_size: tuple[int, int]) -> None:
        self.cfg = cfg
        self.crop = lane_crop(cfg, frame_size)
        self.size = self.crop.size
        s = self.crop.scale
        self._kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3))
        self.zones: list[ZoneState] = [
            zone_state(z, self.crop.mask([z.polygon]), s) for z in cfg.zones
        ]
        # Where zones' upward reaches overlap (a near zone's reach covers the far one behind
        # it), a pixel belongs to the zone nearest below it: far zones claim first, and no
        # zone counts another zone's ground.
        grounds = [self.crop.mask([z.polygon]) for z in cfg.zones]
        claimed = np.zeros_like(grounds[0])
        order = sorted(
            range(len(cfg.zones)), key=lambda i: np.mean([y for _, y in cfg.zones[i].polygon])
        )
        for i in order:
            others = np.zeros_like(claimed)
            for j, g in enumerate(grounds):
                if j != i:
                    others |= g
            own = self.zones[i].mask & ~others & ~claimed
            self.zones[i].mask = own | grounds[i]
            claimed |= self.zones[i].mask
        self._union = np.zeros_like(self.zones[0].mask)
        for z in self.zones:
            self._union |= z.mask
        # Where each zone's reference is frozen while something stands in it: the zone with
        # its reach, grown by the two pixels the 3x3 neighbourhood range looks beyond it.
        self._holds = [cv2.dilate(z.mask, self._kernel, iterations=2) > 0 for z in self.zones]
        sparse = np.zeros_like(self._union, bool)
        sparse[1::4, 1::4] = True
        self._grid = sparse & (self._union > 0)
        self._bg: np.ndarray | None = None
        self._count = np.zeros(self.size[::-1], np.int16)
        self._first = np.zeros(self.size[::-1], np.float32)  # when each changed run began
        self._suspect = np.zeros(self.size[::-1], bool)
        self._gains: list[tuple[float, float]] = []
        self._snaps: list[tuple[float, np.ndarray]] = []  # (t, reference) a few seconds apart
        self._last_t: float | None = None
        self._gain = 1.0
        self._prev: np.ndarray | None = None
        self._noise: float | None = None
        self.static_mask = np.zeros(self.size[::-1], np.uint8)

    def process(
        self, t: float, image: np.ndarray, gain: float = 1.0, steady: bool = True
    ) -> list[Detection]:
        """Analyse one registered BGR analysis image (the zones' crop) taken at exposure `gain`
        relative to the reference.

        The reference is scaled to the frame's exposure, not the frame to the reference's:
        a brighter exposure clips bright paint at 255, and only a reference clipped the same
        way matches it; a frame divided back would differ there for good. `steady`: the camera
        has not moved in the last frames (shake disturbs the noise estimate and the counters).
        """
        # A light blur halves sensor noise (night, compression) while anything of three
        # pixels or more keeps its contrast.
        image = cv2.GaussianBlur(image, (3, 3), 0.8)
        if self._bg is None:
            self._bg = image.astype(np.float32) / gain
            self._last_t = t
            return []
        dt = max(1e-3, t - (self._last_t if self._last_t is not None else t))
        self._last_t = t
        self._gain = gain
        bg8 = cv2.convertScaleAbs(self._bg, alpha=gain)
        # The lane's brightness on the sparse grid (the median of every pixel cost 9 ms).
        inside = bg8[self._grid]
        level = float(np.median(inside)) if inside.size else 128.0
        thr = min(self.cfg.threshold, max(_MIN_THRESHOLD, _CONTRAST * level))
        # ... and rises above the sensor noise, measured frame to frame on a sparse grid of
        # the zones: what stands still (a parked car, the lane) does not change between two
        # frames, so it is the noise that shows — a car filling the zones does not inflate it.
        grid = self._grid
        if self._prev is not None and steady:
            spread = cv2.absdiff(image[grid], self._prev[grid]).max(axis=1)
            noise = 1.4826 * float(np.median(spread)) / np.sqrt(2.0)
            self._noise = noise if self._noise is None else 0.8 * self._noise + 0.2 * noise
        self._prev = image
        if self._noise is not None:
            thr = max(thr, _NOISE_K * self._noise)
        # Distance outside the background's 3x3 neighbourhood range: a sub-pixel misalignment
        # left by shake moves edges (the painted hatching) by less than a pixel and must not
        # count, a car body differs from every neighbour. The largest channel counts, so a
        # change of hue weighs as much as one of brightness.
        lo = cv2.erode(bg8, self._kernel)
        hi = cv2.dilate(bg8, self._kernel)
        # Near saturation the camera is not linear: bright paint clips at 255 and compression
        # smears a thin clipped line down by tens of levels. Where the reference (scaled to
        # this exposure) is clipped in a channel, that channel may read up to 40 lower.
        slack = np.where(bg8 >= 250, np.uint8(40), np.uint8(0))
        lo = cv2.subtract(lo, slack)
        diff = channel_max(cv2.max(cv2.subtract(image, hi), cv2.subtract(lo, image)))
        changed = diff > thr
        # Persistence: a counter per pixel that rises while the pixel differs from the empty
        # lane and falls (not resets) while it does not. Passing traffic never gets far; a
        # parked bicycle whose thin frame is missed in one frame of three still does.
        need = max(1, math.ceil(self.cfg.static_s / dt))
        cap = need + max(1, math.ceil(_HOLD_S / dt))
        started = changed & (self._count == 0)
        self._first[started] = t
        # Pixels that turn "changed" just as the exposure steps are the camera's non-linear
        # response (clipping, compression), not an object arriving: they are marked, never
        # counted, and learnt like free lane even while they stay changed. A step is known
        # only once the new level has held, so the mark reaches back to the runs that began
        # round it; a spike (a bright car passing lifts the measured exposure for a second)
        # marks nothing — it used to mark the dark car parking right behind it, which was
        # then learnt into the reference within seconds.
        if self._exposure_step(t, gain):
            # ... but only what an exposure change can explain: the lane's bright paint (the
            # response bends near clipping) and its edges (compression smears them), a couple
            # of pixels round. A tricycle that came to a stop on plain asphalt just as the
            # exposure stepped by 60 % was taken for artefacts whole and learnt in seconds.
            recent = changed & (self._first >= t - _STEP_BACK_S)
            self._suspect |= recent & self._explained(t, gain, thr)
        self._suspect[~changed & (self._count <= _DECAY)] = False
        # While the camera moves nothing loses standing time: a shaken frame can hide a dark
        # car as easily as it can fake an edge.
        decay = _DECAY if steady else 0
        self._count = np.where(
            changed, np.minimum(self._count + 1, cap), np.maximum(self._count - decay, 0)
        ).astype(np.int16)
        standing = (self._count >= need) & ~self._suspect
        self.static_mask = standing.astype(np.uint8) * 255
        # The empty-lane reference learns only where nothing is or was recently: a box that
        # stands for an hour is never absorbed, so the lane stays blocked while it stays.
        busy = cv2.dilate(
            ((self._count > 0) | changed).astype(np.uint8), self._kernel, iterations=2
        )
        busy[self._suspect] = 0
        # Nor anywhere in a zone while something stands in it. A dark car at night is within
        # the threshold of the dark lane in most of its pixels: learnt over its stay, they
        # made the reference part car, and once it left the lane differed from that reference
        # and held the zone blocked for good. The zone is compared with the lane as it was
        # before the arrival instead, so it reads free exactly when it looks empty again —
        # and never while anything of the object still differs from the empty lane.
        held = np.zeros_like(busy)
        for state, hold in zip(self.zones, self._holds, strict=True):
            if state.since is not None:
                held[hold] = 1
        busy |= held
        # Exposure artefacts are learnt fast, except in a held zone: at night a car's
        # headlights lift the measured exposure just as it arrives, and the car itself would
        # be learnt as an artefact.
        suspect = self._suspect & (held == 0)
        if suspect.any():
            fast = min(1.0, 10 * dt / self.cfg.background_s)
            suspect = suspect.astype(np.uint8) * 255
            cv2.accumulateWeighted(self._unexposed(image, gain), self._bg, fast, mask=suspect)
        # Nor pixels at or near clipping: their true value is unknown, and a reference learnt
        # from them would mismatch for good once the exposure changes.
        busy |= ((channel_max(image) >= 245) | (channel_max(bg8) >= 240)).astype(np.uint8)
        alpha = min(1.0, dt / self.cfg.background_s)
        seen = self._unexposed(image, gain)
        learn = cv2.bitwise_not(busy * 255)
        before = cv2.mean(self._bg, mask=learn)[:3]
        cv2.accumulateWeighted(seen, self._bg, alpha, mask=learn)
        if held.any() and min(before) > 1.0:
            # A held reference follows the free lane's drift in brightness: the measured
            # exposure wanders by 10-15 % over minutes at night, which a reference frozen
            # for a long stay would otherwise take for a change of the lane itself.
            after = cv2.mean(self._bg, mask=learn)[:3]
            k = [a / b for a, b in zip(after, before, strict=True)]
            scaled = cv2.multiply(self._bg, (*k, 1.0))
            cv2.copyTo(scaled, held, self._bg)
        self._snapshot(t)
        out = []
        s2 = self.crop.scale**2
        for state in self.zones:
            zone_static = cv2.bitwise_and(self.static_mask, state.mask)
            area = cv2.countNonZero(zone_static)
            if state.since is None and area and self._ghost(image, bg8, zone_static):
                area = 0
                zone_static[:] = 0
            # What stands there counts by the picture area it covers, not by its pixels that
            # differ: a far bicycle is a few rims and spokes over its own area.
            parts = max(3, round(_MIN_PARTS_PX * s2))
            if area >= parts:
                settled = (self._first <= t - self.cfg.static_s - _SETTLE_S) & (
                    self._first > left_behind_before(state)
                )
                area = max(
                    area,
                    extent_px(zone_static, parts, state.row_weight, settled, self.static_mask),
                )
            state.share = area / s2 / state.area_px
            # Hysteresis: a blocked zone reads free only below half its threshold while what
            # blocked it was still seen lately; once it has gone, what is left must count in
            # full. The bottom rows of boxes standing in the far zone behind reach 4 px into
            # a nearer zone's outline: 60 % of its threshold, which held that zone blocked
            # for 81 s after the e-bike that stood in it had left.
            half = state.blocked and recently_present(state, t)
            need = state.threshold_px * (0.5 if half else 1.0)
            occupied = area / s2 >= need
            if state.since is not None or occupied:
                track_presence(state, t, image, bg8, zone_static, thr, occupied)
            # ... and not while what occupies it still looks as it did: a far tricycle whose
            # few changed pixels thin out as the light changes is still there. Before the
            # block too, or the dwell clock restarts: a far bicycle in snow, whose picture
            # area dipped under the threshold for 46 s while its look matched throughout,
            # was dated from its second coming, 117 s late.
            if state.since is not None and state.present_at == t:
                occupied = True
            arrival = t - self.cfg.static_s
            if occupied and state.since is None:
                firsts = self._first[zone_static > 0]
                if firsts.size:
                    arrival = float(np.median(firsts))
            if state.since is None and occupied:
                # What the reference learnt since the arrival (the object's pixels within the
                # threshold, or taken for exposure artefacts) is undone.
                self._restore(state, arrival)
            det = step(state, self.cfg, t, occupied, arrival, dt)
            if det is not None:
                out.append(det)
        return out

    @staticmethod
    def _unexposed(image: np.ndarray, gain: float) -> np.ndarray:
        """The image at the reference's exposure (float), or as it is when that is 1."""
        if abs(gain - 1.0) < 1e-3:
            return image
        return cv2.addWeighted(image, 1.0 / gain, image, 0.0, 0.0, dtype=cv2.CV_32F)

    def _snapshot(self, t: float) -> None:
        """Keep a copy of the reference every `_SNAP_EVERY_S` for the last `_SNAP_KEEP_S`."""
        assert self._bg is not None
        if self._snaps and t - self._snaps[-1][0] < _SNAP_EVERY_S:
            return
        self._snaps.append((t, self._bg.astype(np.float16)))
        while self._snaps and self._snaps[0][0] < t - _SNAP_KEEP_S:
            self._snaps.pop(0)

    def _restore(self, state: ZoneState, arrival: float) -> None:
        """Put back the zone's reference as it was before `arrival`."""
        assert self._bg is not None
        before = [bg for ts, bg in self._snaps if ts <= arrival - _SNAP_MARGIN_S]
        snap = before[-1] if before else (self._snaps[0][1] if self._snaps else None)
        if snap is not None:
            hold = self._holds[self.zones.index(state)]
            self._bg[hold] = snap[hold].astype(np.float32)

    def _explained(self, t: float, gain: float, thr: float) -> np.ndarray:
        """Where an exposure step can leave artefacts: the lane's bright paint and its edges,
        judged on the reference as it was before the step (what the step's artefacts taught
        it since would make new edges inside an arriving object, and spread the mark over it
        frame by frame)."""
        assert self._bg is not None
        before = [bg for ts, bg in self._snaps if ts <= t - _STEP_BACK_S - _SNAP_MARGIN_S]
        ref = before[-1].astype(np.float32) if before else self._bg
        ref8 = cv2.convertScaleAbs(ref, alpha=gain)
        bright = cv2.max(channel_max(ref8), channel_max(cv2.convertScaleAbs(ref)))
        spread = cv2.subtract(cv2.dilate(ref8, self._kernel), cv2.erode(ref8, self._kernel))
        near = ((bright >= _BRIGHT) | (channel_max(spread) >= thr)).astype(np.uint8)
        return cv2.dilate(near, self._kernel, iterations=2) > 0

    def _exposure_step(self, t: float, gain: float) -> bool:
        """Whether the exposure has settled more than 8 % away from its level of 5–7 s ago
        (a median over 2 s, which a passing spike does not move): the medians of the last
        1.5 s and of the 1.5 s before are both beyond it, on the same side — a spike would
        have to last more than 1.5 s to pass for a step."""
        self._gains.append((t, gain))
        while self._gains and self._gains[0][0] < t - 7.0:
            self._gains.pop(0)
        old = [g for ts, g in self._gains if ts <= t - 5.0]
        mid = [g for ts, g in self._gains if t - 3.0 <= ts < t - 1.5]
        new = [g for ts, g in self._gains if ts >= t - 1.5]
        if not (old and mid and new):
            return False
        o, a, b = (float(np.median(x)) for x in (old, mid, new))
        up = a > _STEP * o and b > _STEP * o
        down = a * _STEP < o and b * _STEP < o
        return up or down

    def _ghost(self, image: np.ndarray, bg8: np.ndarray, region: np.ndarray) -> bool:
        # A car that was parked when the analyzer started is part of the first reference;
        # when it leaves, the empty lane looks "changed". A ghost's inside now looks like the
        # lane just around it, while the reference's inside does not; an arriving object is
        # the other way round. Medians of colour, so painted markings (a minority of pixels
        # inside and around) do not decide it. A ghost is learnt as empty lane at once.
        if cv2.countNonZero(region) < 20:
            return False
        # Judge and absorb the whole changed blob the standing pixels belong to: pixels a
        # departing car uncovered last have not reached the standing time yet.
        changed = ((self._count > 0) & (self._union > 0)).astype(np.uint8)
        _, labels = cv2.connectedComponents(changed, connectivity=8)
        ids = np.unique(labels[region > 0])
        blob = np.isin(labels, ids[ids > 0]).astype(np.uint8)
        outer = cv2.dilate(blob, self._kernel, iterations=3)
        ring = (outer > 0) & (blob == 0)
        inside = blob > 0
        if ring.sum() < 20:
            return False

        def gap(picture: np.ndarray) -> float:
            a = np.median(picture[inside].reshape(-1, 3), axis=0)
            b = np.median(picture[ring].reshape(-1, 3), axis=0)
            return float(np.abs(a.astype(np.float64) - b).max())

        now, before = gap(image), gap(bg8)
        if not (before > _GHOST_RATIO * now and before > 2 * _MIN_THRESHOLD):
            return False
        assert self._bg is not None
        grown = outer > 0
        self._bg[grown] = image[grown].astype(np.float32) / self._gain
        self._count[grown] = 0
        return True

    def polygon(self, zone_id: str) -> list[tuple[float, float]]:
        """The polygon of a zone, full-frame pixels."""
        for s in self.zones:
            if s.zone.id == zone_id:
                return list(s.zone.polygon)
        raise KeyError(zone_id)
