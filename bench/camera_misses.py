"""Break a bench run's falling-object misses down by condition, throw by throw.

Usage: .venv/bin/python bench/camera_misses.py RECORDS.json CLIP_DIR

RECORDS is `bench/camera_eval.py --records` output, CLIP_DIR the set's `--out` (the truth
files). Prints the false alarms, the misses per scale band, day/night, weather, distractor
density, object size and air drag (style C: quadratic, 1/m; A/B: linear, 1/s), then every
missed throw with its conditions. A diagnostic: which class of miss is the largest.
"""

from __future__ import annotations

import collections
import json
import sys
from pathlib import Path
from typing import Any


def rows(records: list[dict[str, Any]], out: Path) -> list[dict[str, Any]]:
    """One row per thrown object: its clip's conditions, its own, and whether it was found."""
    found = []
    for r in records:
        if r.get("scene") != "facade":
            continue
        stem = r["clip"].rsplit(".", 1)[0]
        truth = json.loads((out / f"{stem}.truth.json").read_text(encoding="utf-8"))
        throws = [e for e in truth["events"] if e["type"] == "falling_object"]
        c = r["conditions"]
        for e, row in zip(throws, r["rows"], strict=True):
            found.append(
                {
                    "clip": stem,
                    "t": e["t"],
                    "hit": row["hit"],
                    "scale": r["scale_band"],
                    "light": "night" if c.get("night") else "day",
                    "weather": c.get("weather") or ("rain" if c.get("rain") else "clear"),
                    "density": r["density"],
                    "size": e["size_band"],
                    "drag": "none" if not e.get("drag") else "<0.1" if e["drag"] < 0.1 else ">=0.1",
                    "contrast": e.get("contrast"),
                    "fall_s": e.get("fall_s"),
                    "floor": e["floor"],
                }
            )
    return found


def main(argv: list[str]) -> int:
    records = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    every = rows(records, Path(argv[1]))
    for r in records:
        for fa in r.get("false_alarms", []):
            print("false alarm", r["clip"], fa)
    missed = [x for x in every if not x["hit"]]
    print(f"throws {len(every)}, missed {len(missed)}")
    for key in ("scale", "light", "weather", "density", "size", "drag"):
        total = collections.Counter(x[key] for x in every)
        miss = collections.Counter(x[key] for x in missed)
        print(f"  {key}: " + ", ".join(f"{k} {miss[k]}/{total[k]}" for k in sorted(total)))
    for x in missed:
        print("  missed", {k: v for k, v in x.items() if k != "hit"})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
