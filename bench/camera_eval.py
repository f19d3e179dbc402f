"""Camera analytics benchmark: generate a seeded video set, run the analyzer, score it.

Usage: .venv/bin/python bench/camera_eval.py [--out bench/out/camera] [--quick]

Prints per-clip lines, a summary, and on its LAST line one JSON object with precision, recall,
false alarms per hour, floor accuracy, analysis fps on one core and a machine description.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import yaml

from devices.camera.analyze import Analyzer, run
from devices.camera.config import CameraConfig, FallingConfig, dump_config, load_config
from devices.camera.detection import Detection
from devices.camera.source import FrameSource
from simulators.video.generate import Clip, scene_config, seeded_clip

FALL_TOLERANCE_S = 1.5
BLOCK_EARLY_S = 10.0
CLEAR_LATE_S = 20.0


@dataclass
class Score:
    """Counts accumulated over clips."""

    falls: int = 0
    fall_tp: int = 0
    fall_fp: int = 0
    floor_exact: int = 0
    floor_within1: int = 0
    blocks: int = 0
    block_tp: int = 0
    false_blocks: int = 0
    clears_ok: int = 0
    facade_s: float = 0.0
    lane_s: float = 0.0
    frames: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    per_clip: list[dict[str, Any]] = field(default_factory=list)

    def add(self, other: Score) -> None:
        """Merge another clip's counts."""
        for name in (
            "falls",
            "fall_tp",
            "fall_fp",
            "floor_exact",
            "floor_within1",
            "blocks",
            "block_tp",
            "false_blocks",
            "clears_ok",
            "facade_s",
            "lane_s",
            "frames",
            "seconds",
            "cpu_seconds",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.per_clip += other.per_clip


def machine() -> dict[str, Any]:
    """CPU model, core count, Python and OpenCV versions."""
    model = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "opencv": cv2.__version__,
        "platform": platform.platform(),
    }


def score_falls(truth: list[dict[str, Any]], dets: list[Detection]) -> Score:
    """Match falling-object detections to thrown objects, nearest in time first."""
    s = Score(falls=len(truth))
    pairs = sorted(
        (abs(d.t - g["t"]), gi, di)
        for gi, g in enumerate(truth)
        for di, d in enumerate(dets)
        if abs(d.t - g["t"]) <= FALL_TOLERANCE_S
    )
    used_g: set[int] = set()
    used_d: set[int] = set()
    for _, gi, di in pairs:
        if gi in used_g or di in used_d:
            continue
        used_g.add(gi)
        used_d.add(di)
        s.fall_tp += 1
        floor = dets[di].floor
        s.floor_exact += floor == truth[gi]["floor"]
        s.floor_within1 += floor is not None and abs(floor - truth[gi]["floor"]) <= 1
    s.fall_fp = len(dets) - len(used_d)
    return s


def score_lanes(
    truth: list[dict[str, Any]], dets: list[Detection], dwell: float, clear: float
) -> Score:
    """Each parking longer than the dwell must give one block and then one clear, nothing else."""
    blocking = [g for g in truth if g["blocking"]]
    s = Score(blocks=len(blocking))
    blocks = [d for d in dets if d.type == "fire_lane_blocked"]
    clears = [d for d in dets if d.type == "fire_lane_cleared"]
    used: set[int] = set()
    for g in blocking:
        for i, d in enumerate(blocks):
            if (
                i not in used
                and d.zone == g["zone"]
                and g["t_arrive"] + dwell - BLOCK_EARLY_S <= d.t <= g["t_leave"]
            ):
                used.add(i)
                s.block_tp += 1
                s.clears_ok += any(
                    c.zone == g["zone"]
                    and g["t_leave"] <= c.t <= g["t_leave"] + clear + CLEAR_LATE_S
                    for c in clears
                )
                break
    s.false_blocks = len(blocks) - len(used)
    return s


def analyse(
    video: Path, config: CameraConfig, cpu: int | None
) -> tuple[list[Detection], float, float]:
    """Run the analyzer over one clip on one core; return detections, wall and CPU seconds."""
    if cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {cpu})
    cv2.setNumThreads(1)
    began, cpu_began = time.perf_counter(), time.process_time()
    source = FrameSource(str(video), threads=1)
    analyzer = Analyzer(config, source.fps)
    dets = list(run(source, analyzer))
    source.close()
    return dets, time.perf_counter() - began, time.process_time() - cpu_began


