"""Render randomised plans in either style to a clip, its ground truth and the installer's config.

The config is what a site installer would draw from the picture: the facade outline, slab
lines, the sky and tree outlines (traced finely, ~150 vertices) — never the curtain windows —
each point off by up to a pixel or two; for lanes the painted zones.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np

from devices.camera.config import (
    CameraConfig,
    FallingConfig,
    FireLaneConfig,
    FireLaneZone,
    Floors,
    Mask,
    dump_config,
)
from simulators.video.actors import apparent_size
from simulators.video.geometry import H, W, tree_outline
from simulators.video.random_lane_plan import LanePlan, plan_lane, zone_share
from simulators.video.random_plan import FacadePlan, plan_facade

STYLES = ("a", "b")


class Renderer(Protocol):
    """Anything that renders frame i of a plan."""

    def frame(self, index: int) -> np.ndarray:
        """BGR frame."""
        ...


@dataclass(frozen=True)
class RandomClip:
    """Paths of one generated clip."""

    video: Path
    truth: Path
    config: Path


def scale_band(storey_px: float) -> str:
    """far (< 33 px per storey), mid (33–50) or near (≥ 50)."""
    return "far" if storey_px < 33 else "mid" if storey_px < 50 else "near"


def size_band(size_px: float) -> str:
    """small (< 9 px), medium (9–16) or large (> 16)."""
    return "small" if size_px < 9 else "medium" if size_px <= 16 else "large"


def _jitter(rng: np.random.Generator, pts: list[tuple[float, float]], px: float) -> list:
    return [
        (round(x + rng.uniform(-px, px), 1), round(y + rng.uniform(-px, px), 1)) for x, y in pts
    ]


def facade_config(plan: FacadePlan, device_id: str = "CAM-RAND-F") -> CameraConfig:
    """What an installer draws for this facade (no window masks)."""
    geo = plan.geo
    rng = np.random.default_rng(plan.seed + 77)
    _, _, tr, tl = geo.corners
    # The roof line extended to the frame edges, a few pixels up: everything above is sky.
    slope = (tr[1] - tl[1]) / ((tr[0] - tl[0]) or 1.0)
    roof_l, roof_r = tl[1] - slope * tl[0], tl[1] + slope * (W - tl[0])
    masks = [
        Mask(
            name="sky",
            kind="sky",
            polygon=[(0, 0), (W, 0), (W, round(roof_r - 4, 1)), (0, round(roof_l - 4, 1))],
        )
    ]
    for i, tree in enumerate(geo.trees):
        masks.append(
            Mask(name=f"tree-{i + 1}", kind="trees", polygon=_jitter(rng, tree_outline(tree), 0.5))
        )
    lines = [
        (
            round(x1 + rng.uniform(-1, 1), 1),
            round(y1 + rng.uniform(-1, 1), 1),
            round(x2 + rng.uniform(-1, 1), 1),
            round(y2 + rng.uniform(-1, 1), 1),
        )
        for x1, y1, x2, y2 in geo.slab_lines()
    ]
    return CameraConfig(
        device_id=device_id,
        frame_width=W,
        frame_height=H,
        fps=plan.fps,
        falling=FallingConfig(
            facade=_jitter(rng, geo.polygon(), 1.5),
            masks=masks,
            floors=Floors(first=1, height_m=round(geo.storey_m, 1), lines=lines),
        ),
    )


def lane_config(plan: LanePlan, device_id: str = "CAM-RAND-L") -> CameraConfig:
    """What an installer draws for this lane: the painted zones, default thresholds."""
    rng = np.random.default_rng(plan.seed + 78)
    return CameraConfig(
        device_id=device_id,
        frame_width=W,
        frame_height=H,
        fps=plan.fps,
        fire_lanes=FireLaneConfig(
            dwell_s=plan.dwell_s,
            clear_s=plan.clear_s,
            zones=[
                FireLaneZone(id=zid, polygon=_jitter(rng, plan.geo.zone_polygon(u0, u1), 2.0))
                for zid, u0, u1 in plan.geo.zones()
            ],
        ),
    )


def _path(at: Callable[[float], tuple[float, float] | None], t0: float, t1: float) -> list:
    out = []
    t = t0
    while t <= t1:
        p = at(t)
        if p is not None:
            out.append((round(t, 2), round(p[0], 1), round(p[1], 1)))
        t += 0.2
    return out


def facade_truth(plan: FacadePlan, renderer: Renderer | None = None) -> dict[str, Any]:
    """Throws with floor and image path; every distractor's path for false-alarm attribution."""
    geo = plan.geo
    sp = geo.storey_px()
    events = []
    for d in plan.drops:
        path = _path(lambda t, d=d: d.at(geo, t), d.t, d.t + 6)
        events.append(
            {
                "type": "falling_object",
                "t": d.t,
                "floor": d.floor,
                "size_px": round(d.size_px, 1),
                "size_band": size_band(d.size_px),
                "shape": d.shape,
                "drag": d.drag,
                "x": path[0][1],
                "y": path[0][2],
                "fall_s": round(path[-1][0] - d.t, 2),
                "contrast": renderer.contrast(d) if hasattr(renderer, "contrast") else None,
                "path": path,
            }
        )
    distractors = []
    for f in plan.flyers:
        distractors.append({"kind": f"bird-{f.mode}", "path": _path(f.at, f.t, f.t + f.duration_s)})
    for dr in plan.drifters:
        distractors.append({"kind": "leaf", "path": _path(dr.at, dr.t, dr.t + dr.duration_s)})
    for b in plan.bugs:
        kind = "insect" if b.size_px > 8 else "midge"
        distractors.append({"kind": kind, "path": _path(b.at, b.t, b.t + b.duration_s)})
    for e in plan.windows:
        cx, cy = geo.window_quad(e.floor, e.column).mean(axis=0)
        kind = "window-light" if e.kind in ("on", "off") else f"window-{e.kind}"
        t1 = e.t + (e.duration_s or 3.0)
        distractors.append(
            {
                "kind": kind,
                "path": [(e.t, round(cx, 1), round(cy, 1)), (t1, round(cx, 1), round(cy, 1))],
            }
        )
    return {
        "storey_px": round(sp, 1),
        "scale_band": scale_band(sp),
        "floors": geo.floors,
        "keystone": round(
            (geo.corners[2][0] - geo.corners[3][0]) / (geo.corners[1][0] - geo.corners[0][0]), 3
        ),
        "trees": len(geo.trees),
        "density": plan.density,
        "events": events,
        "distractors": distractors,
    }


