"""Pydantic schema and loader of the community model file, with seeding helpers for the gateway."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal, Self

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from simulators.community.device_specs import (
    AccessSpec,
    AlarmPoleSpec,
    CameraSpec,
    ChargingPileSpec,
    DeviceSpec,
    ElevatorSpec,
    ExtinguisherSpec,
    GasDetectorSpec,
    HomeSpec,
    LeakDetectorSpec,
    LockerSpec,
    RadarSpec,
    SmokeDetectorSpec,
    WaterMeterSpec,
    WristbandSpec,
)
from simulators.community.geo import LocalFrame, Point, centroid, contains

DEFAULT_FILE = Path(__file__).with_name("jining_renmin.yaml")

Polygon = Annotated[list[Point], Field(min_length=3, description="Corners as [x, y] metres")]
Tag = Literal[
    "lives_alone", "empty_nest", "chronic_illness", "limited_mobility", "disabled", "volunteer"
]


__all__ = ["AccessSpec", "AlarmPoleSpec", "CameraSpec", "ChargingPileSpec", "Community",
           "DeviceSpec",
           "ElevatorSpec", "ExtinguisherSpec",
           "GasDetectorSpec", "LeakDetectorSpec", "LockerSpec", "RadarSpec",
           "SmokeDetectorSpec", "WaterMeterSpec",
           "WristbandSpec",
           "load_community"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Site(_Strict):
    """The compound (小区) and where it sits administratively."""

    id: str = Field(pattern=r"^[a-z0-9-]{1,64}$", description="Site id used on every device")
    name_zh: str = Field(description="Compound name, Chinese")
    name_en: str = Field(description="Compound name, English")
    community_zh: str = Field(description="Community (社区) the compound belongs to")
    street_zh: str = Field(description="Street office (街道)")
    city_zh: str = Field(description="City and district")
    timezone: str = Field("Asia/Shanghai", description="IANA zone residents live by")


class Anchor(_Strict):
    """WGS-84 position of the local frame's origin (x=0, y=0)."""

    lat: float = Field(ge=-90, le=90, description="Latitude, degrees")
    lon: float = Field(ge=-180, le=180, description="Longitude, degrees")


class Building(_Strict):
    """A residential building (楼栋) with its stairwell units (单元)."""

    id: str = Field(description="Building number as residents say it, e.g. '3'")
    name: str = Field(description="Display name, e.g. 3号楼")
    polygon: Polygon
    floors: int = Field(ge=1, le=120, description="Number of storeys")
    units: list[str] = Field(min_length=1, description="Unit ids, west to east")


class GridWorker(_Strict):
    """A grid worker (网格员) account."""

    username: str = Field(pattern=r"^[a-z0-9._-]{2,32}$", description="Login name")
    name: str = Field(description="Full name")


class Grid(_Strict):
    """A grid cell (网格): the buildings it covers and who works it."""

    id: str = Field(pattern=r"^G-\d{2}$", description="Grid id, G-01 …")
    name: str = Field(description="Display name")
    buildings: list[str] = Field(description="Building ids in this grid")
    workers: list[GridWorker] = Field(min_length=1, description="Grid workers on the rota")


class FireLane(_Strict):
    """A fire lane (消防通道) that must stay clear."""

    id: str = Field(pattern=r"^FL-\d+$", description="Zone id used in camera events")
    name: str = Field(description="Display name")
    grid: str = Field(description="Grid responsible for it")
    building: str | None = Field(
        None, description="Building whose fire-engine access it is (none: the whole compound); "
        "its camera is registered there, so a smoke alarm in that building sees it blocked")
    polygon: Polygon


class Gate(_Strict):
    """A compound gate."""

    id: str = Field(description="Gate id")
    name: str = Field(description="Display name")
    at: Point = Field(description="Position, local metres")
    grid: str = Field(description="Grid responsible for it")


class Poi(_Strict):
    """A place residents go to: park, market, clinic, property office."""

    id: str = Field(description="Place id, used by routines and scenarios")
    kind: Literal["park", "market", "clinic", "office", "landmark"] = Field(
        description="What it is")
    name: str = Field(description="Display name")
    grid: str = Field(description="Grid responsible for it")
    polygon: Polygon


