"""The fall-with-drag fit: a light object (a bag, a box) whose fall air drag slows towards a
terminal speed, fitted in y(t) and sideways (physics.py judges it as it judges a parabola)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

G = 9.81  # m/s²


def rms(residual: np.ndarray) -> float:
    """Root mean square of fit residuals."""
    return float(np.sqrt(np.mean(residual * residual)))


# Things with a lower terminal speed than this (leaves, paper, feathers) flutter and are no
# danger; a higher bound on u would let a steady glide pass for the end of a drag fall.
DRAG_MIN_VT = 4.0  # m/s, so u <= 9.81 / 4 per second
# The release (vertical speed zero) must lie at most this long before the first sighting: the
# track must see the speed grow from near rest, or a steady glide is a drag fall's straight end.
DRAG_MAX_LEAD_S = 0.5
# The drag curve's bend must stand out this many times `min_accel_sigma` (see `_drag`).
DRAG_SIGMA_FACTOR = 2.0
# Speed at the first sighting, at most this share of the terminal speed (see `_drag`): the
# track must see the fall go from gravity's pull to drag's hold.
DRAG_MAX_START = 0.5
# The drag searched: u from a near-parabola to the highest fitted gravity over DRAG_MIN_VT.
_DRAG_U_MIN, _DRAG_U_MAX = G / DRAG_MIN_VT / 8, 1.8 * G / DRAG_MIN_VT


@dataclass(frozen=True)
class DragFit:
    ratio: float  # fitted gravity / gravity
    sigma: float  # the bend beyond a straight line, in its standard errors
    rms: float
    u: float
    tau: float
    y_r: float

    def x_basis(self, ts: np.ndarray) -> np.ndarray:
        z = self.u * (ts - self.tau)
        return 2 * np.arctan(np.tanh(z / 2)) / self.u


def lncosh(z: np.ndarray) -> np.ndarray:
    a = np.abs(z)
    return a + np.log1p(np.exp(-2 * a)) - math.log(2.0)


def drag_fit(
    ts: np.ndarray, ys: np.ndarray, g_px: float, fps: float, noise_px: float
) -> DragFit | None:
    """The best fall with quadratic drag through y(t) (see `DRAG_MIN_VT`), or None.

    Gravity is fitted (its ratio to the real one is judged like the parabola's), the drag
    (u) and the release time (tau) are searched on a grid: u up to g / `DRAG_MIN_VT`, tau from
    `DRAG_MAX_LEAD_S` before the first sighting to the middle of the track.
    """
    n = len(ts)
    if n < 6:
        return None
    yc = ys - ys.mean()

    def search(us: np.ndarray, taus: np.ndarray) -> tuple[float, float, float, float, np.ndarray]:
        u = us[:, None, None]
        z = u * (ts[None, None, :] - taus[None, :, None])
        h = (lncosh(z) / (u * u)).reshape(-1, n)  # (combos, n)
        hc = h - h.mean(axis=1, keepdims=True)
        hy = hc @ yc
        gfit = hy / np.maximum(np.einsum("ij,ij->i", hc, hc), 1e-12)
        sse = yc @ yc - gfit * hy
        best = int(np.argmin(sse))
        k_u, k_tau = divmod(best, len(taus))
        return float(sse[best]), float(gfit[best]), float(us[k_u]), float(taus[k_tau]), h[best]

    # Coarse (an eighth of the range of u, two frames of tau), then round the best (a fifth).
    coarse = 2.0 / fps
    du = (_DRAG_U_MAX - _DRAG_U_MIN) / 7
    _, _, u0, tau0, _ = search(
        np.linspace(_DRAG_U_MIN, _DRAG_U_MAX, 8),
        np.arange(-DRAG_MAX_LEAD_S, ts[-1] / 2 + 1e-9, coarse),
    )
    sse, gb, u_best, tau, hb = search(
        np.clip(u0 + du * np.linspace(-0.8, 0.8, 5), _DRAG_U_MIN, _DRAG_U_MAX),
        np.clip(tau0 + coarse * np.linspace(-0.8, 0.8, 5), -DRAG_MAX_LEAD_S, ts[-1] / 2),
    )
    if gb <= 0:
        return None
    rms = math.sqrt(max(sse, 0.0) / n)
    # The bend beyond a straight line: the drag curve's own curvature as a regressor beside
    # a free line (its start speed free too), measured like the parabola's acceleration.
    basis = np.column_stack([np.ones(n), ts, hb])
    coef, *_ = np.linalg.lstsq(basis, ys, rcond=None)
    resid = ys - basis @ coef
    s2 = max(float(resid @ resid) / max(1, n - 4), noise_px * noise_px)
    try:
        cov = np.linalg.inv(basis.T @ basis)
    except np.linalg.LinAlgError:
        return None
    sigma = float(coef[2]) / math.sqrt(max(s2 * float(cov[2, 2]), 1e-12))
    y_r = float(ys.mean() - gb * hb.mean())
    return DragFit(gb / g_px, sigma, rms, u_best, tau, y_r)


def drag_path(
    p: np.ndarray, ts: np.ndarray, substeps: int
) -> tuple[np.ndarray, np.ndarray]:
    """x(t), y(t) of a point mass under gravity p[5] and quadratic drag p[4] (a = -k|v|v),
    from (x0, y0, vx0, vy0) = p[:4] at t = 0, sampled at `ts` (midpoint steps)."""
    x, y, vx, vy, k, g = (float(v) for v in p)
    n = len(ts)
    xo, yo = np.empty(n), np.empty(n)
    t = 0.0
    for i in range(n):
        span = float(ts[i]) - t
        m = max(1, math.ceil(span * substeps - 1e-9)) if span > 0 else 0
        if m:
            h = span / m
            for _ in range(m):
                sp = math.hypot(vx, vy)
                hx, hy = vx - 0.5 * h * k * sp * vx, vy + 0.5 * h * (g - k * sp * vy)
                x, y = x + h * hx, y + h * hy
                sp = math.hypot(hx, hy)
                vx, vy = vx - h * k * sp * hx, vy + h * (g - k * sp * hy)
            t = float(ts[i])
        xo[i], yo[i] = x, y
    return xo, yo


def drag_2d(
    ts: np.ndarray, xs: np.ndarray, ys: np.ndarray, p0: np.ndarray, fps: float
) -> tuple[np.ndarray, float, float]:
    """Least squares of the two-dimensional drag fall from `p0` (a few damped Gauss-Newton
    steps): the parameters and the RMS residuals of x and of y."""
    substeps = max(2, round(100 / fps))
    p = p0.astype(np.float64).copy()
    obs = np.concatenate([xs, ys])

    def resid(q: np.ndarray) -> np.ndarray:
        q = q.copy()
        q[4] = max(q[4], 0.0)
        xo, yo = drag_path(q, ts, substeps)
        return np.concatenate([xo, yo]) - obs

    r = resid(p)
    cost = float(r @ r)
    lam = 1e-3
    for _ in range(8):
        eps = np.array([0.1, 0.1, 0.5, 0.5, max(1e-6, 0.02 * abs(p[4])), max(0.5, 0.01 * p[5])])
        jac = np.empty((len(r), 6))
        for j in range(6):
            q = p.copy()
            q[j] += eps[j]
            jac[:, j] = (resid(q) - r) / eps[j]
        jtj = jac.T @ jac
        step = np.linalg.lstsq(jtj + lam * np.diag(np.diag(jtj) + 1e-12), -jac.T @ r, rcond=None)[0]
        q = p + step
        q[4] = max(q[4], 0.0)
        rq = resid(q)
        cq = float(rq @ rq)
        if cq < cost:
            p, r, cost, lam = q, rq, cq, lam * 0.3
            if cost - cq < 1e-3 * cost:
                break
        else:
            lam *= 10
    n = len(ts)
    return p, rms(r[:n]), rms(r[n:])
