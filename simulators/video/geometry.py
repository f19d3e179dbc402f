"""Randomised scene geometry: a facade or a ground plane mapped into the image by a homography.

Everything here is measured in metres on the facade (u along it, z up from the ground) or on the
ground (u along the lane, v across it). Renderers of either style project these into the frame;
the installer's camera config is derived from the same geometry, with the errors an installer
makes (a few pixels) and without anything an installer cannot see (no curtain masks).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property

import cv2
import numpy as np

W, H = 1280, 720
WINDOW_SILL_M, WINDOW_TOP_M = 0.9, 2.4


def _homography(src: list[tuple[float, float]], dst: list[tuple[float, float]]) -> np.ndarray:
    return cv2.getPerspectiveTransform(np.float32(src), np.float32(dst)).astype(np.float64)


def project(h: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Apply homography h to an (n, 2) array of points."""
    p = np.asarray(pts, np.float64).reshape(-1, 2)
    q = np.c_[p, np.ones(len(p))] @ h.T
    return q[:, :2] / q[:, 2:3]


@dataclass(frozen=True)
class Tree:
    """A tree in front of the facade, in image pixels: crown circles and the sway amplitude."""

    trunk_x: float
    ground_y: float
    crowns: tuple[tuple[float, float, float], ...]  # (x, y, r)
    sway_px: float


