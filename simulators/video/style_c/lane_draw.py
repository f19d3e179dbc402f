"""Style C fire-lane frames: asphalt, painted zones, a wall, dappled shade, 3-D box objects
with shadows, people, rain, headlights at night, then the style C sensor."""

from __future__ import annotations

import math

import cv2
import numpy as np

from simulators.video.style_c.camera import HEIGHT, WIDTH
from simulators.video.style_c.lane_scene import LaneScene, corners
from simulators.video.style_c.sensor import Sensor

# Faces of the corner list of `corners` (index 4a + 2b + h: along, across, up).
FACES = ((0, 1, 3, 2), (4, 5, 7, 6), (0, 1, 5, 4), (2, 3, 7, 6), (0, 2, 6, 4), (1, 3, 7, 5))
SHADE = (0.75, 0.75, 0.6, 0.6, 0.3, 1.0)


def _ground_quad(sc: LaneScene, xa: float, xb: float, da: float, db: float) -> np.ndarray:
    pts = sc.camera.outline([(xa, 0, -da), (xb, 0, -da), (xb, 0, -db), (xa, 0, -db)], 6)
    return np.round(pts * 16).astype(np.int32)


class StyleCLane:
    """Renders frame i of a style C lane scene (in order)."""

    def __init__(self, sc: LaneScene) -> None:
        self.sc = sc
        rng = np.random.default_rng(70_000 + sc.seed)
        self.rng = rng
        self.sensor = Sensor(rng, sc.cond.night, sc.fps, sc.cond.light)
        self.dark = 0.3 if sc.cond.night else 1.0
        self.bg = self._background(rng)
        self.shade_on = not sc.cond.night and rng.random() < 0.6
        self.shade = self._dapple(rng) if self.shade_on else None

    def _dapple(self, rng: np.random.Generator) -> np.ndarray:
        """Soft dappled shade of a tree beside the lane over part of it (a light factor)."""
        sc = self.sc
        small = rng.random((40, 70)).astype(np.float32)
        noise = cv2.resize(small, (WIDTH + 16, HEIGHT + 16), interpolation=cv2.INTER_CUBIC)
        cx, cy = sc.ground(
            sc.x0 + float(rng.uniform(0, sc.width_m)), float(rng.uniform(*sc.edges[:2]))
        )
        r = sc.camera.px_per_m(sc.x0, 0, -sc.edges[0]) * float(rng.uniform(2, 4))
        yy, xx = np.mgrid[0 : HEIGHT + 16, 0 : WIDTH + 16].astype(np.float32)
        region = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * r * r))
        leaf = np.clip((noise - 0.4) * 5, 0, 1)
        return (1.0 - 0.35 * region * leaf).astype(np.float32)

    def _background(self, rng: np.random.Generator) -> np.ndarray:
        sc = self.sc
        img = np.zeros((HEIGHT, WIDTH, 3), np.float32)
        img[:] = rng.uniform(60, 90, 3)  # verge and wall in the distance
        far = sc.edges[2] + 40
        tarmac = tuple(float(v) for v in rng.uniform(85, 125) * rng.uniform(0.95, 1.05, 3))
        cv2.fillPoly(
            img, [_ground_quad(sc, sc.x0 - 8, sc.x0 + sc.width_m + 8, 3, far)], tarmac, shift=4
        )
        grass = (60, 120, 70)
        cv2.fillPoly(
            img, [_ground_quad(sc, sc.x0 + sc.width_m + 2, sc.x0 + 30, 3, far)], grass, shift=4
        )
        wall = sc.camera.outline(
            [
                (sc.x0 - 2.5, 0, -3),
                (sc.x0 - 2.5, 0, -far),
                (sc.x0 - 2.5, 12, -far),
                (sc.x0 - 2.5, 12, -3),
            ],
            8,
        )
        cv2.fillPoly(
            img, [np.round(wall * 16).astype(np.int32)], tuple(rng.uniform(140, 200, 3)), shift=4
        )
        tex = cv2.resize(rng.random((90, 160)).astype(np.float32), (WIDTH, HEIGHT))
        img *= (0.9 + 0.2 * tex)[..., None]
        paint = (40, 200, 230) if rng.random() < 0.7 else (40, 40, 200)
        a, b, c = sc.edges
        x0, x1 = sc.x0, sc.x0 + sc.width_m
        for xa, xb in ((x0, x0 + 0.15), (x1 - 0.15, x1)):
            cv2.fillPoly(img, [_ground_quad(sc, xa, xb, a, c)], paint, shift=4)
        for d in (a, b, c):
            cv2.fillPoly(img, [_ground_quad(sc, x0, x1, d, d + 0.15)], paint, shift=4)
        # Painted cross-hatching on every other metre: a pattern that shake misaligns.
        d = a + 1.0
        while d < c - 1:
            p, q = sc.ground(x0, d), sc.ground(x1, d + 1.2)
            cv2.line(img, (int(p[0]), int(p[1])), (int(q[0]), int(q[1])), paint, 1, cv2.LINE_AA)
            d += 2.0
        if sc.cond.night:
            yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
            lamp = np.full((HEIGHT, WIDTH), 0.2, np.float32)
            for _ in range(2):
                lx, ly = sc.ground(float(rng.uniform(x0, x1)), float(rng.uniform(a, c)))
                s = float(rng.uniform(100, 250))
                lamp += 0.9 * np.exp(-((xx - lx) ** 2 + (yy - ly) ** 2) / (2 * s * s))
            img *= np.clip(lamp, 0, 1.1)[..., None]
        if sc.cond.haze:
            img = img * (1 - sc.cond.haze) + 190 * self.dark * sc.cond.haze
        return np.clip(img, 0, 255).astype(np.uint8)

    def frame(self, index: int) -> np.ndarray:
        """BGR frame `index`."""
        sc = self.sc
        t = index / sc.fps
        img = self.bg.copy()
        if self.shade_on:
            # Dappled shade of a tree moving in the wind across the lane.
            ox = int(8 + 2 * math.sin(0.4 * t) + math.sin(1.3 * t))
            oy = int(8 + 2 * math.sin(0.3 * t + 1))
            sh = self.shade[oy : oy + HEIGHT, ox : ox + WIDTH]
            img = (img * sh[..., None]).astype(np.uint8)
        things = []
        for p in sc.parks:
            off = p.offset(t)
            if off is not None:
                things.append((p.kind, p.x, p.d + off, p.yaw, p.color, p, t))
        for w in sc.walkers:
            pos = w.at(t)
            if pos is not None:
                yaw = 90.0 if w.vx else 0.0
                things.append((w.kind, pos[0], pos[1], yaw, w.color, None, t))
        for kind, x, d, yaw, col, park, tt in sorted(things, key=lambda k: -k[2]):
            self._object(img, kind, x, d, yaw, col, park, tt)
        if sc.cond.night:
            self._headlights(img, t)
        if sc.cond.rain:
            ov = np.zeros((HEIGHT, WIDTH), np.uint8)
            for _ in range(sc.cond.rain):
                x, y, ln = (
                    self.rng.uniform(0, WIDTH),
                    self.rng.uniform(0, HEIGHT),
                    self.rng.uniform(8, 30),
                )
                cv2.line(ov, (int(x), int(y)), (int(x + sc.cond.wind * ln), int(y + ln)), 30, 1)
            cv2.add(img, cv2.merge([ov, ov, ov]), dst=img)
        for t0, dur, amp, _ in sc.cond.shakes:
            if t0 <= t <= t0 + dur:
                e = math.sin(math.pi * (t - t0) / dur)
                m = np.float32(
                    [[1, 0, amp * e * math.sin(19 * t)], [0, 1, amp * e * math.sin(23 * t)]]
                )
                img = cv2.warpAffine(img, m, (WIDTH, HEIGHT), borderMode=cv2.BORDER_REFLECT)
        return self.sensor.apply(img, t)

    def _object(
        self,
        img: np.ndarray,
        kind: str,
        x: float,
        d: float,
        yaw: float,
        col: tuple[int, int, int],
        park: object,
        t: float,
    ) -> None:
        cam = self.sc.camera
        if kind == "boxes":
            self._boxes(img, x, d, yaw, park, t)
            return
        if kind == "person":
            self._person(img, x, d, col, t)
            return
        pts3 = corners(kind, x, d, yaw)
        # A soft shadow on the ground first (by day), offset away from the sun.
        if not self.sc.cond.night:
            foot = cam.project(
                np.array([(px + 0.4, 0.0, pz - 0.3) for px, h, pz in pts3 if h == 0])
            )
            hull = cv2.convexHull(np.round(foot).astype(np.int32))
            roi = np.zeros((HEIGHT, WIDTH), np.uint8)
            cv2.fillConvexPoly(roi, hull, 1)
            img[roi > 0] = (img[roi > 0] * 0.6).astype(np.uint8)
        self._box(img, pts3, col)
        if kind == "car":
            ln, wd, ht = 4.4, 1.8, 1.45
            c, s = math.cos(math.radians(yaw)), math.sin(math.radians(yaw))
            glass = [
                (x + b * c + a * s, h, -(d + a * c - b * s))
                for a in (-ln / 4, ln / 5)
                for b in (-wd / 2.3, wd / 2.3)
                for h in (ht, ht + 0.01)
            ]
            self._box(img, glass, (60, 50, 45))

    def _box(self, img: np.ndarray, pts3: list[tuple[float, float, float]], col: tuple) -> None:
        cam = self.sc.camera
        p = cam.project(np.array(pts3))
        if not np.all(np.isfinite(p)):
            return
        eye = np.array(cam.position)
        w3 = np.array(pts3)
        centre = w3.mean(axis=0)
        faces = []
        for face, shade in zip(FACES, SHADE, strict=True):
            fc = w3[list(face)].mean(axis=0)
            if np.dot(fc - centre, eye - fc) > 0:
                faces.append((np.linalg.norm(eye - fc), face, shade))
        for _, face, shade in sorted(faces, reverse=True):
            poly = np.round(p[list(face)] * 16).astype(np.int32)
            c = tuple(float(v) * shade * self.dark for v in col)
            cv2.fillPoly(img, [poly], c, cv2.LINE_AA, shift=4)

    def _boxes(
        self, img: np.ndarray, x: float, d: float, yaw: float, park: object, t: float
    ) -> None:
        n = 3
        if park is not None:
            # Carried in and out one by one: the stack grows before t_arrive, shrinks after t_leave.
            if t < park.t_arrive:  # type: ignore[attr-defined]
                n = max(1, n - int((park.t_arrive - t) / 0.9))  # type: ignore[attr-defined]
            elif t > park.t_leave:  # type: ignore[attr-defined]
                n = n - 1 - int((t - park.t_leave) / 0.9)  # type: ignore[attr-defined]
        for k in range(max(0, n)):
            h0, s = 0.33 * k, 0.45 - 0.04 * k
            pts = [
                (x + a + 0.03 * k, h0 + h, -(d + b))
                for a in (-s, s)
                for b in (-s, s)
                for h in (0.0, 0.33)
            ]
            self._box(img, pts, (60 + 10 * k, 120 + 8 * k, 170 + 5 * k))

    def _person(self, img: np.ndarray, x: float, d: float, col: tuple, t: float) -> None:
        cam = self.sc.camera
        if d < 2.0:
            return  # right under the camera: out of the picture
        step = math.sin(2 * math.pi * 1.8 * t)
        for sgn in (-1, 1):
            a = cam.point(x + 0.1 * sgn, 0.85, -d)
            b = cam.point(x + 0.1 * sgn + 0.15 * step * sgn, 0.0, -d)
            lw = max(1, int(cam.px_per_m(x, 0.5, -d) * 0.12))
            cv2.line(img, (int(a[0]), int(a[1])), (int(b[0]), int(b[1])), (40 * self.dark,) * 3, lw)
        body = [
            (x + a, h, -(d + b)) for a in (-0.22, 0.22) for b in (-0.12, 0.12) for h in (0.85, 1.5)
        ]
        self._box(img, body, col)
        hx, hy = cam.point(x, 1.62, -d)
        r = max(1, int(cam.px_per_m(x, 1.6, -d) * 0.11))
        cv2.circle(
            img, (int(hx), int(hy)), r, (90 * self.dark, 120 * self.dark, 170 * self.dark), -1
        )

    def _headlights(self, img: np.ndarray, t: float) -> None:
        for w in self.sc.walkers:
            if w.kind != "car":
                continue
            pos = w.at(t)
            if pos is None:
                continue
            ahead = pos[1] + (3 if w.vd > 0 else -3) * 2
            cx, cy = self.sc.ground(pos[0], ahead)
            if not (math.isfinite(cx) and math.isfinite(cy)):
                continue  # the lit ground is behind the camera
            r = int(min(250, max(8, self.sc.camera.px_per_m(pos[0], 0, -ahead) * 2.5)))
            if not (-r < cx < WIDTH + r and -r < cy < HEIGHT + r):
                continue
            yy, xx = np.mgrid[-r:r, -r:r].astype(np.float32)
            a = np.exp(-(xx * xx + 4 * yy * yy) / (r * r)) * 0.9
            x0, y0 = int(cx) - r, int(cy) - r
            x1, y1, x2, y2 = max(x0, 0), max(y0, 0), min(x0 + 2 * r, WIDTH), min(y0 + 2 * r, HEIGHT)
            if x2 <= x1 or y2 <= y1:
                continue
            roi = img[y1:y2, x1:x2].astype(np.float32)
            g = a[y1 - y0 : y2 - y0, x1 - x0 : x2 - x0, None]
            img[y1:y2, x1:x2] = np.clip(roi * (1 + 2 * g) + 60 * g, 0, 255).astype(np.uint8)
