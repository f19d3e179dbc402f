"""Export the community model as a seed bundle in the gateway's own import formats.

`python -m simulators.community.export --out DIR` writes `devices.yaml` (the `scgw devices
import` format), `seed.yaml` (residents, family accounts, grid workers, door plates),
`rota.yaml` (the workflow duty rota), `rules/zones.yaml` (geofence zones for the rules) and
`sitemap.json` (the compound's geometry in lat/lon, drawn by the web console).
The gateway reads these files; it never imports this package.
"""

from __future__ import annotations

import argparse
import json
import zlib
from pathlib import Path
from typing import Any

import yaml

from simulators.community.device_specs import (
    AccessSpec,
    AlarmPoleSpec,
    CameraSpec,
    ElevatorSpec,
    ExtinguisherSpec,
    HomeSpec,
    LockerSpec,
)
from simulators.community.geo import Point, centroid
from simulators.community.model import Community, load_community


def _demo_phone(key: str) -> str:
    """A made-up mobile number, the same for the same key on every export (139 0537 xxxx:
    0537 is Jining's area code; nobody real is called)."""
    return f"139 0537 {zlib.crc32(key.encode()) % 10_000:04d}"


def _contact(resident_id: str, families: list[dict[str, Any]]) -> dict[str, str]:
    """The resident's own phone and, as emergency contact, the first family account's."""
    family = next((f for f in families if resident_id in f["resident_ids"]), None)
    return {"phone": _demo_phone(resident_id),
            "contact_name": family["name"] if family else "",
            "contact_relation": family["relation"] if family else "",
            "contact_phone": _demo_phone(family["username"]) if family else ""}


def seed(community: Community) -> dict[str, Any]:
    """Residents (with made-up phones), families, grid workers and door plates as data."""
    residents = community.resident_records()
    families = community.family_links()
    return {
        "residents": [{"id": r["id"], "name": r["name"], "tags": r["tags"], "site": r["site"],
                       **_contact(r["id"], families)} for r in residents],
        "families": [{"username": f["username"], "name": f["name"], "relation": f["relation"],
                      "resident_ids": f["resident_ids"]} for f in families],
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


def sitemap(c: Community) -> dict[str, Any]:
    """Buildings, fire lanes, gates, places, grids and fixed devices as [lat, lon] geometry."""
    def ll(point: Point) -> list[float]:
        return list(c.frame.to_latlon(point))

    def poly(points: list[Point]) -> list[list[float]]:
        return [ll(p) for p in points]

    fixed = []
    for spec in c.devices:
        at: Point | None = None
        if isinstance(spec, LockerSpec | AlarmPoleSpec):
            at = spec.at
        elif isinstance(spec, HomeSpec):  # drawn at the home's unit entrance
            at = c.home(spec.resident)
        elif isinstance(spec, AccessSpec) and spec.gate is not None:
            at = c.gate(spec.gate).at
        elif isinstance(spec, AccessSpec) and spec.building is not None:
            at = c.unit_door(spec.building, spec.unit or c.building(spec.building).units[0])
        elif isinstance(spec, ExtinguisherSpec | ElevatorSpec):  # in its stairwell
            at = c.unit_door(spec.building, spec.unit)
        elif isinstance(spec, CameraSpec) and spec.fire_lane is not None:
            at = centroid(c.fire_lane(spec.fire_lane).polygon)
        elif isinstance(spec, CameraSpec) and spec.facade is not None:
            at = centroid(c.building(spec.facade).polygon)
        if at is not None:  # wristbands move (their twin has the fix); the fence is the boundary
            fixed.append({"id": spec.id, "kind": spec.kind, "name": spec.name, "at": ll(at)})
    return {
        "version": 1,
        "site": {"id": c.site.id, "name_zh": c.site.name_zh, "name_en": c.site.name_en,
                 "community_zh": c.site.community_zh, "street_zh": c.site.street_zh,
                 "timezone": c.site.timezone},
        "anchor": {"lat": c.anchor.lat, "lon": c.anchor.lon},
        "boundary": poly(c.boundary),
        "safe_zone": {"name": c.site.id, "polygon": poly(c.safe_zone)},
        "buildings": [{"id": b.id, "name": b.name, "floors": b.floors, "grid":
                       c.grid_of_building(b.id), "polygon": poly(b.polygon)}
                      for b in c.buildings],
        "fire_lanes": [{"id": f.id, "name": f.name, "grid": f.grid, "polygon": poly(f.polygon)}
                       for f in c.fire_lanes],
        "gates": [{"id": g.id, "name": g.name, "grid": g.grid, "at": ll(g.at)} for g in c.gates],
        "pois": [{"id": p.id, "kind": p.kind, "name": p.name, "grid": p.grid,
                  "polygon": poly(p.polygon)} for p in c.pois],
        "grids": [{"id": g.id, "name": g.name, "buildings": g.buildings,
                   "workers": [{"username": w.username, "name": w.name} for w in g.workers]}
                  for g in c.grids],
        "devices": fixed,
    }


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
    map_file = out / "sitemap.json"
    map_file.write_text(json.dumps(sitemap(c), ensure_ascii=False, indent=1), encoding="utf-8")
    return [*files, map_file]


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
