"""Safe zones per elder: a family manages only its own elders' zones; staff manage all."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, HTTPException, Path, status
from pydantic import BaseModel, Field, field_validator

from api.access import family_resident
from api.deps import GatewayDep, require
from api.personal import Audit, Auditor
from gateway.users import User

router = APIRouter(prefix="/geofences", tags=["geofences"])

Editors = Annotated[User, Depends(require("admin", "operator", "family"))]
# SQLite row ids are signed 64-bit: a larger id cannot exist (and must not reach the driver).
ZoneId = Annotated[int, Path(ge=1, le=2**63 - 1)]
Corner = Annotated[list[float], Field(min_length=2, max_length=2, description="[lat, lon]")]
_COLUMNS = "id, resident_id, name, polygon, enabled, created_by, created_at, updated_at"


def _check_polygon(polygon: list[list[float]]) -> list[list[float]]:
    for lat, lon in polygon:
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise ValueError(f"corner {[lat, lon]} is not a WGS-84 [lat, lon]")
    return polygon


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


def _public(row: dict[str, Any]) -> GeofencePublic:
    return GeofencePublic(**{**row, "polygon": orjson.loads(row["polygon"]),
                             "enabled": bool(row["enabled"])})


def _may_manage(gw: Any, auditor: Auditor, resident_id: str, action: str) -> None:
    """404 (audited) when a family reaches for an elder that is not theirs."""
    if auditor.user.role == "family":
        family_resident(gw, auditor, resident_id, action)


def _row(gw: Any, auditor: Auditor, zone_id: int, action: str) -> dict[str, Any]:
    rows = gw.store.query(f"SELECT {_COLUMNS} FROM geofences WHERE id = ?", (zone_id,))
    if not rows:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such geofence")
    _may_manage(gw, auditor, rows[0]["resident_id"], action)
    return rows[0]


@router.get("", response_model=list[GeofencePublic])
def list_geofences(gw: GatewayDep, user: Editors, auditor: Audit,
                   resident_id: str | None = None) -> list[GeofencePublic]:
    """Zones of one elder, or of every elder this caller may manage."""
    if resident_id is not None:
        _may_manage(gw, auditor, resident_id, "geofence_read")
        rows = gw.store.query(f"SELECT {_COLUMNS} FROM geofences WHERE resident_id = ?"
                              " ORDER BY id", (resident_id,))
    elif user.role == "family":
        rows = gw.store.query(
            f"SELECT {_COLUMNS} FROM geofences WHERE resident_id IN"
            " (SELECT resident_id FROM family_links WHERE username = ?) ORDER BY id",
            (user.username,))
    else:
        rows = gw.store.query(f"SELECT {_COLUMNS} FROM geofences ORDER BY id")
    auditor.disclosed("geofence_read", [r["resident_id"] for r in rows])
    return [_public(r) for r in rows]


@router.post("", response_model=GeofencePublic, status_code=status.HTTP_201_CREATED)
def create_geofence(body: GeofenceCreate, gw: GatewayDep, user: Editors,
                    auditor: Audit) -> GeofencePublic:
    """Add a safe zone for an elder."""
    _may_manage(gw, auditor, body.resident_id, "geofence_write")
    if user.role != "family" and not gw.store.query(
            "SELECT id FROM residents WHERE id = ?", (body.resident_id,)):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "no such resident")
    now = gw.clock.time()
    with gw.store.transaction() as tx:
        cur = tx.connection.execute(
            "INSERT INTO geofences (resident_id, name, polygon, enabled, created_by, created_at,"
            " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (body.resident_id, body.name, orjson.dumps(body.polygon).decode(),
             int(body.enabled), user.username, now, now))
        zone_id = cur.lastrowid
    auditor.wrote("geofence_write", body.resident_id, f"create {zone_id}")
    return _public(_row(gw, auditor, int(zone_id), "geofence_write"))


@router.put("/{zone_id}", response_model=GeofencePublic)
def update_geofence(zone_id: ZoneId, body: GeofenceUpdate, gw: GatewayDep,
                    user: Editors, auditor: Audit) -> GeofencePublic:
    """Rename, reshape, enable or disable a zone."""
    row = _row(gw, auditor, zone_id, "geofence_write")
    name = row["name"] if body.name is None else body.name
    polygon = row["polygon"] if body.polygon is None else orjson.dumps(body.polygon).decode()
    enabled = row["enabled"] if body.enabled is None else int(body.enabled)
    with gw.store.transaction() as tx:
        tx.connection.execute(
            "UPDATE geofences SET name = ?, polygon = ?, enabled = ?, updated_at = ? WHERE id = ?",
            (name, polygon, enabled, gw.clock.time(), zone_id))
    auditor.wrote("geofence_write", row["resident_id"], f"update {zone_id}")
    return _public(_row(gw, auditor, zone_id, "geofence_write"))


@router.delete("/{zone_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_geofence(zone_id: ZoneId, gw: GatewayDep, user: Editors, auditor: Audit) -> None:
    """Remove a zone."""
    row = _row(gw, auditor, zone_id, "geofence_write")
    with gw.store.transaction() as tx:
        tx.connection.execute("DELETE FROM geofences WHERE id = ?", (zone_id,))
    auditor.wrote("geofence_write", row["resident_id"], f"delete {zone_id}")
