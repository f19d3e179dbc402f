"""Style C clips with one light object (strong air drag) thrown at a far facade, nothing else."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from devices.camera.config import dump_config
from simulators.video.style_c.clip import conditions, facade_config, facade_truth, write
from simulators.video.style_c.facade_draw import StyleCFacade
from simulators.video.style_c.facade_scene import Conditions, FacadeScene, Throw, plan_facade_c

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
    return write_facade(out, f"drag-{seed}-{drag:g}", s, duration_s)


def write_facade(out: Path, stem: str, s: FacadeScene, duration_s: float) -> Path:
    """Render scene `s` for `duration_s` with its truth and camera config beside it; the
    truth file's path."""
    r = StyleCFacade(s)
    write(out, stem, s.fps, round(duration_s * s.fps), r)
    truth = {"fps": s.fps, "conditions": conditions(s.cond)} | facade_truth(s, r)
    path = out / f"{stem}.truth.json"
    path.write_text(json.dumps(truth), encoding="utf-8")
    dump_config(facade_config(s, r), out / f"{stem}.camera.yaml")
    return path


def falls_in(truth_path: Path) -> tuple[dict[str, Any], list[Any]]:
    """The clip's one throw (from its truth) and the falling objects the analyzer found in
    it, run with the clip's own config."""
    from devices.camera.analyze import Analyzer, run
    from devices.camera.config import load_config
    from devices.camera.source import FrameSource

    truth = json.loads(truth_path.read_text())
    [throw] = truth["events"]
    stem = truth_path.name.removesuffix(".truth.json")
    video = next(p for p in truth_path.parent.glob(stem + ".*") if p.suffix == ".avi")
    source = FrameSource(str(video), threads=1)
    config = load_config(truth_path.parent / f"{stem}.camera.yaml")
    found = list(run(source, Analyzer(config, source.fps)))
    source.close()
    return throw, [d for d in found if d.type == "falling_object"]
