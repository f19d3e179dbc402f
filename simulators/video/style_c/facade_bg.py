"""Style C static facade picture: sky, ground, wall, windows (unlit and lit), AC boxes, balconies.

Drawn once per clip as projected 3-D polygons at twice the resolution (area-averaged down), with
a label image saying which window each pixel shows, so lights can switch per window.
"""

from __future__ import annotations

import cv2
import numpy as np

from simulators.video.style_c.camera import HEIGHT, WIDTH, Camera
from simulators.video.style_c.facade_scene import FacadeScene

SS = 2  # supersampling of the static picture


def _poly(cam: Camera, corners: list[tuple[float, float, float]], steps: int = 4) -> np.ndarray:
    pts = cam.outline(corners, steps)
    if not np.all(np.isfinite(pts)):
        raise ValueError("a polygon reaches behind the camera")
    return np.round(pts * SS * 16).astype(np.int32)  # 4 fractional bits for fillPoly


def _fill(img: np.ndarray, pts: np.ndarray, color: tuple[float, ...]) -> None:
    if np.all(np.isfinite(pts)):
        cv2.fillPoly(img, [pts], color, cv2.LINE_8, shift=4)


def _smooth_noise(rng: np.random.Generator, cells: tuple[int, int]) -> np.ndarray:
    small = rng.random(cells).astype(np.float32)
    return cv2.resize(small, (WIDTH * SS, HEIGHT * SS), interpolation=cv2.INTER_CUBIC)


