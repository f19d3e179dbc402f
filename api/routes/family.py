"""The family page's data: only linked elders; every location read is audit-logged."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, HTTPException, Query, status

from api.access import family_resident, linked_residents
from api.deps import Family, GatewayDep
from api.personal import VITALS, Audit
from api.schemas import AlarmPublic, ElderPublic, Location, TrailPoint, VitalsPublic
from gateway.users import User

router = APIRouter(prefix="/family", tags=["family"])


def _bands(gw: Any, resident_id: str) -> list[str]:
    return sorted(d.id for d in gw.registry.all()
                  if d.resident_id == resident_id and d.kind == "wristband")


def _location(gw: Any, resident_id: str) -> Location | None:
    best = None
    for device_id in _bands(gw, resident_id):
        twin = gw.twins.get(device_id)
        if twin and twin.lat is not None and twin.location_ts is not None and (
            best is None or twin.location_ts > best.fix_ts
        ):
            best = Location(resident_id=resident_id, device_id=device_id, lat=twin.lat,
                            lon=twin.lon, accuracy_m=twin.accuracy_m,
                            source=twin.location_source, fix_ts=twin.location_ts)
    return best


def _name(gw: Any, resident_id: str) -> str:
    rows = gw.store.query("SELECT name FROM residents WHERE id = ?", (resident_id,))
    return rows[0]["name"] if rows else resident_id


def _range(gw: Any, start: float | None, end: float | None) -> tuple[float, float]:
    end = gw.clock.time() if end is None else end
    start = end - 86_400 if start is None else start
    if start >= end or end - start > 31 * 86_400:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            "start must be before end, and the range at most 31 days")
    return start, end


@router.get("/elders", response_model=list[ElderPublic])
def elders(gw: GatewayDep, user: Family, auditor: Audit) -> list[ElderPublic]:
    """The elders linked to this family account, with where they are now."""
    out = []
    for resident_id in linked_residents(gw, user):
        location = _location(gw, resident_id)
        auditor.disclosed("location_now", [resident_id],
                          device_id=location.device_id if location else None)
        out.append(ElderPublic(id=resident_id, name=_name(gw, resident_id),
                               devices=_bands(gw, resident_id), location=location))
    return out


@router.get("/elders/{resident_id}/location", response_model=Location)
def location(resident_id: str, gw: GatewayDep, user: Family, auditor: Audit) -> Location:
    """Where the elder is now (with accuracy and fix time)."""
    family_resident(gw, auditor, resident_id, "location_now")
    found = _location(gw, resident_id)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no position yet")
    auditor.disclosed("location_now", [resident_id], device_id=found.device_id)
    return found


@router.get("/elders/{resident_id}/trail", response_model=list[TrailPoint])
def trail(resident_id: str, gw: GatewayDep, user: Family, auditor: Audit,
          start: Annotated[float | None, Query()] = None,
          end: Annotated[float | None, Query()] = None) -> list[dict[str, Any]]:
    """Positions in a time range (default: the last 24 h)."""
    family_resident(gw, auditor, resident_id, "location_trail")
    start, end = _range(gw, start, end)
    auditor.disclosed("location_trail", [resident_id], range_from=start, range_to=end)
    points = []
    for device_id in _bands(gw, resident_id):
        for row in gw.store.query(
            "SELECT ts, data FROM telemetry WHERE device_id = ? AND ts >= ? AND ts <= ?"
            " ORDER BY ts", (device_id, start, end)):
            loc = orjson.loads(row["data"]).get("location")
            if loc:
                points.append({"ts": row["ts"], "device_id": device_id, **loc})
    return sorted(points, key=lambda p: p["ts"])


@router.get("/elders/{resident_id}/vitals", response_model=VitalsPublic)
def vitals(resident_id: str, gw: GatewayDep, user: Family, auditor: Audit) -> VitalsPublic:
    """The latest heart rate, blood pressure, glucose, SpO2, temperature and battery."""
    family_resident(gw, auditor, resident_id, "vitals")
    auditor.disclosed("vitals", [resident_id])
    latest: dict[str, Any] = {}
    for device_id in _bands(gw, resident_id):
        twin = gw.twins.get(device_id)
        if twin and twin.last_telemetry:
            latest.update({k: twin.last_telemetry[k] for k in (*VITALS, "battery_pct")
                           if k in twin.last_telemetry})
            latest["measured_at"] = twin.last_seen
    return VitalsPublic(**latest)


@router.get("/elders/{resident_id}/alarms", response_model=list[AlarmPublic])
def alarms(resident_id: str, gw: GatewayDep, user: Family, auditor: Audit,
           start: Annotated[float | None, Query()] = None,
           end: Annotated[float | None, Query()] = None) -> list[dict[str, Any]]:
    """SOS and fall history of the elder's wristbands."""
    family_resident(gw, auditor, resident_id, "alarm_history")
    start, end = _range(gw, start, end)
    auditor.disclosed("alarm_history", [resident_id], range_from=start, range_to=end)
    bands = _bands(gw, resident_id)
    if not bands:
        return []
    marks = ", ".join("?" for _ in bands)
    return gw.store.query(
        f"SELECT device_id, type, ts FROM events WHERE device_id IN ({marks})"
        " AND type IN ('sos', 'fall') AND ts >= ? AND ts <= ? ORDER BY ts DESC",
        (*bands, start, end))


def family_user_may_see(gw: Any, user: User, resident_id: str | None) -> bool:
    """Used by the live stream: is this resident one of the family's elders?"""
    return resident_id is not None and resident_id in linked_residents(gw, user)