def lane_truth(plan: LanePlan) -> dict[str, Any]:
    """Stops with zone, zone distance, times and whether they block; the zones' distance class."""
    zones = {zid: plan.geo.zone_distance(u0, u1) for zid, u0, u1 in plan.geo.zones()}
    events = [
        {
            "type": "stop",
            "zone": s.zone,
            "kind": s.kind,
            "distance": zones[s.zone],
            "t_arrive": s.t_arrive,
            "t_leave": s.t_leave,
            # It drives (or is carried) into the zone from here: already there in the picture.
            "t_enter": round(s.t_arrive - s.approach_s, 2),
            "blocking": s.t_leave - s.t_arrive >= plan.dwell_s,
            "share": round(zone_share(plan, s), 4),
        }
        for s in plan.stops
    ]
    return {
        "zones": zones,
        "events": events,
        "pauses": lane_pauses(plan) + lane_covers(plan),
        "lane_truth_version": 2,
        "dwell_s": plan.dwell_s,
        "clear_s": plan.clear_s,
    }


def lane_pauses(plan: LanePlan) -> list[dict[str, Any]]:
    """People who stand still in a zone on their way across (zone, start, end). The zone is
    occupied in the picture while they stand — no image analysis tells a person from a small
    object — and so is a farther zone whose ground their picture reaches up into."""
    geo = plan.geo
    out = []
    for p in plan.passers:
        if not p.pause_s:
            continue
        u, v = p.u0 + p.vu * p.pause_at, p.v0 + p.vv * p.pause_at
        if not 0.0 <= v <= geo.width_m:
            continue
        foot = geo.to_image(u, v)[1]
        head = foot - apparent_size(geo, p.kind, u, v, 0.0)[1]
        t0 = round(p.t + p.pause_at, 2)
        for zid, u0, u1 in geo.zones():
            if u0 <= u < u1 or (u0 > u and head < geo.to_image(u0, v)[1]):
                out.append(
                    {"zone": zid, "kind": p.kind, "t_start": t0, "t_end": round(t0 + p.pause_s, 2)}
                )
    return out


