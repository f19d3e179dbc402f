"""The fire-lane scene: a painted lane in front of a building, with cars, e-bikes and people."""

from __future__ import annotations

import math

import cv2
import numpy as np

from devices.camera.config import CameraConfig, FireLaneConfig, FireLaneZone
from simulators.video.effects import Noise, Rain, apply_gain, apply_shake, gain_at, shake_offset
from simulators.video.timeline import LaneScript, Person, Vehicle

W, H = 1280, 720
LANE_X0, LANE_X1, LANE_Y0, LANE_Y1 = 160, 1120, 400, 630
ZONE_SPLIT = 640
FAR_Y, NEAR_Y = 505.0, 585.0
SIZES = {"car": (230, 96), "ebike": (90, 56)}


def zones() -> list[tuple[str, float, float]]:
    """(id, x0, x1) of the two painted zones."""
    return [("FL-1", LANE_X0, ZONE_SPLIT), ("FL-2", ZONE_SPLIT, LANE_X1)]


def zone_of(x: float) -> str:
    """Zone id that contains image x (inside the painted lane)."""
    return "FL-1" if x < ZONE_SPLIT else "FL-2"


def camera_config(
    dwell_s: float = 120.0, clear_s: float = 10.0, device_id: str = "CAM-LANE-1"
) -> CameraConfig:
    """The camera config for this scene."""
    return CameraConfig(
        device_id=device_id,
        frame_width=W,
        frame_height=H,
        fire_lanes=FireLaneConfig(
            dwell_s=dwell_s,
            clear_s=clear_s,
            zones=[
                FireLaneZone(
                    id=zid, polygon=[(x0, LANE_Y0), (x1, LANE_Y0), (x1, LANE_Y1), (x0, LANE_Y1)]
                )
                for zid, x0, x1 in zones()
            ],
        ),
    )


def vehicle_x(v: Vehicle, t: float) -> float | None:
    """Centre x at time t (drive in, optional stop, drive out), or None when out of view."""
    length = SIZES[v.kind][0]
    start = -length / 2 - 10 if v.direction > 0 else W + length / 2 + 10
    end = W + length / 2 + 10 if v.direction > 0 else -length / 2 - 10
    dt = t - v.t
    if dt < 0:
        return None
    if v.stop_x is None or v.stop_s <= 0:
        x = start + v.direction * v.speed * dt
    else:
        t_in = abs(v.stop_x - start) / v.speed
        if dt < t_in:
            x = start + v.direction * v.speed * dt
        elif dt < t_in + v.stop_s:
            x = v.stop_x
        else:
            # Parked cars often back out the way they came.
            out = -v.direction if v.reverse_out else v.direction
            x = v.stop_x + out * v.speed * (dt - t_in - v.stop_s)
            if v.reverse_out and (x - start) * v.direction < 0:
                return None
    if (end - x) * v.direction < 0:
        return None
    return x


def arrival(v: Vehicle) -> float:
    """Time the vehicle comes to rest at its stop."""
    length = SIZES[v.kind][0]
    start = -length / 2 - 10 if v.direction > 0 else W + length / 2 + 10
    assert v.stop_x is not None
    return v.t + abs(v.stop_x - start) / v.speed


def person_xy(p: Person, t: float) -> tuple[float, float, bool] | None:
    """Position and whether the person is walking, or None when not in view."""
    dt = t - p.t
    dist = math.hypot(p.x1 - p.x0, p.y1 - p.y0)
    walk = dist / p.speed
    if dt < 0 or dt > walk + p.pause_s:
        return None
    pause_at = walk * p.pause_frac
    if dt < pause_at:
        s, moving = dt / walk, True
    elif dt < pause_at + p.pause_s:
        s, moving = p.pause_frac, False
    else:
        s, moving = (dt - p.pause_s) / walk, True
    return p.x0 + (p.x1 - p.x0) * s, p.y0 + (p.y1 - p.y0) * s, moving


def _background(night: bool, rng: np.random.Generator) -> np.ndarray:
    k = 0.35 if night else 1.0
    img = np.empty((H, W, 3), np.uint8)

    def c(b: int, g: int, r: int) -> tuple[int, int, int]:
        return int(b * k), int(g * k), int(r * k)

    img[:290] = c(150, 160, 172)
    img[290:380] = c(165, 168, 168)
    img[380:650] = c(88, 88, 92)
    img[650:] = c(60, 120, 70)
    for x in range(60, W, 190):
        cv2.rectangle(img, (x, 60), (x + 110, 200), c(110, 95, 85), -1)
    cv2.rectangle(img, (560, 150), (700, 290), c(70, 60, 55), -1)
    for x in range(0, W, 60):
        cv2.line(img, (x, 290), (x, 380), c(140, 142, 142), 1)
    tex = rng.normal(0, 5, (270, W, 1))
    road = img[380:650].astype(np.float32) + tex
    img[380:650] = np.clip(road, 0, 255).astype(np.uint8)
    yellow = c(0, 190, 225)
    cv2.rectangle(img, (LANE_X0, LANE_Y0), (LANE_X1, LANE_Y1), yellow, 5)
    cv2.line(img, (ZONE_SPLIT, LANE_Y0), (ZONE_SPLIT, LANE_Y1), yellow, 3)
    for x in range(LANE_X0, LANE_X1 - 60, 70):
        cv2.line(img, (x, LANE_Y1 - 4), (x + 60, LANE_Y0 + 4), yellow, 2)
    cv2.putText(
        img, "FIRE LANE", (LANE_X0 + 20, LANE_Y1 + 14), cv2.FONT_HERSHEY_SIMPLEX, 0.5, yellow, 1
    )
    return img


