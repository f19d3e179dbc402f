"""Style C facade frames: the static picture plus windows, trees, actors, rain, shake and sensor."""

from __future__ import annotations

import math

import cv2
import numpy as np

from simulators.video.style_c.camera import HEIGHT, WIDTH
from simulators.video.style_c.facade_bg import FacadePicture
from simulators.video.style_c.facade_scene import Bird, Bug, FacadeScene, Leaf, Throw
from simulators.video.style_c.sensor import Sensor


def _blend(frame: np.ndarray, x: int, y: int, alpha: np.ndarray, color: np.ndarray) -> None:
    """frame[y:, x:] = mix(frame, color, alpha) for a patch, clipped to the frame."""
    h, w = alpha.shape[:2]
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, WIDTH), min(y + h, HEIGHT)
    if x1 <= x0 or y1 <= y0:
        return
    a = alpha[y0 - y : y1 - y, x0 - x : x1 - x, None]
    c = color[y0 - y : y1 - y, x0 - x : x1 - x] if color.ndim == 3 else color
    roi = frame[y0:y1, x0:x1].astype(np.float32)
    frame[y0:y1, x0:x1] = (roi * (1 - a) + c * a).astype(np.uint8)


class StyleCFacade:
    """Renders frame i of a style C facade scene (frames must be asked for in order)."""

    def __init__(self, scene: FacadeScene) -> None:
        self.s = scene
        self.pic = FacadePicture(scene)
        rng = np.random.default_rng(50_000 + scene.seed)
        self.rng = rng
        self.sensor = Sensor(rng, scene.cond.night, scene.fps, scene.cond.light)
        self.base = self.pic.off.copy()
        self.lit = set(scene.lit)
        for i in self.lit:
            self._window(i, True)
        self.exposure_s = float(
            rng.uniform(0.03, 0.06) if scene.cond.night else rng.uniform(0.004, 0.015)
        )
        self.trajs = [th.trajectory(th.t + 8.0) for th in scene.throws]
        self.done: set[int] = set()
        self.crowns = [
            [
                (
                    float(rng.normal(0, r * 0.45)),
                    float(rng.normal(0, r * 0.35)),
                    float(rng.uniform(0.25, 0.5) * r),
                    tuple(float(c) for c in rng.uniform((20, 60, 20), (70, 130, 80))),
                    float(rng.uniform(0, 6.3)),
                )
                for _ in range(n * 4)
            ]
            for (_, _, r, n) in scene.trees
        ]
        self.dark = 0.3 if scene.cond.night else 1.0

    def _window(self, i: int, on: bool) -> None:
        x0, y0, x1, y1 = self.pic.boxes[i]
        if x1 <= x0:
            return
        sel = self.pic.labels[y0:y1, x0:x1] == i + 1
        src = self.pic.on if on else self.pic.off
        self.base[y0:y1, x0:x1][sel] = src[y0:y1, x0:x1][sel]

    def contrast(self, th: Throw) -> float:
        """Object against the wall where it is released, most different channel (grey levels)."""
        x, y = self.s.camera.point(*th.pos)
        xi, yi = int(min(max(x, 0), WIDTH - 1)), int(min(max(y, 0), HEIGHT - 1))
        bg = self.pic.off[yi, xi].astype(float)
        col = np.array(th.color, float) * self._light_at(x, y)
        return round(float(np.abs(col - bg).max()), 1)

    def _light_at(self, x: float, y: float) -> float:
        xi, yi = int(min(max(x, 0), WIDTH - 1)), int(min(max(y, 0), HEIGHT - 1))
        return float(self.pic.illum_small[yi, xi])

    def frame(self, index: int) -> np.ndarray:
        """BGR frame `index`."""
        s = self.s
        t = index / s.fps
        self._window_states(t)
        img = self.base.copy()
        self._windows_live(img, t)
        self._trees(img, t)
        self._sweeps(img, t)
        for lf in s.leaves:
            self._leaf(img, lf, t)
        for b in s.birds:
            self._bird(img, b, t)
        for k, th in enumerate(s.throws):
            self._throw(img, k, th, t)
        if s.cond.rain:
            self._rain(img)
        for bug in s.bugs:
            self._bug(img, bug, t)
        img = self._shake(img, t)
        return self.sensor.apply(img, t)

    def _window_states(self, t: float) -> None:
        for k, e in enumerate(self.s.events):
            if e.kind in ("on", "off") and k not in self.done and t >= e.t:
                self.done.add(k)
                on = e.kind == "on"
                if on != (e.window in self.lit):
                    self.lit.symmetric_difference_update({e.window})
                    self._window(e.window, on)

    def _windows_live(self, img: np.ndarray, t: float) -> None:
        for e in self.s.events:
            if e.kind in ("on", "off") or not e.t <= t <= e.t + e.duration_s:
                continue
            x0, y0, x1, y1 = self.pic.boxes[e.window]
            if x1 - x0 < 2 or y1 - y0 < 2:
                continue
            w, h = x1 - x0, y1 - y0
            if e.kind == "tv":
                lvl = 0.5 + 0.5 * math.sin(7.3 * t + e.phase) * math.sin(2.1 * t + 3 * e.phase)
                sel = self.pic.labels[y0:y1, x0:x1] == e.window + 1
                roi = img[y0:y1, x0:x1]
                tv = (
                    np.array((255, 200, 160))
                    * (0.25 + 0.5 * lvl)
                    * (1.0 if self.s.cond.night else 0.3)
                )
                roi[sel] = np.clip(roi[sel] * 0.5 + tv, 0, 255).astype(np.uint8)
            elif e.kind == "curtain":
                f = (t - e.t) / e.duration_s
                cw = max(1, int(w * (f if (e.window % 2) else 1 - f)))
                col = (90, 110, 150) if e.window % 3 else (200, 200, 215)
                col = tuple(c * self.dark * 1.5 for c in col)
                cv2.rectangle(img, (x0, y0), (x0 + cw, y1 - 1), col, -1)
            elif e.kind == "laundry":
                for j in range(3):
                    sway = 0.25 * w * math.sin(1.7 * t + e.phase + j)
                    cx = x0 + (j + 0.5) * w / 3
                    top = y0 + 0.1 * h
                    pts = np.array(
                        [
                            (cx - w / 8, top),
                            (cx + w / 8, top),
                            (cx + w / 8 + sway, top + 0.45 * h),
                            (cx - w / 8 + sway, top + 0.45 * h),
                        ],
                        np.int32,
                    )
                    col = ((200, 60, 60), (60, 160, 220), (230, 230, 230))[(j + e.window) % 3]
                    cv2.fillPoly(img, [pts], tuple(c * self.dark for c in col))
            elif e.kind == "flap":
                out = 0.5 + 0.5 * math.sin(2.3 * t + e.phase) * math.sin(0.7 * t + e.phase)
                drop = h * (0.4 + 0.5 * out)
                sway = 0.3 * w * math.sin(3.1 * t + e.phase)
                pts = np.array(
                    [(x0, y0), (x1, y0), (x1 + sway, y0 + drop), (x0 + sway, y0 + drop)], np.int32
                )
                cv2.fillPoly(img, [pts], tuple(c * self.dark for c in (210, 215, 225)))

    def _trees(self, img: np.ndarray, t: float) -> None:
        for (x, y, r, _), blobs in zip(self.s.trees, self.crowns, strict=True):
            sway = 0.06 * r * math.sin(0.9 * t) + 0.03 * r * math.sin(2.3 * t + 1)
            trunk = (int(x), int(y + r * 0.5)), (int(x), HEIGHT)
            cv2.line(
                img, *trunk, (40 * self.dark, 50 * self.dark, 60 * self.dark), max(2, int(r / 8))
            )
            for dx, dy, rr, col, ph in blobs:
                jig = 0.04 * r * math.sin(3.7 * t + ph)
                c = (int(x + dx + sway + jig), int(y + dy))
                cv2.circle(img, c, max(1, int(rr)), tuple(v * self.dark for v in col), -1)

    def _sweeps(self, img: np.ndarray, t: float) -> None:
        for sw in self.s.sweeps:
            f = (t - sw.t) / sw.duration_s
            if not 0 <= f <= 1:
                continue
            b = self.s.building
            xm = (f if sw.direction > 0 else 1 - f) * (b.width_m + 10) - 5
            cx, cy = self.s.camera.point(xm, sw.y_m, 0)
            rx = int(self.s.camera.px_per_m(xm, sw.y_m, 0) * sw.reach_m)
            ry = max(4, rx // 2)
            x0, y0 = int(cx) - rx, int(cy) - ry
            yy, xx = np.mgrid[-ry:ry, -rx:rx].astype(np.float32)
            a = (
                np.exp(-(xx * xx / (rx * rx) + yy * yy / (ry * ry)) * 2.5)
                * 0.8
                * math.sin(math.pi * f)
            )
            x1, y1 = max(x0, 0), max(y0, 0)
            x2, y2 = min(x0 + 2 * rx, WIDTH), min(y0 + 2 * ry, HEIGHT)
            if x2 <= x1 or y2 <= y1:
                continue
            roi = img[y1:y2, x1:x2].astype(np.float32)
            gain = 1 + 2.5 * a[y1 - y0 : y2 - y0, x1 - x0 : x2 - x0, None]
            img[y1:y2, x1:x2] = np.clip(roi * gain + 25 * (gain - 1), 0, 255).astype(np.uint8)

    def _leaf(self, img: np.ndarray, lf: Leaf, t: float) -> None:
        p = lf.at_m(t)
        if p is None:
            return
        cam = self.s.camera
        x, y = cam.point(*p)
        if not (0 <= x < WIDTH and 0 <= y < HEIGHT):
            return
        size = max(1.5, lf.size_m * cam.px_per_m(*p))
        flip = math.cos(2 * math.pi * 1.3 * lf.swing_hz * (t - lf.t))
        col = np.array(lf.color, float) * (1.0 if flip > 0 else 0.7) * self.dark
        axes = (max(1, int(size)), max(1, int(size * (0.25 + 0.5 * abs(flip)))))
        cv2.ellipse(img, (int(x), int(y)), axes, (t * 90) % 180, 0, 360, tuple(col.tolist()), -1)

    def _bird(self, img: np.ndarray, b: Bird, t: float) -> None:
        p = b.at(t)
        if p is None:
            return
        x, y = p
        sz = b.size_px
        flap = math.sin(2 * math.pi * b.flap_hz * t)
        col = (50, 50, 55) if not self.s.cond.night else (70, 70, 70)
        cv2.ellipse(
            img, (int(x), int(y)), (max(1, int(sz / 2)), max(1, int(sz / 5))), 0, 0, 360, col, -1
        )
        for sgn in (-1, 1):
            tip = np.array(
                [(x, y), (x + sgn * sz * 0.7, y - flap * sz * 0.45), (x + sgn * sz * 0.2, y)],
                np.int32,
            )
            cv2.fillPoly(img, [tip], col)

    def _throw(self, img: np.ndarray, k: int, th: Throw, t: float) -> None:
        traj = self.trajs[k]
        if t < th.t - th.rest_s or t > traj[-1, 0] + 3.0:
            return
        cam = self.s.camera
        ex = self.exposure_s
        r = th.size_px / 2
        if t <= th.t:
            samples = [(t, np.array(th.pos))]
        else:
            # Motion blur: the shutter is open `ex` seconds; enough samples to leave no gaps.
            ends = cam.project(np.array([self._pos(traj, max(th.t, t - ex)), self._pos(traj, t)]))
            blur = float(np.hypot(*(ends[1] - ends[0])))
            n = int(min(24, max(2, math.ceil(blur / (0.6 * r + 0.5)) + 1)))
            ts = [max(th.t, t - ex + ex * j / (n - 1)) for j in range(n)]
            samples = [(u, self._pos(traj, u)) for u in ts]
        pts = cam.project(np.array([p for _, p in samples]))
        verts = np.array(th.verts)
        ang = np.linspace(0, 2 * math.pi, len(verts), endpoint=False)
        x0 = int(np.floor(pts[:, 0].min() - r - 2))
        y0 = int(np.floor(pts[:, 1].min() - r - 2))
        w = int(np.ceil(pts[:, 0].max() + r + 2)) - x0
        h = int(np.ceil(pts[:, 1].max() + r + 2)) - y0
        if w <= 0 or h <= 0 or w > 400 or h > 400:
            return
        acc = np.zeros((h * 4, w * 4), np.float32)
        one = np.zeros_like(acc, np.uint8)
        for (u, _), (px, py) in zip(samples, pts, strict=True):
            a = ang + 2 * math.pi * th.spin_hz * max(0.0, u - th.t)
            poly = np.stack([px - x0 + r * verts * np.cos(a), py - y0 + r * verts * np.sin(a)], 1)
            one[:] = 0
            cv2.fillPoly(one, [np.round(poly * 4).astype(np.int32)], 1)
            acc += one
        alpha = cv2.resize(acc / len(samples), (w, h), interpolation=cv2.INTER_AREA)
        light = self._light_at(float(pts[0, 0]), float(pts[0, 1]))
        col = np.array(th.color, np.float32) * light
        _blend(img, x0, y0, np.clip(alpha, 0, 1), col)

    @staticmethod
    def _pos(traj: np.ndarray, u: float) -> np.ndarray:
        i = int(np.searchsorted(traj[:, 0], u))
        i = min(max(i, 0), len(traj) - 1)
        return traj[i, 1:4]

    def _rain(self, img: np.ndarray) -> None:
        c = self.s.cond
        ov = np.zeros((HEIGHT, WIDTH), np.uint8)
        n = c.rain
        xs = self.rng.uniform(0, WIDTH, n)
        ys = self.rng.uniform(0, HEIGHT, n)
        ln = self.rng.uniform(12, 40, n)
        lvl = 40 if not c.night else 25
        for x, y, le in zip(xs, ys, ln, strict=True):
            cv2.line(ov, (int(x), int(y)), (int(x + c.wind * le), int(y + le)), lvl, 1, cv2.LINE_AA)
        cv2.add(img, cv2.merge([ov, ov, ov]), dst=img)

    def _bug(self, img: np.ndarray, bug: Bug, t: float) -> None:
        p = bug.at(t)
        if p is None:
            return
        sz = bug.size_px
        r = int(sz)
        yy, xx = np.mgrid[-r : r + 1, -r : r + 1].astype(np.float32)
        a = np.exp(-(xx * xx + yy * yy) / (2 * (sz / 2.5) ** 2))
        a *= 0.85 * (0.7 + 0.3 * math.sin(40 * t))
        col = np.float32(235 if self.s.cond.night else 30)
        _blend(img, int(p[0]) - r, int(p[1]) - r, a, col)

    def _shake(self, img: np.ndarray, t: float) -> np.ndarray:
        for t0, dur, amp, roll in self.s.cond.shakes:
            if t0 <= t <= t0 + dur:
                env = math.sin(math.pi * (t - t0) / dur)
                dx = amp * env * math.sin(2 * math.pi * 3.1 * t)
                dy = 0.7 * amp * env * math.sin(2 * math.pi * 4.3 * t + 1)
                ang = roll * env * math.sin(2 * math.pi * 2.2 * t)
                m = cv2.getRotationMatrix2D((WIDTH / 2, HEIGHT / 2), ang, 1.0)
                m[:, 2] += (dx, dy)
                return cv2.warpAffine(img, m, (WIDTH, HEIGHT), borderMode=cv2.BORDER_REFLECT)
        return img