class FacadePicture:
    """The clip's static picture: `off` (no window lit), `on` (every window lit), `labels`
    (window index + 1 per pixel, 0 elsewhere) and the light falling on the wall (`illum`)."""

    def __init__(self, s: FacadeScene) -> None:
        rng = np.random.default_rng(40_000 + s.seed)
        self.scene = s
        night = s.cond.night
        big = (HEIGHT * SS, WIDTH * SS)
        ys = np.linspace(0, 1, HEIGHT * SS, dtype=np.float32)[:, None]
        if night:
            top, low = np.array((28, 18, 14), np.float32), np.array((60, 70, 90), np.float32)
        else:
            top = np.array(rng.uniform((170, 120, 80), (230, 180, 150)), np.float32)
            low = np.array(rng.uniform((200, 190, 180), (245, 240, 235)), np.float32)
        sky = top + (low - top) * ys[..., None]
        clouds = _smooth_noise(rng, (5, 9))
        img = (sky * (0.9 + 0.2 * clouds[..., None])).astype(np.float32)
        labels = np.zeros(big, np.int32)
        cam, b = s.camera, s.building
        # Ground in front of the building: a paved yard, drawn as a big quad.
        # (Its near edge stops short of the camera: a point behind it has no picture.)
        near = 0.7 * cam.position[2]
        yard = [(-60, 0, 0), (b.width_m + 60, 0, 0), (b.width_m + 60, 0, near), (-60, 0, near)]
        grey = float(rng.uniform(70, 130))
        yard_col = tuple(float(grey * c) for c in rng.uniform(0.9, 1.1, 3))
        _fill(img, _poly(cam, yard, 12), yard_col)
        top_m = b.roof_m + b.parapet_m
        wall = [(0, 0, 0), (b.width_m, 0, 0), (b.width_m, top_m, 0), (0, top_m, 0)]
        mask = np.zeros(big, np.uint8)
        _fill(mask, _poly(cam, wall, 12), (255,))
        tex = 0.85 + 0.25 * _smooth_noise(rng, (12, 20)) + 0.06 * _smooth_noise(rng, (90, 160))
        wall_img = np.array(b.wall, np.float32) * tex[..., None]
        img = np.where(mask[..., None] > 0, wall_img, img)
        self._trim(img, s)
        off = img.copy()
        on = img.copy()
        for i, w in enumerate(s.windows):
            x0, y0, x1, y1 = w.rect
            quad = _poly(cam, [(x0, y0, 0), (x1, y0, 0), (x1, y1, 0), (x0, y1, 0)])
            glass = rng.uniform(35, 90) if not night else rng.uniform(8, 22)
            tint = rng.uniform(0.85, 1.15, 3) * glass
            _fill(off, quad, tuple(float(c) for c in tint))
            warm = rng.random() < 0.7
            lit = np.array((120, 190, 250) if warm else (235, 235, 220), np.float32)
            lit = lit * (rng.uniform(0.55, 1.0) if night else 0.0) + (
                tint * (1.25 if not night else 0.0)
            )
            _fill(on, quad, tuple(float(c) for c in np.clip(lit, 0, 255)))
            _fill(labels, quad, (i + 1,))
            frame_col = tuple(float(c) for c in np.array(b.trim) * (0.3 if night else 1.0))
            for pic in (off, on):
                cv2.polylines(pic, [quad], True, frame_col, SS, cv2.LINE_8, shift=4)
        for pic in (off, on):
            self._ac_and_balconies(pic, labels if pic is on else None, s, rng)
        self.illum = self._light(s, rng)
        glow = self.illum[..., None]
        unlit_wall = (labels == 0)[..., None] & (mask[..., None] > 0)
        off = np.where(unlit_wall | (labels > 0)[..., None], off * glow, off)
        on = np.where(unlit_wall, on * glow, on)
        if s.cond.haze:
            veil = np.float32(200 if not night else 40)
            off = off * (1 - s.cond.haze) + veil * s.cond.haze
            on = on * (1 - s.cond.haze) + veil * s.cond.haze
        down = (WIDTH, HEIGHT)
        self.off = cv2.resize(np.clip(off, 0, 255), down, interpolation=cv2.INTER_AREA)
        self.on = cv2.resize(np.clip(on, 0, 255), down, interpolation=cv2.INTER_AREA)
        self.off = self.off.astype(np.uint8)
        self.on = self.on.astype(np.uint8)
        self.labels = labels[SS // 2 :: SS, SS // 2 :: SS].copy()
        self.illum_small = cv2.resize(self.illum, down, interpolation=cv2.INTER_AREA)
        self.boxes = self._window_boxes(len(s.windows))

    def _trim(self, img: np.ndarray, s: FacadeScene) -> None:
        """Slab bands and rain stains down from each sill."""
        cam, b = s.camera, s.building
        col = tuple(float(c) for c in b.trim)
        for k in range(1, b.floors + 1):
            y = k * b.storey_m
            band = [(0, y - 0.18, 0), (b.width_m, y - 0.18, 0), (b.width_m, y, 0), (0, y, 0)]
            _fill(img, _poly(cam, band, 10), col)

    def _ac_and_balconies(
        self, img: np.ndarray, labels: np.ndarray | None, s: FacadeScene, rng: np.random.Generator
    ) -> None:
        cam, b = s.camera, s.building
        state = np.random.default_rng(s.seed + 5)  # the same boxes on both pictures
        dark = 0.35 if s.cond.night else 1.0
        for bay in b.bays:
            for fl in range(1, b.floors + 1):
                base = (fl - 1) * b.storey_m
                if bay.ac:
                    x1 = bay.x1 - 0.1
                    y0 = base + 0.35 + 0.2 * state.random()
                    front = [
                        (x1 - 0.8, y0, 0.35),
                        (x1, y0, 0.35),
                        (x1, y0 + 0.55, 0.35),
                        (x1 - 0.8, y0 + 0.55, 0.35),
                    ]
                    bottom = [(x1 - 0.8, y0, 0), (x1, y0, 0), (x1, y0, 0.35), (x1 - 0.8, y0, 0.35)]
                    _fill(img, _poly(cam, bottom), (150 * dark, 150 * dark, 145 * dark))
                    _fill(img, _poly(cam, front), (228 * dark, 230 * dark, 226 * dark))
                    c = cam.point(x1 - 0.4, y0 + 0.27, 0.35)
                    r = max(1, int(0.2 * cam.px_per_m(x1 - 0.4, y0, 0.35) * SS))
                    cv2.circle(img, (int(c[0] * SS), int(c[1] * SS)), r, (90 * dark,) * 3, SS)
            if bay.kind != "balcony":
                continue
            solid = state.random() < 0.6
            par = np.array(b.wall, np.float32) * state.uniform(0.7, 1.2) * dark
            for fl in range(b.floors, 1, -1):  # top down: lower ones stand in front
                base = (fl - 1) * b.storey_m
                x0, x1 = bay.x0 + 0.05, bay.x1 - 0.05
                under = [
                    (x0, base - 0.15, 0),
                    (x1, base - 0.15, 0),
                    (x1, base - 0.15, 1.2),
                    (x0, base - 0.15, 1.2),
                ]
                _fill(img, _poly(cam, under), tuple(float(c) for c in par * 0.55))
                if labels is not None:
                    _fill(labels, _poly(cam, under), (0,))
                front = [
                    (x0, base - 0.15, 1.2),
                    (x1, base - 0.15, 1.2),
                    (x1, base + 1.1, 1.2),
                    (x0, base + 1.1, 1.2),
                ]
                if solid:
                    _fill(img, _poly(cam, front), tuple(float(c) for c in par))
                    if labels is not None:
                        _fill(labels, _poly(cam, front), (0,))
                    continue
                slab = [
                    (x0, base - 0.15, 1.2),
                    (x1, base - 0.15, 1.2),
                    (x1, base + 0.1, 1.2),
                    (x0, base + 0.1, 1.2),
                ]
                _fill(img, _poly(cam, slab), tuple(float(c) for c in par))
                rail = tuple(float(c) for c in par * 0.5)
                x = x0
                while x <= x1:
                    a, c = cam.point(x, base + 0.1, 1.2), cam.point(x, base + 1.1, 1.2)
                    cv2.line(
                        img,
                        (int(a[0] * SS), int(a[1] * SS)),
                        (int(c[0] * SS), int(c[1] * SS)),
                        rail,
                        SS,
                    )
                    x += 0.15
                a, c = cam.point(x0, base + 1.1, 1.2), cam.point(x1, base + 1.1, 1.2)
                cv2.line(
                    img,
                    (int(a[0] * SS), int(a[1] * SS)),
                    (int(c[0] * SS), int(c[1] * SS)),
                    rail,
                    2 * SS,
                )

    def _light(self, s: FacadeScene, rng: np.random.Generator) -> np.ndarray:
        """Light on the wall: 1 by day; at night a low ambient and one or two lamps below."""
        big = (HEIGHT * SS, WIDTH * SS)
        if not s.cond.night:
            return np.ones(big, np.float32)
        yy, xx = np.mgrid[0 : big[0], 0 : big[1]].astype(np.float32) / SS
        out = np.full(big, float(rng.uniform(0.15, 0.3)), np.float32)
        for _ in range(int(rng.integers(1, 3))):
            x = rng.uniform(0, s.building.width_m)
            lx, ly = s.camera.point(x, 0.5, 2.0)
            sig = rng.uniform(120, 320)
            out += rng.uniform(0.3, 0.8) * np.exp(
                -((xx - lx) ** 2 + (yy - ly) ** 2) / (2 * sig * sig)
            )
        return np.clip(out, 0, 1.1)

    def _window_boxes(self, n: int) -> list[tuple[int, int, int, int]]:
        """Bounding box (x0, y0, x1, y1) of each window's visible pixels."""
        out = []
        for i in range(n):
            ys, xs = np.nonzero(self.labels == i + 1)
            if len(xs) == 0:
                out.append((0, 0, 0, 0))
            else:
                out.append((int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1))
        return out
