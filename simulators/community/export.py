"""Export the community model as a seed bundle in the gateway's own import formats.

`python -m simulators.community.export --out DIR` writes `devices.yaml` (the `scgw devices
import` format), `seed.yaml` (residents, family accounts, grid workers, door plates),
`rota.yaml` (the workflow duty rota) and `rules/zones.yaml` (geofence zones for the rules).
The gateway reads these files; it never imports this package.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import yaml

from simulators.community.model import Community, load_community


def seed(community: Community) -> dict[str, Any]:
    """Residents, families, grid workers and door plates as plain data."""
    residents = community.resident_records()
    return {
        "residents": [{"id": r["id"], "name": r["name"], "tags": r["tags"], "site": r["site"]}
                      for r in residents],
        "families": [{"username": f["username"], "name": f["name"], "relation": f["relation"],
                      "resident_ids": f["resident_ids"]} for f in community.family_links()],
        "grid_workers": community.grid_workers(),
        # One digital door plate (数字门牌码) per home: DP-<building>-<unit>-<floor>01.
        "door_plates": [
            {"code": f"DP-{r['building']}-{r['unit']}-{r['floor']}01", "site": r["site"],
             "building": r["building"], "unit": r["unit"], "room": f"{r['floor']}01",
             "grid": r["grid"]}
            for r in residents
        ],
    }


def rota(community: Community) -> dict[str, Any]:
    """Day shift for a grid's first worker, night shift for its second (else all day)."""
    grids: dict[str, list[dict[str, str]]] = {}
    for worker in community.grid_workers():
        shifts = grids.setdefault(worker["grid"], [])
        shifts.append({"worker": worker["username"], "start": "08:00", "end": "20:00"}
                      if not shifts else
                      {"worker": worker["username"], "start": "20:00", "end": "08:00"})
    for shifts in grids.values():
        if len(shifts) == 1:
            shifts[0] = {"worker": shifts[0]["worker"], "start": "00:00", "end": "23:59:59"}
    return {"grids": grids}


def export(out: Path, community: Community | None = None) -> list[Path]:
    """Write the bundle into `out`; return the files written."""
    c = community or load_community()
    (out / "rules").mkdir(parents=True, exist_ok=True)
    files = {
        out / "devices.yaml": {"devices": c.devices_for_registry()},
        out / "seed.yaml": seed(c),
        out / "rota.yaml": rota(c),
        out / "rules" / "zones.yaml": {"zones": c.zones()},
    }
    for path, data in files.items():
        path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False),
                        encoding="utf-8")
    return list(files)


def main() -> None:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="Folder to write into")
    parser.add_argument("--community", type=Path, default=None, help="Community model file")
    args = parser.parse_args()
    for path in export(args.out, load_community(args.community) if args.community else None):
        print(path)


if __name__ == "__main__":
    main()