class LaneRenderer:
    """Renders frames of a lane script; call `frame(i)` with increasing i."""

    def __init__(self, script: LaneScript, seed: int, fps: float = 25.0) -> None:
        self.script, self.fps = script, fps
        rng = np.random.default_rng(seed)
        self._night = script.effects.night
        self._base = _background(self._night, rng)
        self._noise = Noise((H, W), 4.5 if self._night else 2.5, seed + 1)
        self._rain = (
            Rain(script.effects.rain, 26 if self._night else 40, seed + 2)
            if script.effects.rain
            else None
        )

    def frame(self, index: int) -> np.ndarray:
        """The rendered BGR frame at `index`."""
        t = index / self.fps
        img = self._base.copy()
        sway = int(10 * math.sin(2 * math.pi * 0.4 * t))
        tree = (25, 50, 30) if self._night else (45, 110, 55)
        cv2.circle(img, (1220 + sway, 640), 70, tree, -1)
        # Far lane first, then people, then near lane: draw order is depth order.
        vehicles = sorted(self.script.vehicles, key=lambda v: v.y)
        for v in vehicles:
            if v.y <= FAR_Y:
                self._vehicle(img, v, t)
        for p in self.script.people:
            self._person(img, p, t)
        for v in vehicles:
            if v.y > FAR_Y:
                self._vehicle(img, v, t)
        if self._rain is not None:
            img = self._rain.apply(img)
        img = apply_gain(img, gain_at(self.script.effects.gain_steps, t))
        img = apply_shake(img, shake_offset(self.script.effects.shakes, t))
        return self._noise.apply(img)

    def _shade(self, color: tuple[int, int, int]) -> tuple[int, int, int]:
        if not self._night:
            return color
        return int(color[0] * 0.45), int(color[1] * 0.45), int(color[2] * 0.45)

    def _vehicle(self, img: np.ndarray, v: Vehicle, t: float) -> None:
        x = vehicle_x(v, t)
        if x is None:
            return
        length, height = SIZES[v.kind]
        x0, x1 = int(x - length / 2), int(x + length / 2)
        y0, y1 = int(v.y - height / 2), int(v.y + height / 2)
        body = self._shade(v.color)
        dark = self._shade((30, 30, 30))
        if v.kind == "car":
            cv2.rectangle(img, (x0, y0 + height // 3), (x1, y1 - 12), body, -1)
            cv2.rectangle(
                img, (x0 + length // 5, y0), (x1 - length // 5, y0 + height // 3), body, -1
            )
            cv2.rectangle(
                img,
                (x0 + length // 5 + 8, y0 + 6),
                (x1 - length // 5 - 8, y0 + height // 3),
                self._shade((90, 70, 60)),
                -1,
            )
            for wx in (x0 + 40, x1 - 40):
                cv2.circle(img, (wx, y1 - 14), 16, dark, -1)
            lamp = (200, 230, 255) if self._night else (180, 210, 230)
            front = x1 - 6 if v.direction > 0 else x0 + 6
            cv2.circle(img, (front, y0 + height // 2), 6, lamp, -1)
        else:
            # A scooter-style e-bike (电动车) with plastic bodywork, as most are in China.
            for wx in (x0 + 16, x1 - 16):
                cv2.circle(img, (wx, y1 - 14), 14, dark, -1)
            front = x1 - 22 if v.direction > 0 else x0 + 4
            cv2.rectangle(img, (x0 + 10, y0 + 18), (x1 - 10, y1 - 18), body, -1)
            cv2.rectangle(img, (front, y0), (front + 18, y1 - 18), body, -1)
            cv2.rectangle(img, (x0 + 18, y0 + 10), ((x0 + x1) // 2 + 6, y0 + 20), dark, -1)

    def _person(self, img: np.ndarray, p: Person, t: float) -> None:
        pos = person_xy(p, t)
        if pos is None:
            return
        x, y, moving = pos
        cx, cy = int(x), int(y)
        color = self._shade(p.color)
        skin = self._shade((120, 150, 190))
        stride = int(6 * math.sin(2 * math.pi * 1.8 * t)) if moving else 0
        cv2.line(img, (cx - 3, cy + 6), (cx - 3 + stride, cy + 26), self._shade((40, 40, 40)), 4)
        cv2.line(img, (cx + 3, cy + 6), (cx + 3 - stride, cy + 26), self._shade((40, 40, 40)), 4)
        cv2.rectangle(img, (cx - 7, cy - 18), (cx + 7, cy + 8), color, -1)
        cv2.circle(img, (cx, cy - 25), 7, skin, -1)