def evaluate(clip: Clip, cpu: int | None, overrides: dict[str, Any]) -> Score:
    """Analyse and score one generated clip; `overrides` replace falling-detector settings."""
    truth = json.loads(clip.truth.read_text(encoding="utf-8"))
    config = load_config(clip.config)
    if overrides and config.falling is not None:
        falling = FallingConfig.model_validate(config.falling.model_dump() | overrides)
        config = config.model_copy(update={"falling": falling})
    dets, secs, cpu_secs = analyse(clip.video, config, cpu)
    # Every input frame counts, including those the fire-lane detector only grabs and skips.
    frames = int(truth["frames"])
    if truth["scene"] == "facade":
        s = score_falls(truth["events"], [d for d in dets if d.type == "falling_object"])
        s.facade_s = truth["duration_s"]
        row = {"falls": s.falls, "tp": s.fall_tp, "fp": s.fall_fp, "floor_ok": s.floor_exact}
    else:
        assert config.fire_lanes is not None
        s = score_lanes(truth["events"], dets, config.fire_lanes.dwell_s, config.fire_lanes.clear_s)
        s.lane_s = truth["duration_s"]
        row = {
            "blocks": s.blocks,
            "tp": s.block_tp,
            "false_blocks": s.false_blocks,
            "clears_ok": s.clears_ok,
        }
    s.frames, s.seconds, s.cpu_seconds = frames, secs, cpu_secs
    cond = truth["conditions"]
    s.per_clip.append(
        {
            "clip": clip.video.name,
            "night": cond["night"],
            "rain": bool(cond["rain"]),
            **row,
            "frames": frames,
            "seconds": round(secs, 2),
            "fps": round(frames / secs, 1),
            "fps_cpu": round(frames / max(cpu_secs, 1e-9), 1),
            "events": [d.summary() for d in dets],
        }
    )
    return s


def generate(out: Path, scene: str, seed: int, duration: float) -> Clip:
    """Generate one clip unless it already exists (same name = same seed and length)."""
    stem = f"{scene}-{seed:03d}-{int(duration)}s"
    clip = Clip(out / f"{stem}.mp4", out / f"{stem}.truth.json", out / f"{stem}.camera.yaml")
    if clip.video.exists() and clip.truth.exists():
        # The config is cheap and deterministic: rewrite it so config changes reach old videos.
        dump_config(scene_config(scene, seed), clip.config)
        return clip
    made = seeded_clip(out, scene, seed, duration)
    for src, dst in (
        (made.video, clip.video),
        (made.truth, clip.truth),
        (made.config, clip.config),
    ):
        src.replace(dst)
    truth = json.loads(clip.truth.read_text(encoding="utf-8"))
    truth["video"] = clip.video.name
    clip.truth.write_text(json.dumps(truth, indent=1), encoding="utf-8")
    return clip


def _evaluate_job(args: tuple[Clip, int | None, dict[str, Any]]) -> Score:
    return evaluate(*args)


