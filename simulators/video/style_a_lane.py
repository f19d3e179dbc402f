"""Rendering style A of a randomised fire-lane plan: flat-shaded OpenCV shapes on a warped road."""

from __future__ import annotations

import math

import cv2
import numpy as np

from simulators.video.actors import Passer, Stop, apparent_size
from simulators.video.effects import Noise, Rain, apply_gain, apply_shake, gain_at, shake_offset
from simulators.video.geometry import H, W
from simulators.video.random_lane_plan import LanePlan
from simulators.video.style_a import effect_lists

_K = 20  # canvas pixels per metre


def _road(plan: LanePlan, night: bool, rng: np.random.Generator) -> np.ndarray:
    geo = plan.geo
    k = 0.35 if night else 1.0
    margin = 6.0  # metres of road beyond the painted lane on each side
    cw, ch = int(geo.length_m * _K) + 1, int((geo.width_m + 2 * margin) * _K) + 1
    canvas = np.empty((ch, cw, 3), np.float32)
    canvas[:] = np.array((88, 88, 92), np.float32) * k
    canvas += rng.normal(0, 5, (ch, cw, 1)).astype(np.float32) * k
    canvas = np.clip(canvas, 0, 255).astype(np.uint8)
    yellow = (0, int(190 * k), int(225 * k))

    def pt(u: float, v: float) -> tuple[int, int]:
        return int(u * _K), int((v + margin) * _K)

    cv2.rectangle(canvas, pt(0, 0), pt(geo.length_m, geo.width_m), yellow, 5)
    for _, u0, _ in geo.zones()[1:]:
        cv2.line(canvas, pt(u0, 0), pt(u0, geo.width_m), yellow, 4)
    u = 0.0
    while u < geo.length_m - 2:
        cv2.line(canvas, pt(u, 0.3), pt(u + 1.8, geo.width_m - 0.3), yellow, 2)
        u += 2.5
    # Canvas (x, y) → ground (x / K, y / K - margin) → image.
    to_m = np.array([[1 / _K, 0, 0], [0, 1 / _K, -margin], [0, 0, 1]])
    return cv2.warpPerspective(
        canvas,
        geo.h @ to_m,
        (W, H),
        flags=cv2.INTER_AREA,
        borderMode=cv2.BORDER_TRANSPARENT,
        dst=_scenery(night, rng),
    )


def _scenery(night: bool, rng: np.random.Generator) -> np.ndarray:
    k = 0.35 if night else 1.0
    img = np.empty((H, W, 3), np.uint8)
    img[:] = (int(150 * k), int(160 * k), int(172 * k))
    img[int(H * 0.3) :] = (int(70 * k), int(110 * k), int(75 * k))
    for x in range(40, W, 170):
        cv2.rectangle(img, (x, 40), (x + 100, 170), (int(110 * k), int(95 * k), int(85 * k)), -1)
    tex = rng.normal(0, 4, (H, W, 1))
    return np.clip(img + tex, 0, 255).astype(np.uint8)


