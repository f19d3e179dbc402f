"""Camera analytics benchmark: render a randomised video set in two styles, analyse, score.

Usage: .venv/bin/python bench/camera_eval.py [--quick] [--jobs 2] [--out bench/out/camera]

The randomised set varies what our own scenes used to fix: storey height 20–80 px (three
bands), facade tilt and position, object size 4–30 px and shape, distractor density (birds
crossing, gliding, diving and landing; leaves; insects at the lens and midges; window lights,
flickering screens and curtains, never masked), weather (rain, snow, fog), day and night
(colour or infrared), frame rate; fire lanes with near and far zones, small objects (boxes,
bicycles, a tricycle, a scooter, e-bikes) and stays of up to 30 minutes. Every clip is
rendered in style A (OpenCV shapes, mp4v) or style B (procedural textures and sprites, shot
noise, JPEG, MPEG-2); `--styles c` renders style C instead (simulators/video/style_c: its own
plans and drawing, a 3-D scene through a tilted, barrel-distorted camera, WMV2), `--styles abc`
all three in turn. Clips are cached under --out; a rerun only analyses.

Prints one line per clip, a per-condition table, the overall figures, and on its LAST line one
JSON object with all of them and a description of the machine. Throughput is frames per CPU
second of the analysing process (decoding included), pinned to one core, one OpenCV thread.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.camera_score import (
    Tally,
    by_condition,
    score_facade,
    score_lane,
    tally_facade,
    tally_lane,
)
from devices.camera.analyze import Analyzer, run
from devices.camera.config import CameraConfig, load_config
from devices.camera.source import FrameSource
from simulators.video.random_lane_plan import plan_lane
from simulators.video.random_plan import plan_facade
from simulators.video.randomset import lane_truth, render

BANDS = {"far": (20.0, 33.0), "mid": (33.0, 50.0), "near": (50.0, 80.0)}


@dataclass(frozen=True)
class Spec:
    """One clip of the set."""

    scene: str
    style: str
    seed: int
    duration_s: float
    band: str = ""
    fps: float = 25.0
    dwell_s: float = 120.0

    @property
    def stem(self) -> str:
        """File stem; the same spec always gives the same name (and clip)."""
        extra = (
            f"-{self.band}"
            if self.scene == "facade"
            else f"-{int(self.fps)}fps-d{int(self.dwell_s)}"
        )
        return f"r{self.style}-{self.scene}-{self.seed:03d}-{int(self.duration_s)}s{extra}"


def specs(
    quick: bool,
    facade_clips: int,
    facade_s: float,
    lanes: str,
    offset: int = 0,
    styles: str = "ab",
) -> list[Spec]:
    """The clip list: facade seeds cycle the scale bands and alternate the styles; with
    `styles` other than "ab" every clip (lanes too) takes those styles in turn."""
    out = []
    bands = list(BANDS)
    k = len(styles)
    for i in range(facade_clips):
        # Bands change every `k` clips (every 2 for a and b), so each style meets each band.
        band = bands[(i // k) % 3] if k > 1 else bands[i % 3]
        out.append(Spec("facade", styles[i % k], offset + i + 1, facade_s, band))
    # Lanes: long stays need long clips, analysed at 5 fps anyway, so they are rendered at 5 fps;
    # short clips at 25 fps exercise the grab-and-skip path with pauses and traffic.
    lane_specs = {
        "quick": [("a", 1, 900.0, 5.0, 120.0), ("b", 2, 300.0, 25.0, 60.0)],
        "full": [
            ("a", 1, 2100.0, 5.0, 120.0),
            ("b", 2, 2100.0, 5.0, 300.0),
            ("a", 3, 1500.0, 5.0, 600.0),
            ("b", 4, 360.0, 25.0, 60.0),
            ("a", 5, 360.0, 25.0, 60.0),
            ("b", 6, 1500.0, 5.0, 120.0),
        ],
    }
    for j, (style, seed, dur, fps, dwell) in enumerate(
        lane_specs.get("quick" if quick else lanes, [])
    ):
        style = style if styles == "ab" else styles[j % k]
        out.append(Spec("lane", style, offset + seed, dur, fps=fps, dwell_s=dwell))
    return out


def _storey(spec: Spec) -> float:
    lo, hi = BANDS[spec.band]
    # Spread within the band by seed, evenly in log scale.
    f = ((spec.seed * 0.618) % 1.0) * 0.98 + 0.01
    return math.exp(math.log(lo) + f * (math.log(hi) - math.log(lo)))


def generate(out: Path, spec: Spec) -> tuple[Path, Path, Path]:
    """Render one clip unless it is cached; return (video, truth, config)."""
    if spec.style == "c":
        return _generate_c(out, spec)
    ext = ".mp4" if spec.style == "a" else ".avi"
    video, truth, config = (
        out / f"{spec.stem}{ext}",
        out / f"{spec.stem}.truth.json",
        out / f"{spec.stem}.camera.yaml",
    )
    if video.exists() and truth.exists() and config.exists():
        if spec.scene == "lane":
            _refresh_lane_truth(truth, spec)
        return video, truth, config
    if spec.scene == "facade":
        plan = plan_facade(spec.seed, spec.duration_s, _storey(spec))
    else:
        plan = plan_lane(spec.seed, spec.duration_s, spec.fps, spec.dwell_s)
    clip = render(out, plan, spec.style, spec.stem)
    return clip.video, clip.truth, clip.config


def _generate_c(out: Path, spec: Spec) -> tuple[Path, Path, Path]:
    """Style C (simulators/video/style_c): its own plans and drawing, the same truth format."""
    from simulators.video.style_c.clip import render_facade
    from simulators.video.style_c.lane_clip import render_lane

    video, truth, config = (
        out / f"{spec.stem}{s}" for s in (".avi", ".truth.json", ".camera.yaml")
    )
    if video.exists() and truth.exists() and config.exists():
        return video, truth, config
    if spec.scene == "facade":
        return render_facade(out, spec.seed, spec.duration_s, spec.band, spec.stem)
    return render_lane(out, spec.seed, spec.duration_s, spec.fps, spec.dwell_s, spec.stem)


def _refresh_lane_truth(path: Path, spec: Spec) -> None:
    """Add what a cached lane clip's truth predates (people pausing in zones, objects covering
    a farther zone, when objects start to come in) from its plan, which the seed fixes; the
    video is unchanged."""
    truth = json.loads(path.read_text(encoding="utf-8"))
    if truth.get("lane_truth_version", 1) >= 2:
        return
    truth |= lane_truth(plan_lane(spec.seed, spec.duration_s, spec.fps, spec.dwell_s))
    path.write_text(json.dumps(truth, indent=1), encoding="utf-8")


def machine() -> dict[str, Any]:
    """CPU model, core count, load, Python and OpenCV versions."""
    model = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            model = next(
                (ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")), model
            )
    except OSError:
        pass
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "opencv": cv2.__version__,
        "platform": platform.platform(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def _det_row(d: Any) -> dict[str, Any]:
    row = d.summary()
    if d.type == "falling_object":
        row["track"] = [(round(t, 2), round(x, 1), round(y, 1)) for t, x, y in d.track[::3]]
    if d.confirmation_delay_s is not None:
        row["confirmation_delay_s"] = round(d.confirmation_delay_s, 2)
    return row


def analyse(job: tuple[Path, Path, Path, int | None, dict[str, Any]]) -> dict[str, Any]:
    """Analyse one clip on one core and score it; return the clip's record."""
    video, truth_path, config_path, cpu, overrides = job
    if cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {cpu})
    cv2.setNumThreads(1)
    truth = json.loads(truth_path.read_text(encoding="utf-8"))
    config = _override(load_config(config_path), overrides)
    began, cpu0 = time.perf_counter(), time.process_time()
    source = FrameSource(str(video), threads=1)
    analyzer = Analyzer(config, source.fps)
    dets = [_det_row(d) for d in run(source, analyzer)]
    source.close()
    wall, cpu_s = time.perf_counter() - began, time.process_time() - cpu0
    rec = {
        k: truth.get(k)
        for k in (
            "scene",
            "style",
            "seed",
            "fps",
            "conditions",
            "scale_band",
            "storey_px",
            "density",
            "frames",
        )
    }
    rec |= {
        "clip": video.name,
        "seconds": truth["duration_s"],
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu_s, 2),
        "events": dets,
    }
    if truth["scene"] == "facade":
        rec["rows"], rec["false_alarms"] = score_facade(truth, dets)
    else:
        rec["rows"], rec["false_blocks"] = score_lane(truth, dets)
    return rec


