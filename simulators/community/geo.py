"""A flat local frame (metres east/north of an anchor) and the few polygon operations we need."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

Point = tuple[float, float]

# Metres per degree of latitude; good to well under a metre over a compound's few hundred metres.
_M_PER_DEG_LAT = 111_320.0


class LocalFrame:
    """Converts between local (x east, y north) metres and WGS-84 degrees around an anchor."""

    def __init__(self, lat: float, lon: float) -> None:
        self.lat0 = lat
        self.lon0 = lon
        self._m_per_deg_lon = _M_PER_DEG_LAT * math.cos(math.radians(lat))

    def to_latlon(self, point: Point) -> tuple[float, float]:
        """Local metres → (lat, lon) degrees, rounded to ~1 cm."""
        x, y = point
        return (round(self.lat0 + y / _M_PER_DEG_LAT, 7),
                round(self.lon0 + x / self._m_per_deg_lon, 7))

    def to_local(self, lat: float, lon: float) -> Point:
        """(lat, lon) degrees → local metres."""
        return ((lon - self.lon0) * self._m_per_deg_lon, (lat - self.lat0) * _M_PER_DEG_LAT)


def contains(polygon: Sequence[Point], point: Point) -> bool:
    """Even-odd ray casting; points exactly on an edge may fall either way."""
    x, y = point
    inside = False
    n = len(polygon)
    for i in range(n):
        x1, y1 = polygon[i]
        x2, y2 = polygon[(i + 1) % n]
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


def centroid(polygon: Sequence[Point]) -> Point:
    """Mean of the corners: enough for the convex shapes a compound map is made of."""
    return (sum(p[0] for p in polygon) / len(polygon), sum(p[1] for p in polygon) / len(polygon))


def random_point(polygon: Sequence[Point], rng: random.Random) -> Point:
    """A uniformly random point inside the polygon (rejection sampling in its bounding box)."""
    xs = [p[0] for p in polygon]
    ys = [p[1] for p in polygon]
    for _ in range(1000):
        candidate = (rng.uniform(min(xs), max(xs)), rng.uniform(min(ys), max(ys)))
        if contains(polygon, candidate):
            return candidate
    return centroid(polygon)


def distance(a: Point, b: Point) -> float:
    """Euclidean distance in metres."""
    return math.hypot(b[0] - a[0], b[1] - a[1])


def step_towards(origin: Point, target: Point, metres: float) -> Point:
    """Move up to `metres` from origin along the straight line to target."""
    gap = distance(origin, target)
    if gap <= metres or gap == 0:
        return target
    f = metres / gap
    return (origin[0] + (target[0] - origin[0]) * f, origin[1] + (target[1] - origin[1]) * f)
