"""Trace falling-object misses: which tracks ran along each thrown object's true path, and why
each was rejected.

Usage: .venv/bin/python bench/camera_trace.py CLIP_STEM [--out bench/out/val600] [--all] [--blobs]

Runs the analyzer on one cached clip of `bench/camera_eval.py`, records every track the
tracker ended (after stitching) with the judge's outcome, scores the detections like the
bench, and for every missed throw (every throw with --all) prints the tracks that had points
within reach of its path: their span, how many of their points lie on the path, and why the
judge turned them down. A diagnostic, not a benchmark: its frame rate means nothing.
"""

from __future__ import annotations

import argparse
import itertools
import math
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.camera_eval import _det_row, load_clip
from bench.camera_score import score_facade
from devices.camera.analyze import Analyzer, run
from devices.camera.falling import FallingDetector
from devices.camera.judge import Judge
from devices.camera.source import FrameSource


def _instrument(log: list[dict[str, Any]]) -> None:
    """Record each judged track and the first reason counted for it (or 'emitted')."""
    stitch, count, detection = Judge._stitch, Judge._count, Judge._detection

    def _stitch(self: Judge, tr: Any) -> Any:
        out = stitch(self, tr)
        xs, ys = self._full(out)
        log.append({"id": out.id, "t": list(out.t), "x": xs, "y": ys, "outcome": None})
        return out

    def _count(self: Judge, reason: str) -> None:
        if log and log[-1]["outcome"] is None and reason != "trimmed":
            log[-1]["outcome"] = reason
        elif log and reason == "trimmed":
            log[-1]["trimmed"] = True
        count(self, reason)

    def _detection(self: Judge, tr: Any, xs: Any, ys: Any, v: Any) -> Any:
        for rec in reversed(log):
            if rec["id"] == tr.id:
                rec["outcome"] = rec["outcome"] or "emitted"
                rec["conf"] = v.confidence
                rec["cut"] = (tr.t[0], tr.t[-1])
                break
        return detection(self, tr, xs, ys, v)

    Judge._stitch, Judge._count, Judge._detection = _stitch, _count, _detection  # type: ignore[method-assign]


def _record_blobs(frames: list[tuple[float, list[tuple[float, float, int]]]]) -> None:
    """Record every frame's blobs in full-frame pixels (x, y, area in analysis pixels)."""
    process = FallingDetector.process

    def _process(self: FallingDetector, t: float, image: Any, shaking: bool = False) -> Any:
        out = process(self, t, image, shaking)
        last = self._sightings.frames[-1]
        frames.append((t, [(*self.crop.to_full(x, y), int(a)) for x, y, a in last.xya.tolist()]))
        return out

    FallingDetector.process = _process  # type: ignore[method-assign]


def _print_blobs(
    frames: list[tuple[float, list[tuple[float, float, int]]]], g: dict[str, Any], reach: float
) -> None:
    """Per frame of the throw: the blobs within reach of the true position."""
    for t, blobs in frames:
        p = _path_at(g["path"], t)
        if p is None:
            continue
        near = [
            f"({x:.0f},{y:.0f} a{a})"
            for x, y, a in blobs
            if math.hypot(x - p[0], y - p[1]) <= reach
        ]
        print(f"    {t:6.2f} true=({p[0]:.0f},{p[1]:.0f}) " + (" ".join(near) or "-"))


def _path_at(path: list[list[float]], t: float) -> tuple[float, float] | None:
    if not path or t < path[0][0] - 0.05 or t > path[-1][0] + 0.3:
        return None
    for (t0, x0, y0), (t1, x1, y1) in itertools.pairwise(path):
        if t <= t1:
            f = (t - t0) / ((t1 - t0) or 1.0)
            return x0 + f * (x1 - x0), y0 + f * (y1 - y0)
    return path[-1][1], path[-1][2]


def main(argv: list[str] | None = None) -> int:
    """Analyse one clip and print the tracks round its missed throws."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("stem")
    ap.add_argument("--out", type=Path, default=Path("bench/out/val600"))
    ap.add_argument("--all", action="store_true", help="every throw, not only the missed ones")
    ap.add_argument("--falling", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--blobs", action="store_true", help="print each frame's blobs near a throw")
    args = ap.parse_args(argv)
    video, truth, config = load_clip(args.out, args.stem, "falling", args.falling)
    log: list[dict[str, Any]] = []
    _instrument(log)
    frames: list[tuple[float, list[tuple[float, float, int]]]] = []
    if args.blobs:
        _record_blobs(frames)
    source = FrameSource(str(video), threads=1)
    dets = [_det_row(d) for d in run(source, Analyzer(config, source.fps, snapshots=False))]
    source.close()
    rows, fas = score_facade(truth, dets)
    print(f"{args.stem}: {sum(r['hit'] for r in rows)}/{len(rows)} hits, {len(fas)} false")
    for fa in fas:
        print("  FALSE", fa)
    reach = max(15.0, 0.5 * truth["storey_px"])
    for g, row in zip(truth["events"], rows, strict=True):
        if row["hit"] and not args.all:
            continue
        print(
            f"\n{'HIT ' if row['hit'] else 'MISS'} t={g['t']:.2f} floor={g['floor']} "
            f"size={g['size_px']} contrast={g.get('contrast')} fall={g['fall_s']}s "
            f"start=({g['x']:.0f},{g['y']:.0f}) conf={row['confidence']}"
        )
        for rec in log:
            on = 0
            for t, x, y in zip(rec["t"], rec["x"], rec["y"], strict=True):
                p = _path_at(g["path"], t)
                if p and math.hypot(p[0] - x, p[1] - y) <= reach + g["size_px"]:
                    on += 1
            if on < 2:
                continue
            pts = list(zip(rec["t"], rec["x"], rec["y"], strict=True))
            print(
                f"  track {rec['id']}: {rec['t'][0]:.2f}-{rec['t'][-1]:.2f}s "
                f"{len(rec['t'])} pts, {on} on path -> {rec['outcome']}"
                f"{' (trimmed)' if rec.get('trimmed') else ''}"
                f"{' conf=' + str(rec['conf']) if 'conf' in rec else ''}"
            )
            step = max(1, len(pts) // 12)
            print("    " + " ".join(f"({t:.2f},{x:.0f},{y:.0f})" for t, x, y in pts[::step]))
        if args.blobs:
            _print_blobs(frames, g, reach + g["size_px"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