class StyleALane:
    """Renders frames of a randomised lane plan; call `frame(i)` with increasing i."""

    def __init__(self, plan: LanePlan) -> None:
        self.plan = plan
        rng = np.random.default_rng(plan.seed)
        self._night = plan.weather.night
        self._base = _road(plan, self._night, rng)
        self._noise = Noise((H, W), 4.5 if self._night else 2.5, plan.seed + 1)
        w = plan.weather
        self._rain = Rain(w.rain, 26 if self._night else 40, plan.seed + 2) if w.rain else None
        self._gains, self._shakes = effect_lists(w)

    def frame(self, index: int) -> np.ndarray:
        """The rendered BGR frame at `index`."""
        t = index / self.plan.fps
        img = self._base.copy()
        items: list[tuple[float, Stop | Passer, float, float]] = []
        for s in self.plan.stops:
            off = s.offset_m(t)
            if off is not None:
                items.append((s.u + off, s, s.u + off, s.v))
        for p in self.plan.passers:
            pos = p.at(t)
            if pos is not None:
                items.append((pos[0], p, pos[0], pos[1]))
        # Far things first: the painter's algorithm is the depth order.
        for _, obj, u, v in sorted(items, key=lambda it: -it[0]):
            if isinstance(obj, Stop):
                self._object(img, obj.kind, obj.color, u, v, obj.yaw_deg, t)
            else:
                self._object(img, obj.kind, obj.color, u, v, 0.0, t)
        if self._rain is not None:
            img = self._rain.apply(img)
        if self.plan.weather.fog:
            f = self.plan.weather.fog
            img = cv2.addWeighted(
                img, 1 - f, np.full_like(img, 160 if not self._night else 50), f, 0
            )
        img = apply_gain(img, gain_at(self._gains, t))
        img = apply_shake(img, shake_offset(self._shakes, t))
        return self._noise.apply(img)

    def _shade(self, color: tuple[int, int, int]) -> tuple[int, int, int]:
        if not self._night:
            return color
        return int(color[0] * 0.45), int(color[1] * 0.45), int(color[2] * 0.45)

    def _object(
        self, img: np.ndarray, kind: str, color: tuple, u: float, v: float, yaw: float, t: float
    ) -> None:
        geo = self.plan.geo
        if not -4 < u < geo.length_m + 4:
            return
        w, h = apparent_size(geo, kind, u, v, yaw)
        if not (w <= 1.2 * W and h <= 1.2 * H):
            return  # at or behind the camera
        x, y = geo.to_image(u, v)
        x0, x1, y0, y1 = int(x - w / 2), int(x + w / 2), int(y - h), int(y)
        body, dark = self._shade(color), self._shade((30, 30, 30))
        r = max(1, int(0.18 * h))
        if kind == "car":
            cv2.rectangle(img, (x0, y0 + int(h * 0.35)), (x1, y1 - r), body, -1)
            cv2.rectangle(
                img, (x0 + int(w * 0.15), y0), (x1 - int(w * 0.15), y0 + int(h * 0.4)), body, -1
            )
            cv2.rectangle(
                img,
                (x0 + int(w * 0.2), y0 + 2),
                (x1 - int(w * 0.2), y0 + int(h * 0.35)),
                self._shade((90, 70, 60)),
                -1,
            )
            for wx in (x0 + r, x1 - r):
                cv2.circle(img, (wx, y1 - r), r, dark, -1)
        elif kind == "boxes":
            cv2.rectangle(img, (x0, y0 + int(h * 0.45)), (x1, y1), self._shade((60, 120, 170)), -1)
            cv2.rectangle(
                img,
                (x0 + int(w * 0.15), y0),
                (x1 - int(w * 0.1), y0 + int(h * 0.45)),
                self._shade((80, 140, 190)),
                -1,
            )
            cv2.line(
                img,
                (x0, y0 + int(h * 0.45)),
                (x1, y0 + int(h * 0.45)),
                self._shade((40, 80, 110)),
                1,
            )
        elif kind in ("bicycle", "tricycle", "ebike", "scooter"):
            wheels = 3 if kind == "tricycle" else 2
            rr = max(1, int(0.3 * h))
            for i in range(wheels):
                wx = x0 + rr + int(i * (w - 2 * rr) / max(1, wheels - 1))
                thick = -1 if kind in ("ebike", "scooter") else max(1, rr // 4)
                cv2.circle(img, (wx, y1 - rr), rr, dark, thick)
            frame_y = y1 - rr
            thick = max(1, int(0.06 * h))
            cv2.line(img, (x0 + rr, frame_y), ((x0 + x1) // 2, y0 + int(0.35 * h)), body, thick)
            cv2.line(img, ((x0 + x1) // 2, y0 + int(0.35 * h)), (x1 - rr, frame_y), body, thick)
            cv2.line(img, (x1 - rr, frame_y), (x1 - rr, y0), body, thick)
            if kind in ("ebike", "scooter", "tricycle"):
                cv2.rectangle(
                    img, (x0 + rr // 2, y0 + int(0.35 * h)), (x1 - rr, y1 - 2 * rr), body, -1
                )
        else:  # person
            stride = int(0.1 * h * math.sin(2 * math.pi * 1.8 * t))
            leg = self._shade((40, 40, 40))
            cv2.line(
                img,
                (int(x) - 2, y1 - int(0.45 * h)),
                (int(x) - 2 + stride, y1),
                leg,
                max(1, int(0.08 * h)),
            )
            cv2.line(
                img,
                (int(x) + 2, y1 - int(0.45 * h)),
                (int(x) + 2 - stride, y1),
                leg,
                max(1, int(0.08 * h)),
            )
            cv2.rectangle(
                img,
                (int(x - w / 2), y0 + int(0.15 * h)),
                (int(x + w / 2), y1 - int(0.42 * h)),
                body,
                -1,
            )
            cv2.circle(
                img,
                (int(x), y0 + int(0.08 * h)),
                max(1, int(0.08 * h)),
                self._shade((120, 150, 190)),
                -1,
            )
