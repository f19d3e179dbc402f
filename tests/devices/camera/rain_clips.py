"""Short style C clips of heavy rain with one throw: a set clip's scene, rain and throw,
everything else (birds, leaves, insects, window events, light changes, shake) removed."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from simulators.video.style_c.facade_scene import plan_facade_c
from tests.devices.camera.drag_clips import RELEASE_T, write_facade

__all__ = ["RELEASE_T", "rain_throw"]


def rain_throw(out: Path, seed: int, band: str, k: int, duration_s: float = 5.0) -> Path:
    """Throw `k` of style C clip `seed` (its scale `band`, its rain), released at RELEASE_T in
    a clip of `duration_s`. Returns the truth file's path (video and config beside it)."""
    s = plan_facade_c(seed, 120.0, band)
    s.duration_s = duration_s
    s.birds, s.leaves, s.bugs, s.events, s.sweeps = [], [], [], [], []
    s.cond = replace(s.cond, light=[], shakes=[])
    s.throws = [replace(s.throws[k], t=RELEASE_T)]
    return write_facade(out, f"rain-{seed}-{k}", s, duration_s)
