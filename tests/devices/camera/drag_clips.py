"""Style C clips with one light object (strong air drag) thrown at a far facade, nothing else."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from devices.camera.config import dump_config
from simulators.video.style_c.clip import conditions, facade_config, facade_truth, write
from simulators.video.style_c.facade_draw import StyleCFacade
from simulators.video.style_c.facade_scene import Conditions, Throw, plan_facade_c

RELEASE_T = 1.0


def drag_throw(out: Path, drag: float, seed: int = 7003, duration_s: float = 5.0) -> Path:
    """A far facade on a clear day with one throw from the highest window that can be seen
    falling 3 storeys, with quadratic drag `drag` (1/m: 0.2 is a terminal speed of 7 m/s, a
    bag of rubbish). Birds, leaves, insects, window events, light changes and shake removed.
    Returns the truth file's path (video and config beside it)."""
    s = plan_facade_c(seed, 120.0, "far")
    s.duration_s = duration_s
    s.cond = Conditions(night=False, rain=0, haze=0.0, wind=0.0)
    s.birds, s.leaves, s.bugs, s.events, s.sweeps = [], [], [], [], []
    template: Throw = s.throws[0]
    s.throws = [
        replace(
            template,
            t=RELEASE_T,
            vel=(0.8, 0.5, 0.3),
            drag=drag,
            rest_s=0.0,
            dark=True,
            color=(30, 30, 40),
            size_px=max(template.size_px, 7.0),
            size_m=template.size_m * max(1.0, 7.0 / template.size_px),
        )
    ]
    r = StyleCFacade(s)
    stem = f"drag-{seed}-{drag:g}"
    write(out, stem, s.fps, round(duration_s * s.fps), r)
    truth = {"fps": s.fps, "conditions": conditions(s.cond)} | facade_truth(s, r)
    path = out / f"{stem}.truth.json"
    path.write_text(json.dumps(truth), encoding="utf-8")
    dump_config(facade_config(s, r), out / f"{stem}.camera.yaml")
    return path