def _override(config: CameraConfig, overrides: dict[str, Any]) -> CameraConfig:
    for section, values in overrides.items():
        current = getattr(config, section)
        if current is not None and values:
            new = type(current).model_validate(current.model_dump() | values)
            config = config.model_copy(update={section: new})
    return config


def _line(rec: dict[str, Any]) -> str:
    base = {"clip": rec["clip"], "fps_cpu": round(rec["frames"] / max(rec["cpu_s"], 1e-9), 1)}
    if rec["scene"] == "facade":
        hits = sum(r["hit"] for r in rec["rows"])
        base |= {
            "throws": len(rec["rows"]),
            "hits": hits,
            "false_alarms": len(rec["false_alarms"]),
            "causes": [fa["cause"] for fa in rec["false_alarms"]],
        }
    else:
        base |= {
            "stays": len(rec["rows"]),
            "blocked": sum(r["blocked"] for r in rec["rows"]),
            "false_blocks": rec["false_blocks"],
            "cleared_err": [r.get("cleared_error_s") for r in rec["rows"]],
        }
    return json.dumps(base)


def main(argv: list[str] | None = None) -> int:
    """Generate (or reuse), analyse, score, print."""
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--out", type=Path, default=Path("bench/out/camera"))
    ap.add_argument("--quick", action="store_true", help="6 short facade clips and 2 lane clips")
    ap.add_argument("--facade-clips", type=int, default=24)
    ap.add_argument("--facade-duration", type=float, default=120.0)
    ap.add_argument("--lanes", choices=("full", "none"), default="full")
    ap.add_argument("--only", choices=("facade", "lane"))
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument(
        "--seed-offset", type=int, default=0, help="another set: seeds offset+1… (development)"
    )
    ap.add_argument(
        "--falling",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a falling-detector setting (repeatable)",
    )
    ap.add_argument(
        "--lane",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a fire-lane setting (repeatable)",
    )
    ap.add_argument(
        "--styles",
        default="ab",
        help="rendering styles in turn: ab (default: A and B), c (style C only), abc, …",
    )
    ap.add_argument("--records", type=Path, help="write every clip's record (events, rows) here")
    args = ap.parse_args(argv)
    overrides = {"falling": _kv(args.falling), "fire_lanes": _kv(args.lane)}
    if args.quick:
        args.facade_clips, args.facade_duration = 6, 60.0
    clip_specs = specs(
        args.quick,
        args.facade_clips,
        args.facade_duration,
        "none" if args.lanes == "none" else "full",
        args.seed_offset,
        args.styles,
    )
    if args.only:
        clip_specs = [s for s in clip_specs if s.scene == args.only]
    args.out.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    # Longest first, so the pool is not left waiting on one long render at the end.
    order = sorted(clip_specs, key=lambda s: -s.duration_s * s.fps)
    with ProcessPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        paths = list(pool.map(generate, [args.out] * len(order), order))
    gen_s = time.perf_counter() - began
    print(f"generated/found {len(paths)} clips in {gen_s:.0f}s", flush=True)
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else [None]
    n = max(1, min(args.jobs, len(cores)))
    jobs = [(*p, cores[i % n], overrides) for i, p in enumerate(paths)]
    began = time.perf_counter()
    records = []
    with ProcessPoolExecutor(max_workers=n) as pool:
        for rec in pool.map(analyse, jobs):
            print(_line(rec), flush=True)
            records.append(rec)
    report = summarize(records, overrides)
    report["seconds"] = {
        "generate": round(gen_s, 1),
        "analyse": round(time.perf_counter() - began, 1),
    }
    if args.records:
        args.records.write_text(json.dumps(records, indent=1), encoding="utf-8")
    for key, value in report["conditions"].items():
        print(f"{key:>44}: {json.dumps(value)}")
    for key, value in report["overall"].items():
        print(f"{key:>44}: {json.dumps(value)}")
    print(json.dumps(report))
    return 0