class Health(_Strict):
    """Baseline vitals that differ from the simulator's defaults for this person."""

    heart_rate_bpm: int | None = Field(None, ge=40, le=120, description="Resting heart rate")
    systolic_mmhg: int | None = Field(None, ge=90, le=200, description="Usual systolic")
    diastolic_mmhg: int | None = Field(None, ge=50, le=120, description="Usual diastolic")
    glucose_mmol_l: float | None = Field(None, ge=3, le=20, description="Usual glucose")


class Resident(_Strict):
    """A resident in the six-colour ledger (六色台账)."""

    id: str = Field(pattern=r"^R-[a-z0-9-]{1,40}$", description="Resident id")
    name: str = Field(description="Full name, Chinese")
    sex: Literal["M", "F"] = Field(description="Sex")
    age: int = Field(ge=0, le=120, description="Age in years")
    building: str = Field(description="Home building")
    unit: str = Field(description="Home unit")
    floor: int = Field(ge=1, le=120, description="Home floor")
    tags: list[Tag] = Field(default_factory=list, description="Ledger tags (priority groups)")
    health: Health = Field(default_factory=Health, description="Baseline vitals overrides")


class Family(_Strict):
    """A family account (家属) and the residents it may follow."""

    username: str = Field(pattern=r"^[a-z0-9._-]{2,32}$", description="Login name")
    name: str = Field(description="Full name")
    relation: str = Field(description="Relation to the residents, e.g. son")
    residents: list[str] = Field(min_length=1, description="Resident ids this account follows")


