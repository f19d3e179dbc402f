"""How far above the picture's noise each thrown object is, frame by frame along its true path.

Usage: .venv/bin/python bench/camera_snr.py CLIP_STEM [--out bench/out/valc3000] [--all]

For every throw of one cached clip of `bench/camera_eval.py` (the missed ones unless --all; a
miss is scored as the bench scores it, from a `--records` file given with --records, else all
throws are listed), the clip is decoded and, at each frame of the fall, the object's
**streak box** is measured: the object's size round the stretch of path it covered in the last
half frame interval (shutter blur), in grey levels. Its signal is the box's mean minus the same
box's median over reference frames 0.3-2 s before the release (the object was elsewhere); its
noise is the spread (1.4826 x MAD) of the box's mean over those frames. Their ratio is what an
ideal detector that already knew where and how big the object is could see in one frame: a
box-averaged (matched-filter) test at 5 of them is the most any single-frame segmentation can
hope for without false alarms. Printed per throw: frames of the fall, the share with a box
ratio of at least 5 (`box5`), the median box ratio, and the median ratio of the streak's
strongest pixel to its own temporal noise (`px`: what a per-pixel test such as MOG2 sees, at 4).

A diagnostic, not a benchmark (it knows the truth). Its last line is JSON.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import sys
from pathlib import Path
from typing import Any

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

_REF_FROM_S, _REF_TO_S = 2.0, 0.3


def _at(path: list[list[float]], t: float) -> tuple[float, float] | None:
    if t < path[0][0] or t > path[-1][0]:
        return None
    for (t0, x0, y0), (t1, x1, y1) in itertools.pairwise(path):
        if t0 <= t <= t1:
            a = (t - t0) / (t1 - t0) if t1 > t0 else 0.0
            return x0 + a * (x1 - x0), y0 + a * (y1 - y0)
    return path[-1][1], path[-1][2]


def _decode(video: Path, wanted: set[int]) -> dict[int, np.ndarray]:
    cap = cv2.VideoCapture(str(video))
    out: dict[int, np.ndarray] = {}
    i, last = 0, max(wanted, default=-1)
    while i <= last:
        ok, frame = cap.read()
        if not ok:
            break
        if i in wanted:
            out[i] = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        i += 1
    cap.release()
    return out


def measure(video: Path, truth: dict[str, Any], events: list[dict[str, Any]]) -> list[dict]:
    """Per throw: frames of the fall and the box and pixel signal-to-noise ratios."""
    fps = float(truth["fps"])
    plans = []
    wanted: set[int] = set()
    for g in events:
        t0 = float(g["path"][0][0])
        t1 = float(g["path"][-1][0])
        refs = list(range(max(0, round((t0 - _REF_FROM_S) * fps)),
                          max(1, round((t0 - _REF_TO_S) * fps))))  # fmt: skip
        fall = list(range(math.ceil(t0 * fps), math.floor(t1 * fps) + 1))
        plans.append((g, refs, fall))
        wanted.update(refs, fall)
    frames = _decode(video, wanted)
    out = []
    for g, refs, fall in plans:
        r = max(1.0, 0.5 * float(g["size_px"]))
        stack = np.stack([frames[i] for i in refs if i in frames]).astype(np.float32)
        med = np.median(stack, axis=0)
        px_noise = 1.4826 * np.median(np.abs(stack - med), axis=0) + 0.5
        boxes, pixels = [], []
        for i in fall:
            if i not in frames:
                continue
            p1 = _at(g["path"], i / fps)
            p0 = _at(g["path"], i / fps - 0.5 / fps) or p1
            if p1 is None or p0 is None:
                continue
            h, w = med.shape
            x0 = max(0, int(min(p0[0], p1[0]) - r))
            x1 = min(w, int(max(p0[0], p1[0]) + r) + 1)
            y0 = max(0, int(min(p0[1], p1[1]) - r))
            y1 = min(h, int(max(p0[1], p1[1]) + r) + 1)
            if x1 <= x0 or y1 <= y0:
                continue
            ref_means = stack[:, y0:y1, x0:x1].mean(axis=(1, 2))
            centre = float(np.median(ref_means))
            spread = max(0.25, 1.4826 * float(np.median(np.abs(ref_means - centre))))
            diff = frames[i][y0:y1, x0:x1].astype(np.float32) - med[y0:y1, x0:x1]
            boxes.append(abs(float(frames[i][y0:y1, x0:x1].mean()) - centre) / spread)
            pixels.append(float(np.max(np.abs(diff) / px_noise[y0:y1, x0:x1])))
        n = len(boxes)
        out.append({
            "t": round(float(g["t"]), 2), "size_px": g["size_px"], "contrast": g.get("contrast"),
            "frames": n,
            "box5": round(sum(b >= 5 for b in boxes) / n, 2) if n else None,
            "box_median": round(float(np.median(boxes)), 1) if n else None,
            "px_median": round(float(np.median(pixels)), 1) if n else None,
        })  # fmt: skip
    return out


def main(argv: list[str] | None = None) -> int:
    """Measure one clip's throws and print them."""
    from bench.camera_eval import load_clip

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("stem")
    ap.add_argument("--out", type=Path, default=Path("bench/out/valc3000"))
    ap.add_argument("--records", type=Path, help="a --records file of the bench: misses only")
    ap.add_argument("--all", action="store_true", help="every throw, hit or missed")
    args = ap.parse_args(argv)
    video, truth, _ = load_clip(args.out, args.stem, "falling", [])
    events = [g for g in truth["events"] if g.get("type", "falling_object") == "falling_object"]
    hit: list[bool | None] = [None] * len(events)
    if args.records:
        records = json.loads(args.records.read_text(encoding="utf-8"))
        rec = next(r for r in records if r["clip"].startswith(args.stem))
        hit = [row["hit"] for row in rec["rows"]]
    chosen = [(g, h) for g, h in zip(events, hit, strict=True) if args.all or h is not True]
    rows = measure(video, truth, [g for g, _ in chosen])
    cond = truth.get("conditions", {})
    print(f"{args.stem}: night={cond.get('night')} weather={cond.get('weather')} "
          f"storey={truth.get('storey_px')} px")  # fmt: skip
    print("  t        hit   size  contrast  frames  box5   box_med  px_med")
    for row, (_, h) in zip(rows, chosen, strict=True):
        row["hit"] = h
        print(f"  {row['t']:<8} {'-' if h is None else ('yes' if h else 'MISS'):<5} "
              f"{row['size_px']:<5} {row['contrast']!s:<9} {row['frames']:<7} "
              f"{row['box5']!s:<6} {row['box_median']!s:<8} {row['px_median']!s}")  # fmt: skip
    print(json.dumps({"clip": args.stem, "throws": rows}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
