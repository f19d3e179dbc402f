"""Style C clips on disk: video (WMV2 in AVI after JPEG blocking), ground truth, installer config.

The truth has the same format as styles A and B (bench/camera_score.py reads it); the config is
what an installer draws following docs/camera.md: the facade outline, slab lines, the sky and
tree outlines — no window masks — and for lanes the painted zones (a far zone's
`min_area_px` set to half the apparent area of the smallest thing that must block it).

    .venv/bin/python -m simulators.video.style_c.clip --scene facade --seed 5001 --band mid
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from devices.camera.config import (
    CameraConfig,
    FallingConfig,
    Floors,
    Mask,
    dump_config,
)
from simulators.video.style_c.camera import HEIGHT, WIDTH
from simulators.video.style_c.facade_actors import facade_outline
from simulators.video.style_c.facade_draw import StyleCFacade
from simulators.video.style_c.facade_scene import FacadeScene, plan_facade_c

FOURCC, EXT = "WMV2", ".avi"


def _jit(rng: np.random.Generator, pts: np.ndarray, px: float) -> list[tuple[float, float]]:
    return [
        (round(float(x + rng.uniform(-px, px)), 1), round(float(y + rng.uniform(-px, px)), 1))
        for x, y in pts
    ]


def facade_config(s: FacadeScene, r: StyleCFacade) -> CameraConfig:
    """What an installer draws on a still of this facade (no window masks)."""
    rng = np.random.default_rng(s.seed + 91)
    b, cam = s.building, s.camera
    outline = facade_outline(s)
    # The installer clicks the corners and one point on each edge, not every bent pixel.
    picked = outline[:: max(1, len(outline) // 8)]
    top = b.roof_m + b.parapet_m
    roof = cam.project(np.array([[x, top, 0.0] for x in np.linspace(0, b.width_m, 9)]))
    slope_l = (roof[1, 1] - roof[0, 1]) / ((roof[1, 0] - roof[0, 0]) or 1.0)
    slope_r = (roof[-1, 1] - roof[-2, 1]) / ((roof[-1, 0] - roof[-2, 0]) or 1.0)
    left = roof[0, 1] - slope_l * roof[0, 0]
    right = roof[-1, 1] + slope_r * (WIDTH - roof[-1, 0])
    sky = [(0.0, 0.0), (float(WIDTH), 0.0), (float(WIDTH), right - 5)]
    sky += [(float(x), float(y) - 5) for x, y in roof[::-1]] + [(0.0, left - 5)]
    masks = [Mask(name="sky", kind="sky", polygon=[(round(x, 1), round(y, 1)) for x, y in sky])]
    for i, poly in enumerate(tree_outlines(s, r)):
        masks.append(Mask(name=f"tree-{i + 1}", kind="trees", polygon=_jit(rng, poly, 0.5)))
    lines = []
    for k in range(b.floors + 1):
        x0, y0, x1, y1 = s.slab_px(k)
        lines.append(tuple(round(v + float(rng.uniform(-1, 1)), 1) for v in (x0, y0, x1, y1)))
    return CameraConfig(
        device_id="CAM-STYLE-C-F",
        frame_width=WIDTH,
        frame_height=HEIGHT,
        fps=s.fps,
        falling=FallingConfig(
            facade=_jit(rng, picked, 1.5),
            masks=masks,
            floors=Floors(first=1, height_m=round(b.storey_m, 1), lines=lines),
        ),
    )


def tree_outlines(s: FacadeScene, r: StyleCFacade) -> list[np.ndarray]:
    """Each tree traced round its swaying crown and trunk with a margin (~100–200 vertices)."""
    out = []
    for (x, y, rad, _), blobs in zip(s.trees, r.crowns, strict=True):
        m = np.zeros((HEIGHT, WIDTH), np.uint8)
        reach = 0.13 * rad + 8
        for dx, dy, rr, _, _ in blobs:
            cv2.circle(m, (int(x + dx), int(y + dy)), int(rr + reach), 255, -1)
        cv2.line(m, (int(x), int(y)), (int(x), HEIGHT), 255, int(max(2, rad / 8) + 2 * reach))
        cs, _ = cv2.findContours(m, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
        if not cs:
            continue
        c = max(cs, key=cv2.contourArea)
        poly = cv2.approxPolyDP(c, 1.5, True)[:, 0, :].astype(float)
        out.append(poly)
    return out


def _path(cam: Any, traj: np.ndarray, t0: float, t1: float) -> list:
    out = []
    t = t0
    while t <= min(t1, traj[-1, 0] + 1e-9):
        i = min(int(np.searchsorted(traj[:, 0], t)), len(traj) - 1)
        x, y = cam.point(*traj[i, 1:4])
        out.append((round(t, 2), round(x, 1), round(y, 1)))
        t += 0.2
    return out


def _band(v: float, cuts: tuple[float, float], names: tuple[str, str, str]) -> str:
    return names[0] if v < cuts[0] else names[1] if v <= cuts[1] else names[2]


def facade_truth(s: FacadeScene, r: StyleCFacade) -> dict[str, Any]:
    """Throws (floor, picture path) and every distractor's path."""
    cam = s.camera
    events = []
    for th, traj in zip(s.throws, r.trajs, strict=True):
        path = _path(cam, traj, th.t, th.t + 6)
        events.append(
            {
                "type": "falling_object",
                "t": th.t,
                "floor": th.floor,
                "size_px": round(th.size_px, 1),
                "size_band": _band(th.size_px, (9, 16), ("small", "medium", "large")),
                "shape": "irregular-dark" if th.dark else "irregular",
                "drag": round(th.drag, 3),
                "x": path[0][1],
                "y": path[0][2],
                "fall_s": round(path[-1][0] - th.t, 2),
                "contrast": r.contrast(th),
                "path": path,
            }
        )
    dist: list[dict[str, Any]] = []
    for bd in s.birds:
        pts = [(round(t, 2), *bd.at(t)) for t in np.arange(bd.t, bd.t + bd.duration_s, 0.2)]
        dist.append(
            {"kind": "bird-arc", "path": [(t, round(x, 1), round(y, 1)) for t, x, y in pts]}
        )
    for lf in s.leaves:
        pts = []
        for t in np.arange(lf.t, min(lf.t + 30, s.duration_s), 0.2):
            p = lf.at_m(float(t))
            if p is None:
                break
            x, y = cam.point(*p)
            pts.append((round(float(t), 2), round(x, 1), round(y, 1)))
        dist.append({"kind": "leaf", "path": pts})
    for bug in s.bugs:
        pts = [(round(t, 2), *bug.at(t)) for t in np.arange(bug.t, bug.t + bug.duration_s, 0.2)]
        kind = "insect" if bug.size_px > 8 else "midge"
        dist.append({"kind": kind, "path": [(t, round(x, 1), round(y, 1)) for t, x, y in pts]})
    for e in s.events:
        x0, y0, x1, y1 = r.pic.boxes[e.window]
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        kind = "window-light" if e.kind in ("on", "off") else f"window-{e.kind}"
        dist.append({"kind": kind, "path": [(e.t, cx, cy), (e.t + e.duration_s, cx, cy)]})
    for sw in s.sweeps:
        b = s.building
        p0, p1 = cam.point(-5, sw.y_m, 0), cam.point(b.width_m + 5, sw.y_m, 0)
        a, z = (p0, p1) if sw.direction > 0 else (p1, p0)
        dist.append({"kind": "headlights", "path": [(sw.t, *a), (sw.t + sw.duration_s, *z)]})
    sp = s.storey_px()
    return {
        "storey_px": round(sp, 1),
        "scale_band": "far" if sp < 33 else "mid" if sp < 50 else "near",
        "floors": s.building.floors,
        "trees": len(s.trees),
        "density": s.density,
        "events": events,
        "distractors": dist,
    }


