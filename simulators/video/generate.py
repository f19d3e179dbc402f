"""Render a scripted or seeded clip to a video file with its ground truth and camera config."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import cv2

from devices.camera.config import CameraConfig, dump_config
from simulators.video import facade, lane
from simulators.video.plan import Profile, bench_profile, plan_facade, plan_lane
from simulators.video.timeline import FacadeScript, LaneScript, summary

FPS = 25.0
# mp4v (MPEG-4 part 2) decodes ~3x faster than MJPG at a tenth of the size, and OpenCV's
# bundled FFmpeg can write it; H.264 writing is not available in the headless wheel.
FORMATS = {"mp4": ("mp4v", ".mp4"), "avi": ("MJPG", ".avi"), "xvid": ("XVID", ".avi")}


class VideoWriteError(RuntimeError):
    """OpenCV could not open a writer for the requested format."""


@dataclass(frozen=True)
class Clip:
    """Paths of one generated clip."""

    video: Path
    truth: Path
    config: Path


def _truth_facade(script: FacadeScript) -> list[dict[str, Any]]:
    out = []
    for th in script.throws:
        x, y = facade.throw_start(th)
        out.append(
            {
                "type": "falling_object",
                "t": th.t,
                "floor": th.floor,
                "x": round(x, 1),
                "y": round(y, 1),
                "size": th.size,
            }
        )
    return out


def _truth_lane(script: LaneScript, dwell_s: float) -> list[dict[str, Any]]:
    out = []
    for v in script.vehicles:
        if v.stop_x is None or v.stop_s <= 0:
            continue
        t_arrive = lane.arrival(v)
        out.append(
            {
                "type": "stop",
                "zone": lane.zone_of(v.stop_x),
                "kind": v.kind,
                "t_arrive": round(t_arrive, 2),
                "t_leave": round(t_arrive + v.stop_s, 2),
                "blocking": v.stop_s >= dwell_s,
            }
        )
    return out


def write_clip(
    out_dir: Path,
    scene: str,
    seed: int,
    script: FacadeScript | LaneScript,
    *,
    fmt: str = "mp4",
    dwell_s: float = 120.0,
    clear_s: float = 10.0,
    name: str | None = None,
) -> Clip:
    """Render `script` for `scene` ("facade" or "lane") into out_dir; return the file paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = name or f"{scene}-{seed:03d}"
    fourcc, ext = FORMATS[fmt]
    video = out_dir / f"{stem}{ext}"
    if isinstance(script, FacadeScript):
        renderer: facade.FacadeRenderer | lane.LaneRenderer = facade.FacadeRenderer(
            script, seed, FPS
        )
        config = facade.camera_config(seed)
        events = _truth_facade(script)
        size = (facade.W, facade.H)
    else:
        renderer = lane.LaneRenderer(script, seed, FPS)
        config = lane.camera_config(dwell_s, clear_s)
        events = _truth_lane(script, dwell_s)
        size = (lane.W, lane.H)
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*fourcc), FPS, size)
    if not writer.isOpened():
        raise VideoWriteError(f"cannot write {fourcc} to {video}")
    frames = round(script.duration_s * FPS)
    try:
        for i in range(frames):
            writer.write(renderer.frame(i))
    finally:
        writer.release()
    truth_path = out_dir / f"{stem}.truth.json"
    truth = {
        "scene": scene,
        "seed": seed,
        "fps": FPS,
        "width": size[0],
        "height": size[1],
        "frames": frames,
        "duration_s": script.duration_s,
        "video": video.name,
        "dwell_s": dwell_s if scene == "lane" else None,
        "conditions": summary(script),
        "events": events,
    }
    truth_path.write_text(json.dumps(truth, indent=1), encoding="utf-8")
    config_path = out_dir / f"{stem}.camera.yaml"
    dump_config(config, config_path)
    return Clip(video, truth_path, config_path)


def scene_config(
    scene: str, seed: int, dwell_s: float = 120.0, clear_s: float = 10.0
) -> CameraConfig:
    """The camera config that goes with a scene."""
    if scene == "facade":
        return facade.camera_config(seed)
    return lane.camera_config(dwell_s, clear_s)


def seeded_clip(
    out_dir: Path,
    scene: str,
    seed: int,
    duration_s: float,
    *,
    fmt: str = "mp4",
    dwell_s: float = 120.0,
    profile: Profile | None = None,
) -> Clip:
    """Plan a random clip from `seed` and render it."""
    prof = profile or bench_profile(seed)
    script: FacadeScript | LaneScript = (
        plan_facade(seed, duration_s, prof)
        if scene == "facade"
        else plan_lane(seed, duration_s, dwell_s, prof)
    )
    return write_clip(out_dir, scene, seed, script, fmt=fmt, dwell_s=dwell_s)


def main(argv: list[str] | None = None) -> None:
    """CLI: `python -m simulators.video.generate --scene facade --seed 1 --out DIR`."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--scene", choices=("facade", "lane"), required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--duration", type=float, default=60.0, help="seconds of video")
    ap.add_argument("--out", type=Path, default=Path("bench/out/video"))
    ap.add_argument("--format", choices=sorted(FORMATS), default="mp4")
    ap.add_argument("--dwell", type=float, default=120.0, help="fire-lane dwell for the config")
    ap.add_argument("--night", action="store_true", help="force night")
    ap.add_argument("--rain", action="store_true", help="force rain")
    args = ap.parse_args(argv)
    prof = bench_profile(args.seed)
    if args.night or args.rain:
        prof = Profile(
            **(asdict(prof) | {"night": args.night or prof.night, "rain": args.rain or prof.rain})
        )
    clip = seeded_clip(
        args.out,
        args.scene,
        args.seed,
        args.duration,
        fmt=args.format,
        dwell_s=args.dwell,
        profile=prof,
    )
    print(
        json.dumps({"video": str(clip.video), "truth": str(clip.truth), "config": str(clip.config)})
    )


if __name__ == "__main__":
    main()