def lane_covers(plan: LanePlan) -> list[dict[str, Any]]:
    """Farther zones a standing object's picture reaches up into (zone, start, end): the plan
    places objects to avoid it, but where no spot in a zone fits an object, it stands where it
    covers the zone behind it, and no camera can tell that zone is free (docs: Limits)."""
    geo = plan.geo
    out = []
    for s in plan.stops:
        foot = geo.to_image(s.u, s.v)[1]
        head = foot - apparent_size(geo, s.kind, s.u, s.v, s.yaw_deg)[1]
        for zid, u0, _ in geo.zones():
            if zid != s.zone and u0 > s.u and head < geo.to_image(u0, s.v)[1] - 3:
                out.append(
                    {
                        "zone": zid,
                        "kind": f"{s.kind} in {s.zone}",
                        "t_start": round(s.t_arrive - s.approach_s, 2),
                        "t_end": s.t_leave,
                    }
                )
    return out


def _renderer(plan: FacadePlan | LanePlan, style: str) -> tuple[Renderer, str, str]:
    """(renderer, fourcc, extension) for the style."""
    if style == "a":
        if isinstance(plan, FacadePlan):
            from simulators.video.style_a import StyleAFacade

            return StyleAFacade(plan), "mp4v", ".mp4"
        from simulators.video.style_a_lane import StyleALane

        return StyleALane(plan), "mp4v", ".mp4"
    if isinstance(plan, FacadePlan):
        from simulators.video.style_b.facade import StyleBFacade

        return StyleBFacade(plan), "mpg2", ".avi"
    from simulators.video.style_b.lane import StyleBLane

    return StyleBLane(plan), "mpg2", ".avi"


def render(
    out_dir: Path, plan: FacadePlan | LanePlan, style: str, stem: str, frames: int | None = None
) -> RandomClip:
    """Write the plan's video in `style`, its truth and config; return the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    renderer, fourcc, ext = _renderer(plan, style)
    video = out_dir / f"{stem}{ext}"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*fourcc), plan.fps, (W, H))
    if not writer.isOpened():
        raise OSError(f"cannot write {fourcc} to {video}")
    n = frames if frames is not None else round(plan.duration_s * plan.fps)
    try:
        for i in range(n):
            writer.write(renderer.frame(i))
    finally:
        writer.release()
    w = plan.weather
    common = {
        "style": style,
        "seed": plan.seed,
        "fps": plan.fps,
        "width": W,
        "height": H,
        "frames": n,
        "duration_s": n / plan.fps,
        "video": video.name,
        "conditions": {
            "night": w.night,
            "weather": w.label(),
            "rain": w.rain,
            "snow": w.snow,
            "fog": w.fog,
            "gain_steps": len(w.gains),
            "shakes": len(w.shakes),
        },
    }
    if isinstance(plan, FacadePlan):
        truth = common | {"scene": "facade"} | facade_truth(plan, renderer)
        config = facade_config(plan)
    else:
        truth = common | {"scene": "lane"} | lane_truth(plan)
        config = lane_config(plan)
    truth_path = out_dir / f"{stem}.truth.json"
    truth_path.write_text(json.dumps(truth, indent=1), encoding="utf-8")
    config_path = out_dir / f"{stem}.camera.yaml"
    dump_config(config, config_path)
    return RandomClip(video, truth_path, config_path)


def random_clip(
    out_dir: Path,
    scene: str,
    style: str,
    seed: int,
    duration_s: float,
    *,
    fps: float = 25.0,
    dwell_s: float = 120.0,
) -> RandomClip:
    """Plan a random clip from `seed` and render it in `style` ("a" or "b")."""
    stem = f"r{style}-{scene}-{seed:03d}-{int(duration_s)}s"
    if scene == "facade":
        return render(out_dir, plan_facade(seed, duration_s), style, stem)
    return render(out_dir, plan_lane(seed, duration_s, fps, dwell_s), style, stem)
