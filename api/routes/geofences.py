"""Safe zones per elder: a family manages only its own elders' zones; staff manage all."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, status
from pydantic import BaseModel, Field, field_validator

from api.access import family_resident
from api.deps import GatewayDep, require
from api.personal import Audit, Auditor
from gateway.storage.people_repo import PeopleReads, ZoneRow
from gateway.storage.tx import StoreTx
from gateway.users import User

router = APIRouter(prefix="/geofences", tags=["geofences"])

Editors = Annotated[User, Depends(require("admin", "operator", "family"))]
# SQLite row ids are signed 64-bit: a larger id cannot exist (and must not reach the driver).
ZoneId = Annotated[int, Path(ge=1, le=2**63 - 1)]
Corner = Annotated[list[float], Field(min_length=2, max_length=2, description="[lat, lon]")]


def _check_polygon(polygon: list[list[float]]) -> list[list[float]]:
    for lat, lon in polygon:
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise ValueError(f"corner {[lat, lon]} is not a WGS-84 [lat, lon]")
    return polygon


# Safe zones per elder: a home, a daughter's flat, the park, the clinic … Every fix of the
# elder's band is tested against each on the pipeline thread: a family account that made
# 8,000 delayed other families' SOS by seconds (red team round 3b).
ZONES_PER_RESIDENT = 20


class ZoneLimitError(Exception):
    """The elder already has as many safe zones as allowed."""

    def __init__(self, resident_id: str) -> None:
        super().__init__(f"{resident_id} already has {ZONES_PER_RESIDENT} safe zones, the most "
                         "allowed: change or delete one instead")


class GeofenceCreate(BaseModel):
    """A new safe zone for one elder."""

    resident_id: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=64)
    polygon: list[Corner] = Field(min_length=3, max_length=200, description="Corners, [lat, lon]")
    enabled: bool = True

    @field_validator("polygon")
    @classmethod
    def _corners(cls, v: list[list[float]]) -> list[list[float]]:
        return _check_polygon(v)


class GeofenceUpdate(BaseModel):
    """Fields to change; omitted ones stay."""

    name: str | None = Field(None, min_length=1, max_length=64)
    polygon: list[Corner] | None = Field(None, min_length=3, max_length=200)
    enabled: bool | None = None

    @field_validator("polygon")
    @classmethod
    def _corners(cls, v: list[list[float]] | None) -> list[list[float]] | None:
        return None if v is None else _check_polygon(v)


class GeofencePublic(BaseModel):
    """A stored safe zone."""

    id: int
    resident_id: str
    name: str
    polygon: list[list[float]]
    enabled: bool
    created_by: str
    created_at: float
    updated_at: float


def _public(zone: ZoneRow) -> GeofencePublic:
    return GeofencePublic(**asdict(zone))


def _may_manage(gw: Any, auditor: Auditor, resident_id: str, action: str) -> None:
    """404 (audited) when a family reaches for an elder that is not theirs."""
    if auditor.user.role == "family":
        family_resident(gw, auditor, resident_id, action)


def _zone(gw: Any, auditor: Auditor, zone_id: int, action: str) -> ZoneRow:
    zone = PeopleReads(gw.store).zone(zone_id)
    if zone is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such geofence")
    _may_manage(gw, auditor, zone.resident_id, action)
    return zone


@router.get("", response_model=list[GeofencePublic])
def list_geofences(gw: GatewayDep, user: Editors, auditor: Audit,
                   resident_id: str | None = None) -> list[GeofencePublic]:
    """Zones of one elder, or of every elder this caller may manage."""
    reads = PeopleReads(gw.store)
    if resident_id is not None:
        _may_manage(gw, auditor, resident_id, "geofence_read")
        zones = reads.zones(resident_id=resident_id)
    elif user.role == "family":
        zones = reads.zones(family=user.username)
    else:
        zones = reads.zones()
    auditor.disclosed("geofence_read", [z.resident_id for z in zones])
    return [_public(z) for z in zones]


@router.post("", response_model=GeofencePublic, status_code=status.HTTP_201_CREATED)
def create_geofence(body: GeofenceCreate, gw: GatewayDep, user: Editors,
                    auditor: Audit) -> GeofencePublic:
    """Add a safe zone for an elder (the zone and its audit row in one transaction)."""
    _may_manage(gw, auditor, body.resident_id, "geofence_write")
    if user.role != "family" and PeopleReads(gw.store).resident(body.resident_id) is None:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "no such resident")

    def create(now: float, tx: StoreTx) -> int:
        if tx.people.zone_count(body.resident_id) >= ZONES_PER_RESIDENT:
            raise ZoneLimitError(body.resident_id)
        zone_id = tx.people.create_zone(resident_id=body.resident_id, name=body.name,
                                        polygon=body.polygon, enabled=body.enabled,
                                        actor=user.username, now=now)
        auditor.wrote("geofence_write", body.resident_id, f"create {zone_id}", tx)
        return zone_id

    try:
        zone_id = gw.pipeline.call("geofence_create", create, gw.clock.time())
    except ZoneLimitError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    return _public(_zone(gw, auditor, zone_id, "geofence_write"))


@router.put("/{zone_id}", response_model=GeofencePublic)
def update_geofence(zone_id: ZoneId, body: GeofenceUpdate, gw: GatewayDep,
                    user: Editors, auditor: Audit) -> GeofencePublic:
    """Rename, reshape, enable or disable a zone."""
    zone = _zone(gw, auditor, zone_id, "geofence_write")

    def update(now: float, tx: StoreTx) -> None:
        tx.people.update_zone(
            zone_id, name=zone.name if body.name is None else body.name,
            polygon=zone.polygon if body.polygon is None else body.polygon,
            enabled=zone.enabled if body.enabled is None else body.enabled, now=now)
        auditor.wrote("geofence_write", zone.resident_id, f"update {zone_id}", tx)

    gw.pipeline.call("geofence_update", update, gw.clock.time())
    return _public(_zone(gw, auditor, zone_id, "geofence_write"))


@router.delete("/{zone_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_geofence(zone_id: ZoneId, gw: GatewayDep, user: Editors, auditor: Audit) -> None:
    """Remove a zone."""
    zone = _zone(gw, auditor, zone_id, "geofence_write")

    def delete(now: float, tx: StoreTx) -> None:
        tx.people.delete_zone(zone_id)
        auditor.wrote("geofence_write", zone.resident_id, f"delete {zone_id}", tx)

    gw.pipeline.call("geofence_delete", delete, gw.clock.time())
