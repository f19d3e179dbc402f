"""Style C lane clips on disk: video, ground truth (the bench's lane format) and the installer's
config (zones clicked at their four corners; a far zone's `min_area_px` per docs/camera.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from devices.camera.config import CameraConfig, FireLaneConfig, FireLaneZone, dump_config
from simulators.video.style_c.camera import HEIGHT, WIDTH
from simulators.video.style_c.clip import common, conditions, write
from simulators.video.style_c.lane_draw import StyleCLane
from simulators.video.style_c.lane_scene import LaneScene, plan_lane_c


def _area(poly: list[tuple[float, float]]) -> float:
    p = np.array(poly)
    x, y = p[:, 0], p[:, 1]
    return float(0.5 * abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1))))


def lane_config(sc: LaneScene) -> CameraConfig:
    """The installer's zones; in a far zone the threshold is half the picture area of the
    smallest thing that must block it (a scooter at the zone's middle), as the guide says."""
    rng = np.random.default_rng(sc.seed + 93)
    zones = []
    for zid, d0, d1 in sc.zones():
        poly = [
            (round(x + float(rng.uniform(-2, 2)), 1), round(y + float(rng.uniform(-2, 2)), 1))
            for x, y in sc.zone_polygon(d0, d1)
        ]
        extra: dict[str, Any] = {}
        if sc.distance(d0, d1) == "far":
            w, h, _ = sc.box_px("scooter", sc.x0 + sc.width_m / 2, (d0 + d1) / 2, 45.0)
            extra["min_area_px"] = round(max(24.0, 0.5 * w * h))
        zones.append(FireLaneZone(id=zid, polygon=poly, **extra))
    return CameraConfig(
        device_id="CAM-STYLE-C-L",
        frame_width=WIDTH,
        frame_height=HEIGHT,
        fps=sc.fps,
        fire_lanes=FireLaneConfig(dwell_s=sc.dwell_s, clear_s=sc.clear_s, zones=zones),
    )


def lane_truth(sc: LaneScene) -> dict[str, Any]:
    """Stays (zone, distance, times), people's stops in a zone's picture, the zones' class."""
    zones = {zid: sc.distance(d0, d1) for zid, d0, d1 in sc.zones()}
    events = []
    for p in sc.parks:
        w, h, _ = sc.box_px(p.kind, p.x, p.d, p.yaw)
        events.append(
            {
                "type": "stop",
                "zone": p.zone,
                "kind": p.kind,
                "distance": zones[p.zone],
                "t_arrive": p.t_arrive,
                "t_leave": p.t_leave,
                "t_enter": round(p.t_arrive - p.approach_s, 2),
                "blocking": p.t_leave - p.t_arrive >= sc.dwell_s,
                "share": round(w * h / max(1.0, _area(sc.zone_polygon(*_span(sc, p.zone)))), 4),
            }
        )
    pauses = []
    for wk in sc.walkers:
        if not wk.pause_s:
            continue
        x, d = wk.x + wk.vx * wk.pause_at, wk.d + wk.vd * wk.pause_at
        if not sc.x0 <= x <= sc.x0 + sc.width_m:
            continue
        head = sc.camera.point(x, 1.75, -d)[1]
        t0 = round(wk.t + wk.pause_at, 2)
        for zid, d0, d1 in sc.zones():
            behind = d0 > d and head < sc.ground(x, d0)[1]
            if d0 <= d < d1 or behind:
                pauses.append(
                    {
                        "zone": zid,
                        "kind": "person",
                        "t_start": t0,
                        "t_end": round(t0 + wk.pause_s, 2),
                    }
                )
    return {
        "zones": zones,
        "events": events,
        "pauses": pauses,
        "lane_truth_version": 2,
        "dwell_s": sc.dwell_s,
        "clear_s": sc.clear_s,
    }


def _span(sc: LaneScene, zone: str) -> tuple[float, float]:
    return next((d0, d1) for zid, d0, d1 in sc.zones() if zid == zone)


def render_lane(
    out_dir: Path,
    seed: int,
    duration_s: float,
    fps: float,
    dwell_s: float,
    stem: str,
    frames: int | None = None,
) -> tuple[Path, Path, Path]:
    """Plan, draw and write one style C lane clip; return (video, truth, config)."""
    sc = plan_lane_c(seed, duration_s, fps, dwell_s)
    n = frames if frames is not None else round(duration_s * fps)
    video = write(out_dir, stem, fps, n, StyleCLane(sc))
    cond = conditions(sc.cond)
    truth = common(seed, fps, n, video, cond) | {"scene": "lane"} | lane_truth(sc)
    truth_path = out_dir / f"{stem}.truth.json"
    truth_path.write_text(json.dumps(truth, indent=1), encoding="utf-8")
    config_path = out_dir / f"{stem}.camera.yaml"
    dump_config(lane_config(sc), config_path)
    return video, truth_path, config_path