class Community(_Strict):
    """The whole community model file."""

    site: Site
    anchor: Anchor
    boundary: Polygon
    safe_zone: Polygon
    buildings: list[Building]
    grids: list[Grid]
    fire_lanes: list[FireLane]
    gates: list[Gate]
    pois: list[Poi]
    residents: list[Resident]
    families: list[Family] = Field(default_factory=list)
    devices: list[DeviceSpec]

    @model_validator(mode="after")
    def _cross_references(self) -> Self:
        from simulators.community.checks import cross_check

        problems = cross_check(self)
        if problems:
            raise ValueError("; ".join(problems))
        return self

    # ---- lookups -------------------------------------------------------------------------

    @cached_property
    def frame(self) -> LocalFrame:
        """Local metres ↔ WGS-84."""
        return LocalFrame(self.anchor.lat, self.anchor.lon)

    def building(self, building_id: str) -> Building:
        """A building by id (KeyError if unknown)."""
        return _by_id(self.buildings, building_id)

    def resident(self, resident_id: str) -> Resident:
        """A resident by id."""
        return _by_id(self.residents, resident_id)

    def device(self, device_id: str) -> DeviceSpec:
        """A device spec by id."""
        return _by_id(self.devices, device_id)

    def poi(self, poi_id: str) -> Poi:
        """A place by id."""
        return _by_id(self.pois, poi_id)

    def gate(self, gate_id: str) -> Gate:
        """A gate by id."""
        return _by_id(self.gates, gate_id)

    def fire_lane(self, lane_id: str) -> FireLane:
        """A fire lane by id."""
        return _by_id(self.fire_lanes, lane_id)

    def grid_of_building(self, building_id: str) -> str:
        """The grid covering a building."""
        for grid in self.grids:
            if building_id in grid.buildings:
                return grid.id
        raise KeyError(building_id)

    def unit_door(self, building_id: str, unit: str) -> Point:
        """Where a unit's entrance is: on the south wall, units spaced evenly west to east."""
        b = self.building(building_id)
        xs = [p[0] for p in b.polygon]
        y = min(p[1] for p in b.polygon) - 1.0
        index = b.units.index(unit)
        width = (max(xs) - min(xs)) / len(b.units)
        return (min(xs) + width * (index + 0.5), y)

    def home(self, resident_id: str) -> Point:
        """A resident's unit entrance."""
        r = self.resident(resident_id)
        return self.unit_door(r.building, r.unit)

    def inside_compound(self, point: Point) -> bool:
        """Whether a local point is within the compound boundary."""
        return contains(self.boundary, point)

    def placement(self, device_id: str) -> dict[str, str]:
        """building / unit / grid of a device, derived from where it is installed."""
        spec = self.device(device_id)
        building = unit = ""
        grid = spec.grid or ""
        if isinstance(spec, WristbandSpec):
            r = self.resident(spec.resident)
            building, unit = r.building, r.unit
        elif isinstance(spec, AccessSpec) and spec.building is not None:
            building, unit = spec.building, spec.unit or ""
        elif isinstance(spec, AccessSpec) and spec.gate is not None:
            grid = grid or self.gate(spec.gate).grid
        elif isinstance(spec, CameraSpec) and spec.facade is not None:
            building = spec.facade
        elif isinstance(spec, CameraSpec) and spec.fire_lane is not None:
            lane = self.fire_lane(spec.fire_lane)
            grid = grid or lane.grid
            building = lane.building or ""
        elif isinstance(spec, AlarmPoleSpec | ChargingPileSpec):
            building = spec.building or ""
        elif isinstance(spec, HomeSpec):
            r = self.resident(spec.resident)
            building, unit = r.building, r.unit
        elif isinstance(spec, ExtinguisherSpec | ElevatorSpec):
            building, unit = spec.building, spec.unit
        if building and not grid:
            grid = self.grid_of_building(building)
        return {"building": building, "unit": unit, "grid": grid}

    # ---- seeding helpers (plain records, so the gateway needs no simulator types) ---------

    def devices_for_registry(self) -> list[dict[str, Any]]:
        """Registration records with exactly the fields of `devices.base.DeviceConfig`."""
        records = []
        for spec in self.devices:
            place = self.placement(spec.id)
            records.append({
                "id": spec.id,
                "kind": spec.kind,
                "vendor": spec.vendor,
                "model": spec.model,
                "codec": "json",
                "site": self.site.id,
                "building": place["building"],
                "unit": place["unit"],
                "grid": place["grid"],
                "resident_id": getattr(spec, "resident", None),
                "install_date": spec.install_date,
            })
        return records

    def resident_records(self) -> list[dict[str, Any]]:
        """Residents as plain records, with their grid, site and bound device ids."""
        bound: dict[str, list[str]] = {}
        for spec in self.devices:
            if isinstance(spec, WristbandSpec):
                bound.setdefault(spec.resident, []).append(spec.id)
        return [
            {
                **r.model_dump(exclude={"health"}),
                "site": self.site.id,
                "grid": self.grid_of_building(r.building),
                "device_ids": bound.get(r.id, []),
            }
            for r in self.residents
        ]

    def family_links(self) -> list[dict[str, Any]]:
        """Family accounts: username, name, relation and the resident ids each may follow."""
        return [
            {"username": f.username, "name": f.name, "relation": f.relation,
             "resident_ids": list(f.residents)}
            for f in self.families
        ]

    def grid_workers(self) -> list[dict[str, str]]:
        """Grid worker accounts with their grid id (for the rota)."""
        return [
            {"grid": g.id, "username": w.username, "name": w.name}
            for g in self.grids for w in g.workers
        ]

    def zones(self) -> list[dict[str, Any]]:
        """Named polygons as [lat, lon] corners (the shape of a rule-file zone)."""
        def latlon(polygon: list[Point]) -> list[list[float]]:
            return [list(self.frame.to_latlon(p)) for p in polygon]

        # The safe zone carries the bare site id: the built-in geofence rule names "{site}".
        zones = [
            {"name": self.site.id, "polygon": latlon(self.safe_zone)},
            {"name": f"{self.site.id}.boundary", "polygon": latlon(self.boundary)},
        ]
        zones += [{"name": lane.id, "polygon": latlon(lane.polygon)} for lane in self.fire_lanes]
        zones += [{"name": f"{self.site.id}.{p.id}", "polygon": latlon(p.polygon)}
                  for p in self.pois]
        return zones

    def centre_latlon(self) -> tuple[float, float]:
        """The compound's centre in degrees (for maps)."""
        return self.frame.to_latlon(centroid(self.boundary))


def residents(community: Community | None = None) -> list[dict[str, Any]]:
    """Resident records of the default (or given) community."""
    return (community or load_community()).resident_records()


def family_links(community: Community | None = None) -> list[dict[str, Any]]:
    """Family-account records of the default (or given) community."""
    return (community or load_community()).family_links()


def devices_for_registry(community: Community | None = None) -> list[dict[str, Any]]:
    """Device registration records of the default (or given) community."""
    return (community or load_community()).devices_for_registry()


def load_community(path: Path | str | None = None) -> Community:
    """Read and validate a community file (default: the Jining compound)."""
    source = Path(path) if path else DEFAULT_FILE
    data = yaml.safe_load(source.read_text(encoding="utf-8"))
    return Community.model_validate(data)


def _by_id(items: list[Any], wanted: str) -> Any:
    for item in items:
        if item.id == wanted:
            return item
    raise KeyError(wanted)
