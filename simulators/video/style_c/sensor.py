"""Style C sensor: scene light, lagging stepped auto-exposure, tone curve, noise, JPEG blocking."""

from __future__ import annotations

import math

import cv2
import numpy as np

from simulators.video.style_c.camera import HEIGHT, WIDTH

PAD = 48


class Sensor:
    """Turns a rendered picture (scene light, 8 bit) into what a cheap IP camera would send."""

    def __init__(
        self,
        rng: np.random.Generator,
        night: bool,
        fps: float,
        light: list[tuple[float, float, float]],
    ) -> None:
        self.fps = fps
        self.light = light
        self.night = night
        self.sigma = float(rng.uniform(5.0, 9.0) if night else rng.uniform(1.5, 3.5))
        self.gamma = float(rng.uniform(0.8, 1.2))
        self.quality = int(rng.integers(35, 70))
        self.wb = rng.uniform(0.92, 1.08, 3)
        self.ae_tau = float(rng.uniform(0.6, 2.0))
        self.ae_step = float(rng.uniform(0.02, 0.06))  # exposure moves in steps this big
        self.exposure = 1.0
        self.target: float | None = None
        self.mono = bool(night and rng.random() < 0.4)  # infrared mode: grey picture
        bank_rng = np.random.default_rng(int(rng.integers(1 << 30)))
        self.bank = [
            np.clip(bank_rng.normal(0, self.sigma, (HEIGHT + PAD, WIDTH + PAD)), -127, 127).astype(
                np.int16
            )
            for _ in range(6)
        ]
        self.rng = bank_rng
        self._lut_key: tuple[int, int] | None = None
        self._lut: np.ndarray | None = None

    def scene_gain(self, t: float) -> float:
        """The scene's light at t relative to the start (clouds, the sun, lamps)."""
        g = 1.0
        for t0, gain, ramp in self.light:
            if t <= t0:
                break
            f = 1.0 if ramp <= 0 else min(1.0, (t - t0) / ramp)
            g = g * (1 + (gain - 1) * (0.5 - 0.5 * math.cos(math.pi * f)))
        return g

    def _lut_for(self, total: float) -> np.ndarray:
        key = (round(total * 200), 0)
        if key != self._lut_key:
            x = np.arange(256, dtype=np.float32) / 255.0
            y = np.clip(total * x, 0, 1.0) ** self.gamma
            # A soft shoulder instead of a hard clip, as camera tone curves do.
            y = np.where(y > 0.85, 0.85 + 0.15 * np.tanh((y - 0.85) / 0.15), y)
            lut = np.stack([np.clip(255 * y * w, 0, 255) for w in self.wb], -1)
            self._lut = lut.astype(np.uint8).reshape(256, 1, 3)
            self._lut_key = key
        assert self._lut is not None
        return self._lut

    def apply(self, img: np.ndarray, t: float) -> np.ndarray:
        """The camera's output frame for the scene picture `img` at time t."""
        gain = self.scene_gain(t)
        small = cv2.resize(img, (64, 36), interpolation=cv2.INTER_AREA)
        level = float(small.mean()) * gain * self.exposure
        if self.target is None:
            self.target = level
        # Auto-exposure: pulls the mean back to where it started, late and in steps.
        want = self.exposure * (self.target / max(level, 1.0)) ** 0.8
        move = (want - self.exposure) * min(1.0, 1.0 / (self.ae_tau * self.fps))
        if abs(want - self.exposure) > self.ae_step:
            self.exposure += math.copysign(max(abs(move), 0.25 * self.ae_step), move)
        lut = self._lut_for(gain * self.exposure)
        out = cv2.LUT(img, lut)
        k = int(self.rng.integers(len(self.bank)))
        oy, ox = int(self.rng.integers(PAD)), int(self.rng.integers(PAD))
        noise = self.bank[k][oy : oy + HEIGHT, ox : ox + WIDTH]
        buf = out.astype(np.int16)
        buf += noise[..., None] if self.mono else np.stack([noise, noise[:, ::-1], noise[::-1]], -1)
        if self.night:
            # Row noise of a cheap sensor at high gain.
            buf += self.rng.normal(0, 1.2, (HEIGHT, 1, 1)).astype(np.int16)
        np.clip(buf, 0, 255, out=buf)
        out = buf.astype(np.uint8)
        if self.mono:
            g = cv2.cvtColor(out, cv2.COLOR_BGR2GRAY)
            out = cv2.merge([g, g, g])
        ok, enc = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, self.quality])
        if not ok:
            raise OSError("JPEG encoding failed")
        return cv2.imdecode(enc, cv2.IMREAD_COLOR)
