"""Cross-reference checks of a community model: every id a record names must exist."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from simulators.community.geo import contains

if TYPE_CHECKING:
    from simulators.community.model import Community


def _duplicates(what: str, ids: Iterable[str]) -> list[str]:
    return [f"duplicate {what} id {i!r}" for i, n in Counter(ids).items() if n > 1]


def cross_check(c: Community) -> list[str]:
    """Every problem found, as readable sentences (empty when the model is consistent)."""
    problems: list[str] = []
    for what, items in (("building", c.buildings), ("grid", c.grids), ("fire lane", c.fire_lanes),
                        ("gate", c.gates), ("place", c.pois), ("resident", c.residents),
                        ("device", c.devices)):
        problems += _duplicates(what, (item.id for item in items))
    problems += _duplicates("family username", (f.username for f in c.families))

    buildings = {b.id: b for b in c.buildings}
    grids = {g.id for g in c.grids}
    residents = {r.id for r in c.residents}

    covering = Counter(b for g in c.grids for b in g.buildings)
    for b in c.buildings:
        if covering[b.id] != 1:
            problems.append(f"building {b.id} is in {covering[b.id]} grids (needs exactly 1)")
        if not all(contains(c.boundary, p) or p in c.boundary for p in b.polygon):
            problems.append(f"building {b.id} is not inside the compound boundary")
    for g in c.grids:
        problems += [f"grid {g.id} names unknown building {b!r}"
                     for b in g.buildings if b not in buildings]
    for owner, grid in ([(f"fire lane {x.id}", x.grid) for x in c.fire_lanes]
                        + [(f"gate {x.id}", x.grid) for x in c.gates]
                        + [(f"place {x.id}", x.grid) for x in c.pois]
                        + [(f"device {d.id}", d.grid) for d in c.devices if d.grid]):
        if grid not in grids:
            problems.append(f"{owner} names unknown grid {grid!r}")

    for r in c.residents:
        b = buildings.get(r.building)
        if b is None:
            problems.append(f"resident {r.id} lives in unknown building {r.building!r}")
            continue
        if r.unit not in b.units:
            problems.append(f"resident {r.id}: building {b.id} has no unit {r.unit!r}")
        if r.floor > b.floors:
            problems.append(f"resident {r.id}: floor {r.floor} > {b.floors} floors of {b.id}")
    for f in c.families:
        problems += [f"family {f.username} follows unknown resident {r!r}"
                     for r in f.residents if r not in residents]
    problems += _check_devices(c, buildings, residents)
    return problems


def _check_devices(c: Community, buildings: dict, residents: set[str]) -> list[str]:
    problems: list[str] = []
    lanes = {x.id for x in c.fire_lanes}
    problems += [f"fire lane {x.id} names unknown building {x.building!r}"
                 for x in c.fire_lanes if x.building is not None and x.building not in buildings]
    gates = {x.id for x in c.gates}
    worn: Counter[str] = Counter()
    for d in c.devices:
        if d.kind == "wristband":
            worn[d.resident] += 1
            if d.resident not in residents:
                problems.append(f"wristband {d.id} is bound to unknown resident {d.resident!r}")
        elif d.kind == "access":
            if d.building is not None:
                b = buildings.get(d.building)
                if b is None or d.unit not in b.units:
                    problems.append(f"access {d.id}: no unit {d.building}-{d.unit}")
            if d.gate is not None and d.gate not in gates:
                problems.append(f"access {d.id} names unknown gate {d.gate!r}")
            if d.resident is not None and d.resident not in residents:
                problems.append(f"access {d.id} is bound to unknown resident {d.resident!r}")
            if d.fence_zones and not d.grid:
                problems.append(f"access {d.id}: a fence controller needs a grid")
        elif d.kind == "camera":
            if d.fire_lane is not None and d.fire_lane not in lanes:
                problems.append(f"camera {d.id} names unknown fire lane {d.fire_lane!r}")
            if d.facade is not None and d.facade not in buildings:
                problems.append(f"camera {d.id} names unknown building {d.facade!r}")
        elif d.kind == "locker":
            if not d.grid:
                problems.append(f"locker {d.id} needs a grid")
            problems += [f"locker {d.id}: compartment label {k!r} longer than 16"
                         for k in d.tools if len(k) > 16]
        elif d.kind == "alarm_pole":
            problems += _check_pole(c, d, buildings)
        elif d.kind in ("elevator", "charging_pile") and d.building not in buildings:
            problems.append(f"{d.kind} {d.id} names unknown building {d.building!r}")
        elif d.kind in ("smoke_detector", "gas_detector", "leak_detector", "water_meter",
                        "radar") and (
                d.resident not in residents):
            problems.append(f"{d.kind} {d.id} is in the home of unknown resident "
                            f"{d.resident!r}")
    problems += [f"resident {r} wears {n} wristbands" for r, n in worn.items() if n > 1]
    return problems


def _check_pole(c: Community, d: Any, buildings: dict) -> list[str]:
    problems = []
    if d.building is not None and d.building not in buildings:
        problems.append(f"alarm pole {d.id} names unknown building {d.building!r}")
    if d.building is None and not d.grid:
        problems.append(f"alarm pole {d.id} needs a grid or a building")
    cameras = {x.id for x in c.devices if x.kind == "camera"}
    if d.camera is not None and d.camera not in cameras:
        problems.append(f"alarm pole {d.id} names unknown camera {d.camera!r}")
    return problems
