"""A pinhole camera with pitch, yaw, roll and barrel distortion, projecting 3-D metres to pixels."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

WIDTH, HEIGHT = 1280, 720


def _rot(pitch: float, yaw: float, roll: float) -> np.ndarray:
    """World → camera rotation; the camera looks along world −Z, image y down, x right."""
    # Base: camera x = world X, camera y = −world Y, camera z (forward) = −world Z.
    base = np.array([[1.0, 0, 0], [0, -1.0, 0], [0, 0, -1.0]])
    cp, sp = math.cos(pitch), math.sin(pitch)
    cy, sy = math.cos(yaw), math.sin(yaw)
    cr, sr = math.cos(roll), math.sin(roll)
    # Pitch up: forward turns towards +Y. Rotations applied in camera coordinates.
    rx = np.array([[1, 0, 0], [0, cp, sp], [0, -sp, cp]])
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rz = np.array([[cr, -sr, 0], [sr, cr, 0], [0, 0, 1]])
    return rz @ rx @ ry @ base


@dataclass(frozen=True)
class Camera:
    """Intrinsics f (px), principal point at the centre, k1 barrel term; extrinsics in metres."""

    f: float
    position: tuple[float, float, float]
    pitch: float  # radians, positive looks up
    yaw: float = 0.0
    roll: float = 0.0
    k1: float = 0.0  # negative: barrel

    @property
    def rotation(self) -> np.ndarray:
        """World → camera rotation matrix."""
        return _rot(self.pitch, self.yaw, self.roll)

    def project(self, pts: np.ndarray) -> np.ndarray:
        """N×3 world points → N×2 pixel positions (points behind the camera give NaN)."""
        p = (np.asarray(pts, np.float64) - np.asarray(self.position)) @ self.rotation.T
        z = np.where(p[:, 2] > 1e-6, p[:, 2], np.nan)
        xn, yn = p[:, 0] / z, p[:, 1] / z
        k = 1.0 + self.k1 * (xn * xn + yn * yn)
        return np.stack([WIDTH / 2 + self.f * xn * k, HEIGHT / 2 + self.f * yn * k], axis=1)

    def point(self, x: float, y: float, z: float) -> tuple[float, float]:
        """One world point → pixel."""
        u, v = self.project(np.array([[x, y, z]]))[0]
        return float(u), float(v)

    def px_per_m(self, x: float, y: float, z: float) -> float:
        """Apparent size of one metre (vertical) at a world point."""
        a = self.project(np.array([[x, y - 0.5, z], [x, y + 0.5, z]]))
        return float(np.hypot(*(a[1] - a[0])))

    def outline(self, corners: list[tuple[float, float, float]], steps: int = 6) -> np.ndarray:
        """A planar polygon's picture, edges subdivided so the distortion bends them."""
        pts = []
        n = len(corners)
        for i in range(n):
            a, b = np.asarray(corners[i]), np.asarray(corners[(i + 1) % n])
            for s in range(steps):
                pts.append(a + (b - a) * s / steps)
        return self.project(np.array(pts))
