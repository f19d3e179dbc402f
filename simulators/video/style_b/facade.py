"""Style B facade: procedural tiles, balconies and air-conditioners, sprite objects, IR nights."""

from __future__ import annotations

import math

import cv2
import numpy as np

from simulators.video.actors import Drop
from simulators.video.geometry import FacadeGeometry, H, W
from simulators.video.random_plan import FacadePlan
from simulators.video.style_b import raster
from simulators.video.style_b.weather import Precipitation

_SUPER = 2  # the static scene is computed at twice the resolution and area-averaged


def _coords(geo: FacadeGeometry, x0: int, y0: int, w: int, h: int, ss: int) -> tuple:
    """Pixel centres of a box of the frame at `ss` samples per pixel, and their facade (u, z)."""
    inv = np.linalg.inv(geo.h)
    ys, xs = np.mgrid[0 : h * ss, 0 : w * ss].astype(np.float32)
    xs = x0 + (xs + 0.5) / ss
    ys = y0 + (ys + 0.5) / ss
    den = inv[2, 0] * xs + inv[2, 1] * ys + inv[2, 2]
    u = (inv[0, 0] * xs + inv[0, 1] * ys + inv[0, 2]) / den
    z = (inv[1, 0] * xs + inv[1, 1] * ys + inv[1, 2]) / den
    return ys, u, z


class _Painter:
    """Colours of the static scene at any set of pixel centres (sky, pavement, facade)."""

    def __init__(self, geo: FacadeGeometry, rng: np.random.Generator) -> None:
        self.geo = geo
        self.base = np.array(rng.integers(165, 225, 3), np.float32)
        self.band = np.array(rng.integers(120, 200, 3), np.float32)
        self.balcony = rng.random(geo.columns) < 0.5
        self.phase = rng.uniform(0, 6.3, 4)
        self.clouds = raster.value_noise((H, W), 80, rng)

    def __call__(self, x0: int, y0: int, w: int, h: int, ss: int) -> np.ndarray:
        geo = self.geo
        ys, u, z = _coords(geo, x0, y0, w, h, ss)
        sky_top = np.array((205, 160, 110), np.float32)
        sky_low = np.array((235, 215, 190), np.float32)
        clouds = self.clouds[y0 : y0 + h, x0 : x0 + w]
        if ss > 1:
            clouds = cv2.resize(clouds, (w * ss, h * ss), interpolation=cv2.INTER_LINEAR)
        img = sky_top + (sky_low - sky_top) * (ys / H)[..., None]
        img = img + 18 * np.clip(clouds, 0, 1)[..., None]
        inside = (u >= 0) & (u <= geo.width_m) & (z >= 0) & (z <= geo.height_m)
        # Pavement below the building line (where z < 0 in front of it).
        img[(z < 0) & (u > -40) & (u < geo.width_m + 40)] = (105, 112, 118)
        if not inside.any():
            return img
        stm = geo.storey_m
        storey = np.floor(z / stm)
        zr = z - storey * stm  # height within the storey
        col = np.floor(u / geo.column_m)
        ur = u / geo.column_m - col  # 0..1 across the column
        wall = np.where((storey < 2)[..., None], self.band * 0.8, self.base)
        wall = np.where(((storey % 4) == 3)[..., None], self.band, wall)
        grout = (np.mod(u, 0.3) < 0.02) | (np.mod(z, 0.15) < 0.012)
        p = self.phase
        stain = 0.5 * np.sin(1.3 * u + p[0]) * np.sin(0.9 * z + p[1]) + 0.5 * np.sin(
            3.1 * u + 2.3 * z + p[2]
        )
        wall = wall * (0.92 + 0.06 * stain)[..., None] * np.where(grout, 0.88, 1.0)[..., None]
        wall = np.where((zr < 0.22)[..., None], wall * 0.75, wall)
        win = (ur > 0.3) & (ur < 0.7) & (zr > 0.9) & (zr < 2.4)
        edge = (ur < 0.32) | (ur > 0.68) | (zr < 0.95) | (zr > 2.35) | (abs(ur - 0.5) < 0.01)
        glass = np.stack([80 + 40 * (zr - 0.9), 70 + 30 * (zr - 0.9), 62 + 20 * (zr - 0.9)], -1)
        wall = np.where(win[..., None], glass, wall)
        wall = np.where((win & edge)[..., None], np.float32(215), wall)
        # Balconies on some columns: a railing of bars in front of the lower half of the window.
        has_bal = self.balcony[np.clip(col, 0, geo.columns - 1).astype(int)] & (storey >= 1)
        rail = has_bal & (ur > 0.2) & (ur < 0.8) & (zr > 0.25) & (zr < 1.15)
        bars = rail & ((np.mod(u, 0.14) < 0.035) | (zr > 1.08))
        wall = np.where(bars[..., None], np.float32(60), wall)
        # Air-conditioner boxes beside some windows.
        ac = ((storey * 131 + col * 17) % 5 == 0) & (ur > 0.74) & (ur < 0.94) & (zr > 0.5)
        ac &= zr < 1.05
        grille = np.float32(205) - 30 * (np.mod(zr, 0.08) < 0.02)[..., None]
        wall = np.where(ac[..., None], grille, wall)
        return np.where(inside[..., None], wall, img)


