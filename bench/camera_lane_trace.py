"""Trace a fire-lane clip: per zone, what the detector measured round each stay of the truth.

Usage: .venv/bin/python bench/camera_lane_trace.py CLIP_STEM [--out bench/out/lanefull]
       [--zone FL-2] [--from 100 --to 400] [--every 5]

Runs the analyzer on one cached lane clip of `bench/camera_eval.py` and records, for every
analysed frame and zone, the standing picture area against the zone's threshold, whether it
read occupied, the dwell clock's arrival, whether it is blocked and when its object last
matched its look. Prints the truth's stays and pauses, the events, the scoring rows, every
change of the clock (arrival set or reset, blocked, cleared) and, with --from/--to, the
per-frame figures of that span. A diagnostic, not a benchmark.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from bench.camera_eval import _det_row, load_clip
from bench.camera_score import score_lane
from devices.camera import firelane
from devices.camera.analyze import Analyzer, run
from devices.camera.firelane import FireLaneDetector
from devices.camera.source import FrameSource


def _instrument(log: list[dict[str, Any]]) -> None:
    """Record each zone's state after every analysed frame."""
    process = FireLaneDetector.process

    def _process(
        self: FireLaneDetector, t: float, image: Any, gain: float = 1.0, steady: bool = True
    ) -> Any:
        out = process(self, t, image, gain, steady)
        s2 = self.crop.scale**2
        for z in self.zones:
            log.append(
                {
                    "t": round(t, 2),
                    "zone": z.zone.id,
                    "area": round(z.share * z.area_px),
                    "thr": round(z.threshold_px),
                    "since": None if z.since is None else round(z.since, 1),
                    "blocked": z.blocked,
                    "present": None if z.present_at is None else round(z.present_at, 1),
                    "tpl": None if z.template_mask is None else len(z.template_mask),
                    "gain": round(gain, 3),
                    "steady": steady,
                    "noise": None if self._noise is None else round(self._noise, 2),
                    "s2": s2,
                    "match": getattr(z, "trace_match", None),
                }
            )
        return out

    FireLaneDetector.process = _process  # type: ignore[method-assign]
    presence = firelane.track_presence

    def _presence(
        s: Any, t: float, image: Any, empty: Any, standing: Any, thr: float, enough: bool
    ) -> None:
        # How well the remembered look matches now, and how much of it differs from the lane.
        s.trace_match = None
        if s.template is not None and s.template_mask is not None and len(s.template_mask):
            flat = image.reshape(-1, image.shape[-1])[s.template_mask].astype(np.float32)
            lane = empty.reshape(-1, empty.shape[-1])[s.template_mask]
            match = float(np.mean(np.abs(flat - s.template).max(axis=1) < thr))
            differs = float(np.mean(np.abs(flat - lane).max(axis=1) > 0.5 * thr))
            s.trace_match = (round(match, 2), round(differs, 2))
        presence(s, t, image, empty, standing, thr, enough)

    firelane.track_presence = _presence  # type: ignore[attr-defined]


def main(argv: list[str] | None = None) -> int:
    """Analyse one lane clip and print its zones' clocks."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("stem")
    ap.add_argument("--out", type=Path, default=Path("bench/out/lanefull"))
    ap.add_argument("--zone")
    ap.add_argument("--from", dest="t0", type=float)
    ap.add_argument("--to", dest="t1", type=float)
    ap.add_argument("--every", type=int, default=1, help="print every n-th frame of the span")
    ap.add_argument("--lane", action="append", default=[], metavar="KEY=VALUE")
    args = ap.parse_args(argv)
    video, truth, config = load_clip(args.out, args.stem, "fire_lanes", args.lane)
    log: list[dict[str, Any]] = []
    _instrument(log)
    source = FrameSource(str(video), threads=1)
    dets = [_det_row(d) for d in run(source, Analyzer(config, source.fps, snapshots=False))]
    source.close()
    for g in truth["events"]:
        if args.zone in (None, g["zone"]):
            keys = ("kind", "zone", "distance", "t_enter", "t_arrive", "t_leave", "share")
            print("STAY", {k: g.get(k) for k in keys})
    for p in truth.get("pauses", []):
        if args.zone in (None, p["zone"]):
            print("PAUSE", p)
    for d in dets:
        print("EVENT", d)
    rows, false_blocks = score_lane(truth, dets)
    for r in rows:
        print("ROW", r)
    print("false blocks:", false_blocks)
    last: dict[str, tuple[Any, Any]] = {}
    for rec in log:
        if args.zone not in (None, rec["zone"]):
            continue
        key = (rec["since"], rec["blocked"])
        if last.get(rec["zone"]) != key:
            print(
                "CLOCK",
                {
                    k: rec[k]
                    for k in ("t", "zone", "since", "blocked", "area", "thr", "present", "tpl")
                },
            )
            last[rec["zone"]] = key
        if args.t0 is not None and args.t0 <= rec["t"] <= (args.t1 or 1e12):
            i = round(rec["t"] * 5)
            if i % args.every == 0:
                print("  ", {k: v for k, v in rec.items() if k != "s2"})
    return 0


if __name__ == "__main__":
    sys.exit(main())
