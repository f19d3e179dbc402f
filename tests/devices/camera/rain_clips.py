"""Short style C clips of heavy rain with one throw: a set clip's scene, rain and throw,
everything else (birds, leaves, insects, window events, light changes, shake) removed."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from devices.camera.config import dump_config
from simulators.video.style_c.clip import conditions, facade_config, facade_truth, write
from simulators.video.style_c.facade_draw import StyleCFacade
from simulators.video.style_c.facade_scene import plan_facade_c

RELEASE_T = 1.0


def rain_throw(out: Path, seed: int, band: str, k: int, duration_s: float = 5.0) -> Path:
    """Throw `k` of style C clip `seed` (its scale `band`, its rain), released at RELEASE_T in
    a clip of `duration_s`. Returns the truth file's path (video and config beside it)."""
    s = plan_facade_c(seed, 120.0, band)
    s.duration_s = duration_s
    s.birds, s.leaves, s.bugs, s.events, s.sweeps = [], [], [], [], []
    s.cond = replace(s.cond, light=[], shakes=[])
    s.throws = [replace(s.throws[k], t=RELEASE_T)]
    r = StyleCFacade(s)
    stem = f"rain-{seed}-{k}"
    write(out, stem, s.fps, round(duration_s * s.fps), r)
    truth = {"fps": s.fps, "conditions": conditions(s.cond)} | facade_truth(s, r)
    path = out / f"{stem}.truth.json"
    path.write_text(json.dumps(truth), encoding="utf-8")
    dump_config(facade_config(s, r), out / f"{stem}.camera.yaml")
    return path