def _static_scene(plan: FacadePlan, rng: np.random.Generator) -> np.ndarray:
    """Sky and pavement at one sample per pixel, the facade's box at four (anti-aliased)."""
    paint = _Painter(plan.geo, rng)
    img = paint(0, 0, W, H, 1)
    xs = [p[0] for p in plan.geo.corners]
    ys = [p[1] for p in plan.geo.corners]
    x0, y0 = max(0, int(min(xs)) - 2), max(0, int(min(ys)) - 2)
    x1, y1 = min(W, int(max(xs)) + 3), min(H, int(max(ys)) + 3)
    fine = paint(x0, y0, x1 - x0, y1 - y0, _SUPER)
    img[y0:y1, x0:x1] = cv2.resize(fine, (x1 - x0, y1 - y0), interpolation=cv2.INTER_AREA)
    return np.clip(img, 0, 255).astype(np.uint8)


def _window_patches(
    geo: FacadeGeometry,
) -> dict[tuple[int, int], tuple[int, int, np.ndarray, np.ndarray]]:
    """Per window: (x0, y0, coverage, across) — `across` runs 0..1 from the left jamb."""
    out = {}
    inv = np.linalg.inv(geo.h)
    for f in range(1, geo.floors + 1):
        for c in range(geo.columns):
            q = geo.window_quad(f, c)
            x0, y0 = int(q[:, 0].min()) - 1, int(q[:, 1].min()) - 1
            x1, y1 = int(q[:, 0].max()) + 2, int(q[:, 1].max()) + 2
            ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float64) + 0.5
            den = inv[2, 0] * xs + inv[2, 1] * ys + inv[2, 2]
            u = (inv[0, 0] * xs + inv[0, 1] * ys + inv[0, 2]) / den
            zz = (inv[1, 0] * xs + inv[1, 1] * ys + inv[1, 2]) / den
            wu0, wz0, wu1, wz1 = geo.window(f, c)
            cov = (u > wu0 + 0.05) & (u < wu1 - 0.05) & (zz > wz0 + 0.05) & (zz < wz1 - 0.05)
            across = np.clip((u - wu0) / (wu1 - wu0), 0, 1).astype(np.float32)
            out[(f, c)] = (x0, y0, cov.astype(np.float32), across)
    return out


