"""The facade scene: a ten-storey building seen from across the yard, with trees, sky and actors."""

from __future__ import annotations

import math

import cv2
import numpy as np

from devices.camera.config import (
    CameraConfig,
    FallingConfig,
    Floors,
    Mask,
)
from simulators.video.effects import Noise, Rain, apply_gain, apply_shake, gain_at, shake_offset
from simulators.video.timeline import FacadeScript, Throw

W, H = 1280, 720
LEFT, RIGHT = 240, 1040
ROOF_Y, GROUND_Y = 70, 670
FLOORS = 10
FLOOR_PX = (GROUND_Y - ROOF_Y) // FLOORS  # 60 px per 3 m storey
FLOOR_M = 3.0
PX_PER_M = FLOOR_PX / FLOOR_M
G_PX = 9.81 * PX_PER_M
COLUMNS = 8
COLUMN_PX = (RIGHT - LEFT) // COLUMNS
WIN_W, WIN_TOP, WIN_SILL = 50, 52, 18  # window width; top and sill heights above the floor line
TREES = ((150, 560), (1140, 580))
TREE_RADIUS = 120


def floor_line(floor: int) -> int:
    """Image y of the slab at the bottom of `floor` (1 = ground floor)."""
    return GROUND_Y - (floor - 1) * FLOOR_PX