def main(argv: list[str] | None = None) -> int:
    """Generate, analyse, score, print."""
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--out", type=Path, default=Path("bench/out/camera"))
    ap.add_argument("--facade-seeds", type=int, default=12, help="facade clips (seeds 1..N)")
    ap.add_argument("--facade-duration", type=float, default=120.0)
    ap.add_argument("--lane-seeds", type=int, default=4, help="fire-lane clips (seeds 1..N)")
    ap.add_argument("--lane-duration", type=float, default=300.0)
    ap.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="parallel generation jobs; analysis jobs are pinned one per core",
    )
    ap.add_argument(
        "--segmentation", choices=("mog2", "knn", "running_average", "frame_difference")
    )
    ap.add_argument(
        "--falling",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a falling-detector setting, e.g. color=false (repeatable)",
    )
    ap.add_argument("--quick", action="store_true", help="an 8-minute set for a smoke run")
    args = ap.parse_args(argv)
    overrides: dict[str, Any] = {}
    for item in args.falling:
        key, _, value = item.partition("=")
        overrides[key] = yaml.safe_load(value)
    if args.segmentation:
        overrides["segmentation"] = args.segmentation
    if args.quick:
        args.facade_seeds, args.facade_duration = 3, 60.0
        args.lane_seeds, args.lane_duration = 1, 300.0
    args.out.mkdir(parents=True, exist_ok=True)
    specs = [("facade", s, args.facade_duration) for s in range(1, args.facade_seeds + 1)] + [
        ("lane", s, args.lane_duration) for s in range(1, args.lane_seeds + 1)
    ]
    began = time.perf_counter()
    with ProcessPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        clips = list(pool.map(generate, *zip(*[(args.out, *sp) for sp in specs], strict=True)))
    print(f"generated/found {len(clips)} clips in {time.perf_counter() - began:.0f}s", flush=True)
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else [None]
    jobs = [(c, cores[i % min(args.jobs, len(cores))], overrides) for i, c in enumerate(clips)]
    total = Score()
    with ProcessPoolExecutor(max_workers=max(1, min(args.jobs, len(cores)))) as pool:
        for s in pool.map(_evaluate_job, jobs):
            row = {k: v for k, v in s.per_clip[0].items() if k != "events"}
            print(json.dumps(row), flush=True)
            total.add(s)
    label = ", ".join(f"{k}={v}" for k, v in overrides.items()) or "config defaults"
    report = summarize(total, label)
    for key, value in report.items():
        if key != "machine":
            print(f"{key:>28}: {value}")
    print(json.dumps(report))
    return 0


def _scene_fps(t: Score, scene: str) -> float | None:
    rows = [row for row in t.per_clip if row["clip"].startswith(scene)]
    seconds = sum(row["seconds"] for row in rows)
    return round(sum(row["frames"] for row in rows) / seconds, 1) if seconds else None


def summarize(t: Score, segmentation: str) -> dict[str, Any]:
    """The headline figures."""

    def ratio(a: int, b: int) -> float | None:
        return round(a / b, 4) if b else None

    hours_facade = t.facade_s / 3600
    hours_lane = t.lane_s / 3600
    return {
        "video_minutes": round((t.facade_s + t.lane_s) / 60, 1),
        "facade_minutes": round(t.facade_s / 60, 1),
        "lane_minutes": round(t.lane_s / 60, 1),
        "falling_settings": segmentation,
        "falling_objects": t.falls,
        "falling_recall": ratio(t.fall_tp, t.falls),
        "falling_precision": ratio(t.fall_tp, t.fall_tp + t.fall_fp),
        "falling_false_alarms_per_hour": round(t.fall_fp / hours_facade, 2) if t.facade_s else None,
        "floor_accuracy": ratio(t.floor_exact, t.fall_tp),
        "floor_accuracy_within_1": ratio(t.floor_within1, t.fall_tp),
        "fire_lane_parkings": t.blocks,
        "fire_lane_recall": ratio(t.block_tp, t.blocks),
        "fire_lane_false_blocks": t.false_blocks,
        "fire_lane_false_blocks_per_hour": round(t.false_blocks / hours_lane, 2)
        if t.lane_s
        else None,
        "fire_lane_cleared_ok": ratio(t.clears_ok, t.block_tp),
        "false_alarms_per_hour": round(
            (t.fall_fp + t.false_blocks) / max(hours_facade + hours_lane, 1e-9), 2
        ),
        "frames": t.frames,
        "analysis_fps_one_core": round(t.frames / t.seconds, 1) if t.seconds else None,
        "facade_fps_one_core": _scene_fps(t, "facade"),
        "lane_fps_one_core": _scene_fps(t, "lane"),
        "slowest_clip_fps": min((row["fps"] for row in t.per_clip), default=None),
        # Frames per CPU-second of the pinned process: what one core gives when not shared.
        "analysis_fps_per_cpu_second": round(t.frames / t.cpu_seconds, 1)
        if t.cpu_seconds
        else None,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "machine": machine(),
    }


if __name__ == "__main__":
    sys.exit(main())