class StyleBFacade:
    """Renders frames of a randomised facade plan in style B; call `frame(i)` in order."""

    def __init__(self, plan: FacadePlan) -> None:
        self.plan = plan
        rng = np.random.default_rng(plan.seed * 7 + 3)
        w = plan.weather
        self._night = w.night
        self._ir = w.night and plan.seed % 2 == 0
        scene = _static_scene(plan, rng)
        if w.night:
            scene = cv2.convertScaleAbs(scene, alpha=0.28 if not self._ir else 0.4)
        self._base = scene
        self._trees = self._tree_frames(rng)
        self._windows = _window_patches(plan.geo)
        self._lit = set(plan.lit)
        self._switch = sorted(
            (e for e in plan.windows if e.kind in ("on", "off")), key=lambda e: e.t
        )
        self._steady = [e for e in plan.windows if e.kind in ("flicker", "curtain")]
        self._next = 0
        self._on_since: dict[tuple[int, int], float] = {}
        self._shapes = {i: raster.shape_fn(d.shape, seed=i * 1.3) for i, d in enumerate(plan.drops)}
        self._exposure = raster.Exposure(w.gains, plan.fps)
        self._noise = raster.ShotNoise(scene, 2.8 if w.night else 1.3, plan.seed + 11)
        self._precip = Precipitation(w.rain, w.snow, w.night, plan.seed + 5)
        self._jpeg = int(rng.integers(35, 75)) if rng.random() < 0.6 else 0
        self._fog = None
        if w.fog:
            grad = np.linspace(1.0, 0.6, H, dtype=np.float32)[:, None, None]
            tone = 150 if not w.night else 45
            self._fog = np.clip(tone * grad * np.ones((1, W, 3), np.float32), 0, 255).astype(
                np.uint8
            )

    def _tree_frames(self, rng: np.random.Generator) -> list[tuple[int, int, list[tuple]]]:
        """Per tree, eight sway phases of its bounding box: (colour, coverage) to blend."""
        out = []
        for tree in self.plan.geo.trees:
            x0 = int(min(c[0] - c[2] for c in tree.crowns) - tree.sway_px - 4)
            x1 = int(max(c[0] + c[2] for c in tree.crowns) + tree.sway_px + 4)
            y0 = int(min(c[1] - c[2] for c in tree.crowns) - 4)
            y1 = int(tree.ground_y) + 1
            x0, y0, x1, y1 = max(0, x0), max(0, y0), min(W, x1), min(H, y1)
            if x1 <= x0 or y1 <= y0:
                continue
            phases = []
            texture = raster.value_noise((y1 - y0, x1 - x0 + 64), 6, rng)
            green = np.array((40, 105, 55) if not self._night else (20, 40, 25), np.float32)
            for k in range(8):
                patch = np.zeros((y1 - y0, x1 - x0, 3), np.float32)
                trunk = int(0.035 * (y1 - y0)) + 2
                tx = int(tree.trunk_x) - x0
                patch[int(0.4 * (y1 - y0)) :, max(0, tx - trunk) : tx + trunk] = (35, 45, 60)
                sway = tree.sway_px * math.sin(2 * math.pi * k / 8)
                ys, xs = np.mgrid[0 : y1 - y0, 0 : x1 - x0].astype(np.float32)
                cover = np.zeros((y1 - y0, x1 - x0), np.float32)
                cover[int(0.4 * (y1 - y0)) :, max(0, tx - trunk) : tx + trunk] = 1.0
                for cx, cy, r in tree.crowns:
                    # Sway grows with height: the crown top moves most.
                    d = np.hypot(xs - (cx - x0 + sway), ys - (cy - y0))
                    edge = r * (1 + 0.12 * texture[:, 32 + int(sway) : 32 + int(sway) + x1 - x0])
                    cover = np.maximum(cover, np.clip(edge - d, 0, 1))
                leaf = green * (0.75 + 0.35 * texture[:, 32 : 32 + x1 - x0, None])
                crown = cover > 0
                patch[crown] = leaf[crown]
                phases.append((patch, cover[..., None]))
            out.append((x0, y0, phases))
        return out

    def frame(self, index: int) -> np.ndarray:
        """The rendered BGR frame at `index`."""
        fps = self.plan.fps
        t = index / fps
        img = self._base.copy()
        self._draw_windows(img, t)
        geo = self.plan.geo
        for i, d in enumerate(self.plan.drops):
            now = d.at(geo, t)
            if now is None:
                continue
            before = d.at(geo, max(d.t, t - 0.6 / fps)) or now
            half = max(0.6, d.size_px / 2)
            blur = (now[0] - before[0], now[1] - before[1])
            x0, y0, a, shade = raster.sprite(
                self._shapes[i], half, 2 * math.pi * d.spin_hz * (t - d.t), now, blur, samples=3
            )
            raster.composite(img, x0, y0, a, self._tone(d.color), shade)
        # Depth order: thrown things fall in front of the wall but behind the trees.
        for i, (x0, y0, phases) in enumerate(self._trees):
            colour, cover = phases[int((t * 0.45 + 0.3 * i) * 8) % 8]
            h, w = cover.shape[:2]
            region = img[y0 : y0 + h, x0 : x0 + w].astype(np.float32)
            img[y0 : y0 + h, x0 : x0 + w] = (region + cover * (colour - region)).astype(np.uint8)
        for fl in self.plan.flyers:
            p = fl.at(t)
            if p is not None:
                self._bird(img, p, fl.size_px, math.sin(2 * math.pi * fl.flap_hz * (t - fl.t)))
        for dr in self.plan.drifters:
            p = dr.at(t)
            if p is not None:
                shape = raster.shape_fn("bag", seed=dr.x)
                x0, y0, a, shade = raster.sprite(shape, dr.size_px / 2, 1.7 * t + dr.x, p)
                raster.composite(img, x0, y0, a * 0.95, self._tone(dr.color), shade)
        for b in self.plan.bugs:
            p = b.at(t)
            if p is not None:
                if b.size_px > 8:
                    raster.soft_dot(img, p[0], p[1], b.size_px / 3, (20, 20, 20), 0.55)
                else:
                    raster.soft_dot(img, p[0], p[1], 0.9, (35, 35, 35), 0.9)
        img = self._precip.apply(img, t)
        if self._fog is not None:
            img = cv2.addWeighted(
                img, 1 - self.plan.weather.fog, self._fog, self.plan.weather.fog, 0
            )
        img = cv2.convertScaleAbs(img, alpha=self._exposure.gain(t))
        img = raster.move(img, raster.jiggle(self.plan.weather.shakes, t))
        if self._ir:
            img = raster.ir_mode(img)
        img = self._noise.apply(img)
        if self._jpeg:
            img = raster.jpeg_roundtrip(img, self._jpeg)
        return img

    def contrast(self, drop: Drop) -> float:
        """Largest-channel difference between the object and the wall along its first second
        (infrared nights compare grey levels)."""
        tone = np.asarray(self._tone(drop.color), np.float64)
        base = raster.ir_mode(self._base) if self._ir else self._base
        if self._ir:
            tone = np.full(3, 0.25 * tone[0] + 0.45 * tone[1] + 0.3 * tone[2])
        diffs = []
        for k in range(int(self.plan.fps)):
            p = drop.at(self.plan.geo, drop.t + k / self.plan.fps)
            if p is None:
                break
            x, y = int(np.clip(p[0], 0, W - 1)), int(np.clip(p[1], 0, H - 1))
            diffs.append(float(np.max(np.abs(tone - base[y, x].astype(np.float64)))))
        return round(float(np.median(diffs)), 1) if diffs else 0.0

    def _tone(self, color: tuple[int, int, int]) -> tuple[float, float, float]:
        if not self._night:
            return float(color[0]), float(color[1]), float(color[2])
        k = 0.5 if self._ir else 0.38
        return color[0] * k + 12, color[1] * k + 12, color[2] * k + 14

    def _draw_windows(self, img: np.ndarray, t: float) -> None:
        while self._next < len(self._switch) and self._switch[self._next].t <= t:
            e = self._switch[self._next]
            key = (e.floor, e.column)
            if e.kind == "on":
                self._lit.add(key)
                self._on_since[key] = e.t
            else:
                self._lit.discard(key)
            self._next += 1
        warm = (120, 190, 235) if self._night else (175, 180, 178)
        for key in self._lit:
            # A fluorescent tube stutters for a moment when switched on.
            since = self._on_since.get(key, -10.0)
            level = 1.0 if t - since > 0.4 else (0.3 if int((t - since) * 25) % 3 == 0 else 0.9)
            x0, y0, cov, across = self._windows[key]
            raster.composite(img, x0, y0, cov * level, warm)
        for e in self._steady:
            x0, y0, cov, across = self._windows[(e.floor, e.column)]
            if e.kind == "flicker":
                lvl = 0.55 + 0.45 * math.sin(9.0 * t + e.phase) * math.sin(3.1 * t + e.phase)
                raster.composite(
                    img, x0, y0, cov * 0.85, (210 * lvl + 20, 160 * lvl + 20, 120 * lvl + 20)
                )
            else:
                edge = 0.4 + 0.35 * math.sin(1.3 * t + e.phase) + 0.05 * math.sin(5.1 * t)
                folds = 0.8 + 0.2 * np.sin(across * 40 + e.phase)
                c = (120, 110, 190) if not self._night else (60, 55, 95)
                raster.composite(img, x0, y0, cov * (across < edge), c, folds)

    def _bird(self, img: np.ndarray, p: tuple[float, float], size: float, flap: float) -> None:
        lift = 0.7 * flap

        def shape(u: np.ndarray, v: np.ndarray) -> np.ndarray:
            body = (u * u) / 0.2 + (v * v) / 0.03 <= 1
            wing = (abs(u) <= 1) & (abs(v + lift * abs(u)) < 0.12 + 0.1 * (1 - abs(u)))
            return (body | wing).astype(np.float32)

        x0, y0, a, _ = raster.sprite(shape, max(1.5, size / 2), 0.0, p, light=False)
        tone = (40, 42, 48) if not self._night else (25, 25, 30)
        raster.composite(img, x0, y0, a, tone)