def write(out_dir: Path, stem: str, fps: float, n: int, renderer: Any) -> Path:
    """Encode n frames of a renderer as WMV2 in AVI."""
    out_dir.mkdir(parents=True, exist_ok=True)
    video = out_dir / f"{stem}{EXT}"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*FOURCC), fps, (WIDTH, HEIGHT))
    if not writer.isOpened():
        raise OSError(f"cannot write {FOURCC} to {video}")
    try:
        for i in range(n):
            writer.write(renderer.frame(i))
    finally:
        writer.release()
    return video


def common(seed: int, fps: float, n: int, video: Path, cond: dict[str, Any]) -> dict[str, Any]:
    """Truth fields every clip has."""
    return {
        "style": "c",
        "seed": seed,
        "fps": fps,
        "width": WIDTH,
        "height": HEIGHT,
        "frames": n,
        "duration_s": n / fps,
        "video": video.name,
        "conditions": cond,
    }



def conditions(c: Any) -> dict[str, Any]:
    """A clip's conditions as the truth file records them (both style C scenes)."""
    return {"night": c.night, "weather": c.label(), "rain": c.rain, "snow": 0, "fog": c.haze,
            "gain_steps": len(c.light), "shakes": len(c.shakes)}

def render_facade(
    out_dir: Path, seed: int, duration_s: float, band: str, stem: str, frames: int | None = None
) -> tuple[Path, Path, Path]:
    """Plan, draw and write one style C facade clip; return (video, truth, config) paths."""
    s = plan_facade_c(seed, duration_s, band)
    r = StyleCFacade(s)
    n = frames if frames is not None else round(duration_s * s.fps)
    video = write(out_dir, stem, s.fps, n, r)
    cond = conditions(s.cond)
    truth = common(seed, s.fps, n, video, cond) | {"scene": "facade"} | facade_truth(s, r)
    truth_path = out_dir / f"{stem}.truth.json"
    truth_path.write_text(json.dumps(truth, indent=1), encoding="utf-8")
    config_path = out_dir / f"{stem}.camera.yaml"
    dump_config(facade_config(s, r), config_path)
    return video, truth_path, config_path


def main() -> None:
    """Render one clip from the command line."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--scene", choices=("facade", "lane"), default="facade")
    ap.add_argument("--seed", type=int, default=5001)
    ap.add_argument("--band", choices=("far", "mid", "near"), default="mid")
    ap.add_argument("--duration", type=float, default=20.0)
    ap.add_argument("--fps", type=float, default=25.0)
    ap.add_argument("--dwell", type=float, default=120.0)
    ap.add_argument("--out", type=Path, default=Path("bench/out/stylec"))
    a = ap.parse_args()
    if a.scene == "facade":
        stem = f"rc-facade-{a.seed:03d}-{int(a.duration)}s-{a.band}"
        print(render_facade(a.out, a.seed, a.duration, a.band, stem))
    else:
        from simulators.video.style_c.lane_clip import render_lane

        stem = f"rc-lane-{a.seed:03d}-{int(a.duration)}s-{int(a.fps)}fps-d{int(a.dwell)}"
        print(render_lane(a.out, a.seed, a.duration, a.fps, a.dwell, stem))


if __name__ == "__main__":
    main()
