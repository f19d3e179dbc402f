"""Shape tests a falling track must pass besides its fit: acceleration standing out of the
noise, descent at the noise's own scale, lone sightings at its ends, a uniform head, a turn."""

from __future__ import annotations

import math

import numpy as np

from devices.camera.config import FallingConfig
from devices.camera.drag_fit import rms


def _accel_se(ts: np.ndarray, ys: np.ndarray, coeffs: np.ndarray, noise_px: float) -> float:
    """Standard error of the fitted t² coefficient (residual RMS, floored at the noise)."""
    n = len(ts)
    resid = ys - np.polyval(coeffs, ts)
    s2 = max(float(resid @ resid) / max(1, n - 3), noise_px * noise_px)
    x = np.vander(ts - ts.mean(), 3)
    try:
        cov = np.linalg.inv(x.T @ x)
    except np.linalg.LinAlgError:
        return float("inf")
    return math.sqrt(max(s2 * float(cov[0, 0]), 1e-12))


def accel_sigma(ts: np.ndarray, ys: np.ndarray, coeffs: np.ndarray, noise_px: float) -> float:
    """Fitted acceleration divided by its standard error (residual RMS, floored at the noise)."""
    return float(coeffs[0] / _accel_se(ts, ys, coeffs, noise_px))


# An end point this many frame periods or more from its neighbour is a lone sighting.
LONE_GAP_FRAMES = 3.5


# At most this many points are peeled off each end as lone sightings (and at most a quarter).
LONE_MAX_PEEL = 4


# A step counts as descending over the fewest frames in which the fitted fall descends this
# many centroid noises (the difference of two points has √2 of the noise: three of those).
DESCENT_NOISES = 4.25
# ... and over at most this long: a compressed picture holds a small object for two or three
# frames, never for longer; a track that stands still longer in its last two thirds and then
# jumps is a light going out in one window and on in the one below it (set 1000, clip 1013: a
# window's flicker, level for half a second, 12 px down, level, 17 px down; passed unbounded).
DESCENT_HOLD_S = 0.1