def window_rect(index: int) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) of window `index` = (floor - 1) * COLUMNS + column."""
    floor, column = index // COLUMNS + 1, index % COLUMNS
    x0 = LEFT + column * COLUMN_PX + (COLUMN_PX - WIN_W) // 2
    base = floor_line(floor)
    return x0, base - WIN_TOP, x0 + WIN_W, base - WIN_SILL


def throw_start(throw: Throw) -> tuple[float, float]:
    """Where a thrown object is released: on the sill of its window, inside the opening."""
    x0, _, x1, y1 = window_rect((throw.floor - 1) * COLUMNS + throw.column)
    return (x0 + x1) / 2, y1 - throw.size / 2


def throw_position(throw: Throw, t: float) -> tuple[float, float] | None:
    """Ballistic position at time t, or None before release or after it reached the ground."""
    dt = t - throw.t
    if dt < 0:
        return None
    x0, y0 = throw_start(throw)
    y = y0 + throw.vy * dt + 0.5 * G_PX * dt * dt
    if y > GROUND_Y + throw.size:
        return None
    return x0 + throw.vx * dt, y


def curtained(seed: int) -> list[int]:
    """Windows whose curtains move in the wind; the camera config masks them."""
    rng = np.random.default_rng(seed + 17)
    return sorted(rng.choice(FLOORS * COLUMNS, 10, replace=False).tolist())


def camera_config(seed: int, device_id: str = "CAM-FACADE-1") -> CameraConfig:
    """The camera config an installer would draw for this scene."""
    masks = [
        Mask(name="sky", kind="sky", polygon=[(0, 0), (W, 0), (W, ROOF_Y - 2), (0, ROOF_Y - 2)]),
    ]
    for i, (cx, cy) in enumerate(TREES):
        r = TREE_RADIUS + 35
        masks.append(
            Mask(
                name=f"tree-{i + 1}",
                kind="trees",
                polygon=[(cx - r, cy - r), (cx + r, cy - r), (cx + r, H), (cx - r, H)],
            )
        )
    for idx in curtained(seed):
        x0, y0, x1, y1 = window_rect(idx)
        masks.append(
            Mask(
                name=f"window-{idx}",
                kind="window",
                polygon=[(x0 - 2, y0 - 2), (x1 + 2, y0 - 2), (x1 + 2, y1 + 1), (x0 - 2, y1 + 1)],
            )
        )
    lines = [(LEFT, floor_line(f), RIGHT, floor_line(f)) for f in range(1, FLOORS + 2)]
    return CameraConfig(
        device_id=device_id,
        frame_width=W,
        frame_height=H,
        falling=FallingConfig(
            facade=[(LEFT, ROOF_Y), (RIGHT, ROOF_Y), (RIGHT, GROUND_Y), (LEFT, GROUND_Y)],
            masks=masks,
            floors=Floors(first=1, height_m=FLOOR_M, lines=lines),
        ),
    )


def _background(night: bool, rng: np.random.Generator) -> np.ndarray:
    sky = (60, 35, 20) if night else (225, 195, 150)
    facade = (52, 55, 60) if night else (168, 184, 198)
    glass = (28, 24, 22) if night else (120, 100, 88)
    slab = (40, 42, 46) if night else (140, 152, 165)
    ground = (35, 38, 40) if night else (120, 125, 125)
    img = np.empty((H, W, 3), np.uint8)
    img[:] = sky
    img[GROUND_Y:] = ground
    cv2.rectangle(img, (LEFT, ROOF_Y), (RIGHT, GROUND_Y), facade, -1)
    # Fixed texture: real facades have tiles and stains that give the segmenter edges to cope with.
    tex = rng.normal(0, 4 if night else 6, (GROUND_Y - ROOF_Y, RIGHT - LEFT, 1))
    block = img[ROOF_Y:GROUND_Y, LEFT:RIGHT].astype(np.float32) + tex
    img[ROOF_Y:GROUND_Y, LEFT:RIGHT] = np.clip(block, 0, 255).astype(np.uint8)
    for f in range(1, FLOORS + 2):
        y = floor_line(f)
        cv2.rectangle(img, (LEFT, y - 3), (RIGHT, y), slab, -1)
    for idx in range(FLOORS * COLUMNS):
        x0, y0, x1, y1 = window_rect(idx)
        cv2.rectangle(img, (x0, y0), (x1, y1), glass, -1)
        cv2.rectangle(img, (x0, y0), (x1, y1), slab, 2)
        cv2.line(img, ((x0 + x1) // 2, y0), ((x0 + x1) // 2, y1), slab, 1)
    cv2.rectangle(img, (LEFT - 6, ROOF_Y - 8), (RIGHT + 6, ROOF_Y), slab, -1)
    return img


class FacadeRenderer:
    """Renders frames of a facade script; call `frame(i)` with increasing i."""

    def __init__(self, script: FacadeScript, seed: int, fps: float = 25.0) -> None:
        self.script, self.fps = script, fps
        rng = np.random.default_rng(seed)
        self._rng = rng
        night = script.effects.night
        self._night = night
        self._base = _background(night, rng)
        self._noise = Noise((H, W), 4.5 if night else 2.5, seed + 1)
        self._rain = (
            Rain(script.effects.rain, 26 if night else 40, seed + 2)
            if script.effects.rain
            else None
        )
        self._curtains = curtained(seed)
        self._curtain_phase = rng.uniform(0, 2 * math.pi, len(self._curtains))
        self._lit = set(script.lit_windows)
        self._toggles = sorted(script.toggles, key=lambda tg: tg.t)
        self._next_toggle = 0
        self._foliage = [
            (
                cx + int(rng.integers(-70, 70)),
                cy + int(rng.integers(-90, 60)),
                int(rng.integers(35, 65)),
                rng.uniform(0, 6.28),
                rng.uniform(0.3, 0.8),
            )
            for cx, cy in TREES
            for _ in range(9)
        ]

    def frame(self, index: int) -> np.ndarray:
        """The rendered BGR frame at `index`."""
        t = index / self.fps
        img = self._base.copy()
        self._windows(img, t)
        self._trees(img, t)
        for throw in self.script.throws:
            self._throw(img, throw, t)
        for bird in self.script.birds:
            dt = t - bird.t
            if 0 <= dt <= bird.duration_s:
                self._bird(
                    img,
                    bird.x + bird.vx * dt,
                    bird.y + bird.vy * dt + bird.wobble * math.sin(2.1 * dt),
                    bird.size,
                    math.sin(2 * math.pi * bird.flap_hz * dt),
                )
        for leaf in self.script.leaves:
            dt = t - leaf.t
            if 0 <= dt <= leaf.duration_s:
                x = leaf.x + leaf.sway * math.sin(2 * math.pi * leaf.sway_hz * dt)
                y = leaf.y + leaf.speed * dt + 4 * math.sin(2 * math.pi * leaf.sway_hz * 2 * dt)
                axis = (leaf.size, max(2, int(leaf.size * abs(math.cos(3 * dt)))))
                cv2.ellipse(
                    img,
                    (int(x), int(y)),
                    axis,
                    40 * dt,
                    0,
                    360,
                    self._dim(leaf.color),
                    -1,
                    cv2.LINE_AA,
                )
        for insect in self.script.insects:
            dt = t - insect.t
            if 0 <= dt <= insect.duration_s:
                ph = insect.seed
                x = insect.x + 120 * math.sin(3.3 * dt + ph) + 60 * math.sin(7.9 * dt + 2 * ph)
                y = insect.y + 90 * math.sin(4.1 * dt + 3 * ph) + 50 * math.sin(9.7 * dt + ph)
                shade = (25, 25, 25) if not self._night else (80, 80, 80)
                cv2.circle(img, (int(x), int(y)), insect.size, shade, -1, cv2.LINE_AA)
        if self._rain is not None:
            img = self._rain.apply(img)
        img = apply_gain(img, gain_at(self.script.effects.gain_steps, t))
        img = apply_shake(img, shake_offset(self.script.effects.shakes, t))
        return self._noise.apply(img)

    def _dim(self, color: tuple[int, int, int]) -> tuple[int, int, int]:
        # At night objects are lit only by windows and lamps: keep hue, cut brightness.
        if not self._night:
            return color
        return (int(color[0] * 0.45 + 18), int(color[1] * 0.45 + 18), int(color[2] * 0.45 + 18))

    def _windows(self, img: np.ndarray, t: float) -> None:
        while self._next_toggle < len(self._toggles) and self._toggles[self._next_toggle].t <= t:
            toggle = self._toggles[self._next_toggle]
            (self._lit.add if toggle.on else self._lit.discard)(toggle.window)
            self._next_toggle += 1
        lit = (90, 170, 220) if self._night else (150, 150, 145)
        for idx in self._lit:
            x0, y0, x1, y1 = window_rect(idx)
            cv2.rectangle(img, (x0 + 2, y0 + 2), (x1 - 2, y1 - 2), lit, -1)
        curtain = (70, 60, 110) if self._night else (150, 140, 200)
        for idx, phase in zip(self._curtains, self._curtain_phase, strict=True):
            x0, y0, x1, y1 = window_rect(idx)
            edge = x0 + 2 + int((x1 - x0 - 4) * (0.45 + 0.3 * math.sin(1.7 * t + phase)))
            cv2.rectangle(img, (x0 + 2, y0 + 2), (edge, y1 - 2), curtain, -1)

    def _trees(self, img: np.ndarray, t: float) -> None:
        for cx, _cy in TREES:
            cv2.rectangle(img, (cx - 10, 600), (cx + 10, H), (30, 50, 70), -1)
        leaf = (30, 55, 35) if self._night else (50, 120, 60)
        for x, y, r, phase, hz in self._foliage:
            dx = int(12 * math.sin(2 * math.pi * hz * t + phase))
            cv2.circle(img, (x + dx, y), r, leaf, -1)

    def _throw(self, img: np.ndarray, throw: Throw, t: float) -> None:
        now = throw_position(throw, t)
        if now is None:
            return
        # Half-frame exposure: a fast object is a streak, as it is on a real camera.
        before = throw_position(throw, max(throw.t, t - 0.5 / self.fps)) or now
        color = self._dim(throw.color)
        p0 = (round(before[0]), round(before[1]))
        p1 = (round(now[0]), round(now[1]))
        cv2.line(img, p0, p1, color, throw.size, cv2.LINE_AA)

    def _bird(self, img: np.ndarray, x: float, y: float, size: int, flap: float) -> None:
        color = (45, 45, 50) if not self._night else (30, 30, 35)
        cx, cy = int(x), int(y)
        cv2.ellipse(img, (cx, cy), (size // 2, max(2, size // 5)), 0, 0, 360, color, -1)
        lift = int(size * 0.6 * flap)
        pts = np.array([[cx - size, cy - lift], [cx, cy], [cx + size, cy - lift]], np.int32)
        cv2.polylines(img, [pts], False, color, 2, cv2.LINE_AA)