@dataclass(frozen=True)
class FacadeGeometry:
    """A building face seen by a camera: size in metres and its four corners in the image."""

    floors: int
    columns: int
    storey_m: float
    column_m: float
    corners: tuple[tuple[float, float], ...]  # bottom-left, bottom-right, top-right, top-left
    trees: tuple[Tree, ...] = field(default_factory=tuple)

    @property
    def width_m(self) -> float:
        """Facade width, metres."""
        return self.columns * self.column_m

    @property
    def height_m(self) -> float:
        """Facade height up to the roof slab, metres."""
        return self.floors * self.storey_m

    @cached_property
    def h(self) -> np.ndarray:
        """Homography facade metres (u, z) → image pixels."""
        wm, hm = self.width_m, self.height_m
        return _homography([(0, 0), (wm, 0), (wm, hm), (0, hm)], list(self.corners))

    def to_image(self, u: float, z: float) -> tuple[float, float]:
        """Image position of facade point (u, z)."""
        x, y = project(self.h, np.array([[u, z]]))[0]
        return float(x), float(y)

    def px_per_m(self, u: float, z: float) -> float:
        """Local vertical scale, pixels per metre, at facade point (u, z)."""
        a = project(self.h, np.array([[u, z - 0.5], [u, z + 0.5]]))
        return float(np.hypot(*(a[1] - a[0])))

    def storey_px(self) -> float:
        """Height of the lowest storey in the middle of the facade, pixels."""
        return self.px_per_m(self.width_m / 2, self.storey_m / 2) * self.storey_m

    def window(self, floor: int, column: int) -> tuple[float, float, float, float]:
        """(u0, z0, u1, z1) of a window, metres: sill and lintel of storey `floor` (1 = ground)."""
        base = (floor - 1) * self.storey_m
        u0 = column * self.column_m + 0.3 * self.column_m
        return u0, base + WINDOW_SILL_M, u0 + 0.4 * self.column_m, base + WINDOW_TOP_M

    def window_quad(self, floor: int, column: int) -> np.ndarray:
        """The window's four image corners (float, clockwise from bottom-left)."""
        u0, z0, u1, z1 = self.window(floor, column)
        return project(self.h, np.array([[u0, z0], [u1, z0], [u1, z1], [u0, z1]]))

    def floor_of(self, z: float) -> int:
        """Storey (1 = ground) that facade height z lies in; the roof counts as the top storey."""
        return max(1, min(self.floors, int(z // self.storey_m) + 1))

    def slab_lines(self) -> list[tuple[float, float, float, float]]:
        """Slab lines bottom to top (the last one is the roof), image pixels."""
        out = []
        for k in range(self.floors + 1):
            (x1, y1), (x2, y2) = project(
                self.h, np.array([[0, k * self.storey_m], [self.width_m, k * self.storey_m]])
            )
            out.append((float(x1), float(y1), float(x2), float(y2)))
        return out

    def polygon(self) -> list[tuple[float, float]]:
        """Facade outline, image pixels, clockwise from top-left."""
        bl, br, tr, tl = self.corners
        return [tl, tr, br, bl]


def _rotate(pts: list[tuple[float, float]], centre: tuple[float, float], deg: float) -> list:
    a = math.radians(deg)
    c, s = math.cos(a), math.sin(a)
    cx, cy = centre
    return [(cx + c * (x - cx) - s * (y - cy), cy + s * (x - cx) + c * (y - cy)) for x, y in pts]


def sample_facade(rng: np.random.Generator, storey_px: float | None = None) -> FacadeGeometry:
    """A random facade: storey 20–80 px, 5–30 floors, keystone tilt, slight roll, trees."""
    sp = float(
        storey_px if storey_px is not None else math.exp(rng.uniform(math.log(20), math.log(80)))
    )
    storey_m = float(rng.uniform(2.8, 3.3))
    k = sp / storey_m  # px per metre at the bottom
    keystone = float(rng.uniform(0.8, 1.0))  # top width / bottom width (camera looking up)
    # Vertical foreshortening grows with the keystone: the top storeys shrink in proportion.
    usable = H - 60 - 40
    floors_fit = int(usable / (sp * (0.5 + 0.5 * keystone)))
    floors = int(max(4, min(floors_fit, rng.integers(5, 31))))
    column_m = float(rng.uniform(2.6, 4.2))
    max_cols = int(0.9 * W / (column_m * k))
    columns = int(max(2, min(max_cols, rng.integers(4, 13))))
    wb = columns * column_m * k
    height_px = floors * sp * (0.5 + 0.5 * keystone)
    yaw = float(rng.uniform(-0.08, 0.08))  # one side a little further away than the other
    cx = float(rng.uniform(wb / 2 + 10, W - wb / 2 - 10)) if wb < W - 20 else W / 2
    yb = float(rng.uniform(max(height_px + 40, H - 170), H - 25))
    hl, hr = height_px * (1 + yaw), height_px * (1 - yaw)
    top = keystone * wb
    lean = float(rng.uniform(-0.04, 0.04)) * wb
    corners = [
        (cx - wb / 2, yb + yaw * 12),
        (cx + wb / 2, yb - yaw * 12),
        (cx + top / 2 + lean, yb - hr),
        (cx - top / 2 + lean, yb - hl),
    ]
    corners = _rotate(corners, (cx, yb), float(rng.uniform(-2.0, 2.0)))
    # Keep the roof below the top edge: the installer masks the sky above it.
    lift = min(0.0, min(y for _, y in corners) - 25)
    corners = [(x, y - lift) for x, y in corners]
    geo = FacadeGeometry(floors, columns, storey_m, column_m, tuple(corners))
    return FacadeGeometry(floors, columns, storey_m, column_m, tuple(corners), _trees(rng, geo))


def _trees(rng: np.random.Generator, geo: FacadeGeometry) -> tuple[Tree, ...]:
    """Zero to three trees standing in front of the lower storeys."""
    out = []
    bl, br = geo.corners[0], geo.corners[1]
    sp = geo.storey_px()
    for _ in range(int(rng.integers(0, 4))):
        x = float(rng.uniform(bl[0] - 0.1 * (br[0] - bl[0]), br[0] + 0.1 * (br[0] - bl[0])))
        ground = float(min(H - 2, max(bl[1], br[1]) + rng.uniform(5, 30)))
        height = float(rng.uniform(1.5, 3.5) * sp)
        r = float(rng.uniform(0.35, 0.6) * height)
        crowns = tuple(
            (
                x + float(rng.uniform(-0.6, 0.6) * r),
                ground - height + float(rng.uniform(-0.4, 0.4) * r),
                r * float(rng.uniform(0.45, 0.8)),
            )
            for _ in range(int(rng.integers(4, 9)))
        )
        out.append(Tree(x, ground, crowns, float(rng.uniform(3, 12))))
    return tuple(out)


def tree_outline(tree: Tree, margin: float = 4.0, vertices: int = 150) -> list[tuple[float, float]]:
    """What an installer traces round a tree: crown and trunk, swaying reach included.

    Deliberately fine-grained (about `vertices` points): tracing tools produce such outlines.
    """
    x0 = int(min(c[0] - c[2] for c in tree.crowns) - tree.sway_px - margin - 4)
    x1 = int(max(c[0] + c[2] for c in tree.crowns) + tree.sway_px + margin + 4)
    y0 = int(min(c[1] - c[2] for c in tree.crowns) - margin - 4)
    y1 = int(tree.ground_y + margin + 4)
    canvas = np.zeros((y1 - y0 + 1, x1 - x0 + 1), np.uint8)
    for cx, cy, r in tree.crowns:
        for dx in (-tree.sway_px, 0.0, tree.sway_px):
            cv2.circle(canvas, (int(cx + dx - x0), int(cy - y0)), int(r + margin), 255, -1)
    trunk_w = max(3, int(0.08 * (y1 - y0)))
    cv2.rectangle(
        canvas,
        (int(tree.trunk_x - trunk_w - margin - x0), int(min(c[1] for c in tree.crowns) - y0)),
        (int(tree.trunk_x + trunk_w + margin - x0), y1 - y0),
        255,
        -1,
    )
    contours, _ = cv2.findContours(canvas, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    contour = max(contours, key=cv2.contourArea)[:, 0, :]
    step = max(1, len(contour) // vertices)
    return [(float(x + x0), float(y + y0)) for x, y in contour[::step]]


# ---------------------------------------------------------------------------------------------
# Fire lanes: a ground plane seen obliquely, zones near and far.


@dataclass(frozen=True)
class LaneGeometry:
    """A straight fire lane on the ground: length and width in metres, four image corners."""

    length_m: float
    width_m: float
    corners: tuple[tuple[float, float], ...]  # near-left, near-right, far-right, far-left
    zone_edges_m: tuple[float, ...]  # u positions splitting the lane into zones, near → far

    @cached_property
    def h(self) -> np.ndarray:
        """Homography ground metres (u along, v across) → image pixels."""
        lm, wm = self.length_m, self.width_m
        return _homography([(0, 0), (0, wm), (lm, wm), (lm, 0)], list(self.corners))

    def to_image(self, u: float, v: float) -> tuple[float, float]:
        """Image position of ground point (u, v)."""
        x, y = project(self.h, np.array([[u, v]]))[0]
        return float(x), float(y)

    def px_per_m(self, u: float, v: float) -> float:
        """Image pixels per metre across the lane at ground point (u, v)."""
        a = project(self.h, np.array([[u, v - 0.5], [u, v + 0.5]]))
        return float(np.hypot(*(a[1] - a[0])))

    def along_dir(self, u: float, v: float) -> tuple[float, float]:
        """Unit image direction of +u (along the lane) at (u, v)."""
        a = project(self.h, np.array([[u - 0.5, v], [u + 0.5, v]]))
        d = a[1] - a[0]
        n = float(np.hypot(*d)) or 1.0
        return float(d[0] / n), float(d[1] / n)

    def zones(self) -> list[tuple[str, float, float]]:
        """(id, u0, u1) per zone, near first."""
        edges = (0.0, *self.zone_edges_m, self.length_m)
        return [(f"FL-{i + 1}", edges[i], edges[i + 1]) for i in range(len(edges) - 1)]

    def zone_polygon(self, u0: float, u1: float) -> list[tuple[float, float]]:
        """Zone outline in the image."""
        pts = project(self.h, np.array([[u0, 0], [u0, self.width_m], [u1, self.width_m], [u1, 0]]))
        return [(float(x), float(y)) for x, y in pts]

    def zone_distance(self, u0: float, u1: float) -> str:
        """ "near" or "far" by the apparent size of the zone centre (pixels per metre)."""
        return "far" if self.px_per_m((u0 + u1) / 2, self.width_m / 2) < 22 else "near"


def sample_lane(rng: np.random.Generator) -> LaneGeometry:
    """A random lane: 30–55 m long, seen from a raised camera, the last zone always far."""
    for _ in range(30):
        lane = _lane(rng)
        _, u0, u1 = lane.zones()[-1]
        if lane.zone_distance(u0, u1) == "far":
            return lane
    return lane


def _lane(rng: np.random.Generator) -> LaneGeometry:
    length = float(rng.uniform(30, 55))
    width = float(rng.uniform(3.5, 4.5))
    near_w = float(rng.uniform(420, 800))
    ratio = float(rng.uniform(0.08, 0.3))  # far width / near width
    near_y = float(rng.uniform(620, 700))
    far_y = float(rng.uniform(250, 360))
    cx_near = float(rng.uniform(near_w / 2 + 20, W - near_w / 2 - 20))
    cx_far = float(np.clip(cx_near + rng.uniform(-300, 300), 120, W - 120))
    far_w = near_w * ratio
    corners = (
        (cx_near - near_w / 2, near_y),
        (cx_near + near_w / 2, near_y),
        (cx_far + far_w / 2, far_y),
        (cx_far - far_w / 2, far_y),
    )
    n_zones = int(rng.integers(2, 4))
    # Perspective: equal ground lengths look shorter far away, so zones split in metres.
    edges = tuple(round(length * (i + 1) / n_zones, 2) for i in range(n_zones - 1))
    return LaneGeometry(length, width, corners, edges)