def descends(
    ts: np.ndarray, ys: np.ndarray, coeffs: np.ndarray, fps: float, noise_px: float
) -> bool:
    """Whether the last two thirds of the track descend: 90 % of their steps go down.

    A step is taken over as many frames as the fall needs to descend `DESCENT_NOISES`
    centroid noises there (the fitted speed where the last two thirds begin; at most a third
    of their points and `DESCENT_HOLD_S`). Frame to frame, a small object at a far facade
    filmed at 30 frames a second moves down a pixel or less early in its fall, and a
    compressed picture moves it in steps (a block not updated for two frames, then moved by
    several pixels): a tenth of such steps are level or up by noise alone (style C, clip
    3107: a 7-px object's 1.4-s fall seen in 43 of 43 frames, turned down). Resting or
    rising after the fall still fails: over any span its points do not descend.
    """
    n = len(ys)
    i0 = (n - 1) // 3
    a, b, _ = coeffs
    step = (2 * a * ts[i0] + b) / fps  # px a frame where the last two thirds begin
    most = max(1, min((n - i0) // 3, math.floor(DESCENT_HOLD_S * fps)))
    need = DESCENT_NOISES * noise_px
    lag = most if step <= 0 else min(most, max(1, math.ceil(need / step)))
    return bool(np.mean(ys[i0 + lag :] - ys[i0 : n - lag] > 0) >= 0.9)


def peel(ts: np.ndarray, fps: float, from_start: bool) -> int:
    """How many end points are lone sightings: the points beyond the outermost gap of
    `LONE_GAP_FRAMES` or more, if there are at most two of them, repeatedly (a steady drift,
    then one point after a gap, then another after another gap)."""
    gaps = np.diff(ts) * fps
    if from_start:
        gaps = gaps[::-1]
    n, peeled = len(ts), 0
    limit = min(LONE_MAX_PEEL, n // 4)
    while True:
        # gaps[-1] is the step into the last point; find the outermost long gap within 2 steps.
        inner = gaps[: len(gaps) - peeled] if peeled else gaps
        k = next((j for j in (1, 2) if j <= len(inner) and inner[-j] >= LONE_GAP_FRAMES), None)
        if k is None or peeled + k > limit:
            return peeled
        peeled += k


def curvature_on_a_lone_end(
    ts: np.ndarray, ys: np.ndarray, g_px: float, cfg: FallingConfig, fps: float, noise_px: float
) -> bool:
    """Whether the fall's curvature rests on end points seen after gaps.

    Set 1200, clip 1215 (night, snow, gliding birds): a 4-pixel blob drifting down at constant
    speed for 0.55 s, then, 0.3 s later, one blob where gravity would have put a falling
    object, 40 px below: the parabola through the
    whole passed (1.05 g, 6.6 standard errors); without that point the acceleration is
    -0.09 g. An object seen in the frames in between would have been found there; a lone
    blob after a gap is as likely anything else. So end points after a gap must not carry
    the curvature: without them the acceleration must still lie in range, and stand out from
    its error by half the usual margin (the end points carry most of a short track's
    curvature, so a real fall loses some of its measure without one: set 1000, clip 1010, a
    12-point fall lost for 4 frames before its last sighting keeps 0.86 g at 5.2 standard
    errors). Up to two points beyond a gap are peeled off, and again, up to `LONE_MAX_PEEL`
    and a quarter of the points: set 1100, clip 1105, a leaf drifting down followed across
    0.44 s to one blob and 0.2 s on to another; set 1200, clip 1203, a steady drift, then
    three sightings 4, 4 and 3 frames apart, each lower than the last.
    """
    if len(ts) < 5:
        return False
    for from_start in (True, False):
        k = peel(ts, fps, from_start)
        if not k:
            continue
        tt, yy = (ts[k:], ys[k:]) if from_start else (ts[:-k], ys[:-k])
        if len(tt) < 4:
            return True
        coeffs = np.polyfit(tt, yy, 2)
        ratio = 2 * coeffs[0] / g_px
        if not cfg.accel_min <= ratio <= cfg.accel_max:
            return True
        if accel_sigma(tt, yy, coeffs, noise_px) < 0.5 * cfg.min_accel_sigma:
            return True
    return False


# A head this long (seconds, points) is enough to tell steady motion from the start of a fall.
UNIFORM_HEAD_S = 0.4
UNIFORM_HEAD_POINTS = 8
# How far below the lowest acceleration of a fall (standard errors) a steady head must bend.
UNIFORM_HEAD_SIGMA = 4.0


def uniform_head(
    ts: np.ndarray, ys: np.ndarray, g_px: float, storey_px: float, cfg: FallingConfig,
    noise_px: float,
) -> bool:
    """Whether the track begins as something moving steadily, so that its bend comes later,
    from something else.

    A fall bends from its first moment: at low speed drag is nil, so the start of a fall
    accelerates at gravity (a thrown object too), and an object at rest on the sill is not
    moving. Set 1300, clip 1307 (far facade, night, snow): a snowflake drifting down at a
    steady 58 px/s for 0.8 s (17 points on a straight line within 0.4 px), then, in 0.5 s, the
    blobs of three other flakes by a flickering window, each lower than the last: the parabola
    through the whole bent at 0.9 g, 0.725 confidence, a false alarm. Its first half on its own
    bends at 0.09 g, 6.6 standard errors under the fall's least (0.45 g). So: the points of the
    first half of the track (at least 0.4 s and 8 points) that lie on a straight line (within
    1 px, or 3 x the centroid noise), move (a quarter storey, at least 6 px) and bend less than
    `accel_min` by 4 standard errors mean something else. A real fall's head with the object at
    rest, or thrown up, is no straight line at speed (set 1000, clip 1005: rest, then a throw
    upwards: 2.6 px off the line).
    """
    head = ts <= max(UNIFORM_HEAD_S, ts[-1] / 2)
    tt, yy = ts[head], ys[head]
    if len(tt) < UNIFORM_HEAD_POINTS or tt[-1] < UNIFORM_HEAD_S:
        return False
    line = np.polyfit(tt, yy, 1)
    travel = float(line[0] * (tt[-1] - tt[0]))
    if travel < max(6.0, 0.25 * storey_px):
        return False
    if rms(yy - np.polyval(line, tt)) > max(1.0, 3 * noise_px):
        return False
    coeffs = np.polyfit(tt, yy, 2)
    ratio = 2 * coeffs[0] / g_px
    se = 2 * _accel_se(tt, yy, coeffs, noise_px) / g_px
    return ratio + UNIFORM_HEAD_SIGMA * se < cfg.accel_min


# Sideways acceleration that air drag cannot explain, as a share of gravity and in standard
# errors, that marks a track as something turning (see `turning`).
TURN_MAX_G = 0.5
TURN_SIGMA = 4.0


def turning(
    ts: np.ndarray, xs: np.ndarray, ycoeffs: np.ndarray, g_px: float, noise_px: float
) -> bool:
    """Whether the track changes its sideways speed as only something steering does.

    A falling object's sideways speed changes only by air drag, and drag slows it along its
    velocity: sideways by as much as it holds back the fall, times vx / vy (quadratic drag
    a = -k|v|v). A bird turning down over the top of an arc drops with a parabola's bend too
    (its height goes as R(1 - cos wt), so R w^2 of "gravity" at first), but its sideways speed
    drains into the dive: style C, clip 3012 (a near facade), a bird on a 207-px arc at 1.2
    rad/s seen over 0.54 s bent at 0.98 g while its sideways speed fell at 1.04 g — drag would
    allow nothing, the fall being at full gravity. So sideways acceleration beyond what drag
    explains by more than half of gravity, measured at 4 standard errors, is not a fall. No
    recorded detection of sets 1000–1400 (1,000 throws, every third point) is that.
    """
    if len(ts) < 6:
        return False
    xq = np.polyfit(ts, xs, 2)
    ax = 2 * float(xq[0])
    se = 2 * _accel_se(ts, xs, xq, noise_px)
    tm = float(ts.mean())
    vx = 2 * xq[0] * tm + xq[1]
    vy = 2 * ycoeffs[0] * tm + ycoeffs[1]
    if ax * vx > 0:
        unexplained = abs(ax)  # drag never speeds anything up
    else:
        deficit = max(0.0, g_px - 2 * float(ycoeffs[0]))
        unexplained = abs(ax) - deficit * abs(vx) / max(abs(vy), 1e-6)
    return unexplained > TURN_MAX_G * g_px and unexplained > TURN_SIGMA * se


# Air drag. A light object (a bag, a box of rubbish, a shoe) reaches a terminal speed of a few
# metres a second within a second of its release; seen over a whole fall, its height bends less
# than a parabola of gravity says (0.2-0.5 g over 2 s at a far facade: style C, clip 3001).
# Quadratic drag gives, from the moment tau its vertical speed was zero,
#     y(t) = y_r + (g / u^2) ln cosh(u (t - tau)),   u = g / v_terminal (1/s),
# which starts as gravity's parabola and straightens to the terminal speed; the sideways speed
# is slowed by the same drag, vx = vx_r / cosh(u (t - tau)), so
#     x(t) = x_r + vx_r gd(u (t - tau)) / u   (gd: the Gudermannian function).
# The fit is tried only when the parabola fails for bending too little, or scores too low.