def load_clip(out: Path, stem: str, section: str,
              pairs: list[str]) -> tuple[Path, dict[str, Any], CameraConfig]:
    """A rendered clip of a set (its video, truth and installer's config), the config's
    `section` (`falling`, `fire_lanes`) overridden by KEY=VALUE `pairs` (the traces)."""
    video = next(p for p in out.glob(stem + ".*") if p.suffix in (".mp4", ".avi"))
    truth = json.loads((out / f"{stem}.truth.json").read_text(encoding="utf-8"))
    config = load_config(out / f"{stem}.camera.yaml")
    if pairs:
        config = _override(config, {section: _kv(pairs)})
    return video, truth, config


def _kv(items: list[str]) -> dict[str, Any]:
    out = {}
    for item in items:
        key, _, value = item.partition("=")
        out[key] = yaml.safe_load(value)
    return out


def summarize(records: list[dict[str, Any]], overrides: dict[str, Any]) -> dict[str, Any]:
    """Overall figures, per-condition figures and the machine."""
    facade, lane = Tally(), Tally()
    for r in records:
        if r["scene"] == "facade":
            t = tally_facade(r["rows"], r["false_alarms"], r["seconds"])
            t.frames, t.cpu_s = r["frames"], r["cpu_s"]
            facade.add(t)
        else:
            t = tally_lane(r["rows"], r["false_blocks"], r["seconds"])
            t.frames, t.cpu_s = r["frames"], r["cpu_s"]
            lane.add(t)
    overall = {
        "facade_minutes": round(facade.facade_s / 60, 1),
        "lane_minutes": round(lane.lane_s / 60, 1),
        "falling": facade.figures(),
        "fire_lane": lane.figures(),
        "falling_fps_per_cpu_second_slowest_clip": min(
            (round(r["frames"] / r["cpu_s"], 1) for r in records if r["scene"] == "facade"),
            default=None,
        ),
        "overrides": {k: v for k, v in overrides.items() if v},
    }
    return {"overall": overall, "conditions": by_condition(records), "machine": machine()}


if __name__ == "__main__":
    sys.exit(main())
