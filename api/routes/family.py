"""The family page's data: only linked elders; every location read is audit-logged."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, status

from api.access import family_resident, linked_residents
from api.alert_detail import parse_detail
from api.deps import Family, GatewayDep
from api.personal import VITALS, Audit
from api.schemas import (
    AlarmHandling,
    AlarmPublic,
    ElderPublic,
    Location,
    TrailPoint,
    VitalsPublic,
)
from devices.catalogue import CATALOGUE
from gateway.storage.alert_reads import AlertReads
from gateway.storage.context_reads import fix_near, names, wear_at
from gateway.storage.message_reads import MessageReads
from gateway.storage.people_repo import PeopleReads
from gateway.storage.records import DeviceRecord
from gateway.users import User
from gateway.workflow.places import site_geometry

router = APIRouter(prefix="/family", tags=["family"])
# Copies of one press (a band resending its SOS with a new seq) arrive within this of it.
_COPY_S = 60.0


def _devices(gw: Any, resident_id: str) -> dict[str, DeviceRecord]:
    """Every device bound to the elder: bands, and the home's (a bathroom radar, a smoke
    detector)."""
    return {d.id: d for d in gw.registry.all() if d.resident_id == resident_id}


def _bound_since(gw: Any, resident_id: str) -> dict[str, float]:
    """The elder's bands, each with when it was bound to them: what a band reported before
    belongs to whoever wore it then, never shown to this family."""
    return {i: d.bound_at for i, d in _devices(gw, resident_id).items() if d.kind == "wristband"}


def _location(gw: Any, resident_id: str) -> Location | None:
    best = None
    for device_id, since in sorted(_bound_since(gw, resident_id).items()):
        twin = gw.twins.get(device_id)
        if twin and twin.lat is not None and twin.location_ts is not None and (
            twin.location_ts >= since) and (best is None or twin.location_ts > best.fix_ts):
            best = Location(resident_id=resident_id, device_id=device_id, lat=twin.lat,
                            lon=twin.lon, accuracy_m=twin.accuracy_m,
                            source=twin.location_source, fix_ts=twin.location_ts)
    return best


def _name(gw: Any, resident_id: str) -> str:
    row = PeopleReads(gw.store).resident(resident_id)
    return row.name if row else resident_id


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
                               devices=sorted(_devices(gw, resident_id)),
                               location=location))
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
    reads = MessageReads(gw.store)
    for device_id, since in sorted(_bound_since(gw, resident_id).items()):
        for ts, reading in reads.telemetry(device_id, start, end, include_end=True,
                                           received_since=since):
            loc = reading.get("location")
            if loc:
                points.append({"ts": ts, "device_id": device_id, **loc})
    return sorted(points, key=lambda p: p["ts"])


# A reading older than this is shown as the last one, with its time, not as "now".
FRESH_S = 30 * 60
VITALS_LOOKBACK_S = 86_400
# Ticket steps a family is told about (the rest is the community's own bookkeeping).
FAMILY_STEPS = ("collect", "dispatch", "accept", "escalate", "transfer", "report", "close",
                "department_accept", "reject")


@router.get("/elders/{resident_id}/vitals", response_model=VitalsPublic)
def vitals(resident_id: str, gw: GatewayDep, user: Family, auditor: Audit) -> VitalsPublic:
    """The latest heart rate, blood pressure, glucose, SpO2, temperature and battery, each
    with when it was measured; for each value absent or old, why (band not worn, no data)."""
    family_resident(gw, auditor, resident_id, "vitals")
    auditor.disclosed("vitals", [resident_id])
    now = gw.clock.time()
    latest: dict[str, Any] = {}
    taken: dict[str, float] = {}
    bound = _bound_since(gw, resident_id)
    bands = sorted(bound)
    for device_id in bands:
        twin = gw.twins.get(device_id)
        if twin and twin.battery_pct is not None:
            latest["battery_pct"] = twin.battery_pct
        if twin and twin.last_seen is not None and twin.last_seen >= bound[device_id]:
            latest["measured_at"] = max(latest.get("measured_at", 0.0), twin.last_seen)
    for ts, data in MessageReads(gw.store).latest_readings(
            bound, now - VITALS_LOOKBACK_S, now, 3000):
        for key in VITALS:
            if key not in taken and data.get(key) is not None:
                latest[key], taken[key] = data[key], ts
        if len(taken) == len(VITALS):
            break
    wear = max((wear_at(gw.store, b, now) for b in bands),
               key=lambda w: w.since or 0.0, default=None)
    worn = wear.worn if wear else None
    missing = {}
    for key in VITALS:
        if worn is False and (key not in taken or taken[key] < (wear.since or now)):
            missing[key] = "not_worn"
        elif key not in taken:
            missing[key] = "no_data"
        elif now - taken[key] > FRESH_S:
            missing[key] = "stale"
    return VitalsPublic(**latest, worn=worn, worn_since=wear.since if wear else None,
                        taken_at=taken, missing=missing)


def _handling(gw: Any, ticket_id: int) -> AlarmHandling | None:
    with gw.store.snapshot() as snap:
        ticket = snap.tickets.get(ticket_id)
        trail = snap.tickets.events(ticket_id)
    if ticket is None:
        return None
    people = names(gw.store, "users", {ticket.assignee or ""} | {e["actor"] for e in trail})
    steps = [{"at": e["at"], "action": e["action"],
              "who": people.get(e["actor"], "") if e["actor"] != "system" else "",
              "assignee": people.get(e["detail"].get("assignee") or "", None)}
             for e in trail if e["action"] in FAMILY_STEPS]
    return AlarmHandling(code=ticket.code, state=ticket.state,
                         assignee_name=people.get(ticket.assignee or "") or ticket.assignee,
                         result=ticket.result, rating=ticket.rating, steps=steps)


@router.get("/elders/{resident_id}/alarms", response_model=list[AlarmPublic])
def alarms(resident_id: str, gw: GatewayDep, user: Family, auditor: Audit,
           start: Annotated[float | None, Query()] = None,
           end: Annotated[float | None, Query()] = None) -> list[AlarmPublic]:
    """The alarm history of the elder's devices — SOS and falls of their bands, a bathroom
    radar's fall, a smoke or gas alarm at home (vendor round 8: a radar's fall reached the
    family only live): when, where (a place name, a room), whether the band was worn, what
    the community did (its ticket, step by step) and the outcome. A press resent as copies
    within a minute, all on one alert, is one entry with `repeats`."""
    family_resident(gw, auditor, resident_id, "alarm_history")
    start, end = _range(gw, start, end)
    auditor.disclosed("alarm_history", [resident_id], range_from=start, range_to=end)
    devices = _devices(gw, resident_id)
    if not devices:
        return []
    # Each device's since its binding; the types are its kind's urgent ones (SOS and falls
    # of a band, a radar's fall, a smoke or gas alarm).
    bound = {i: d.bound_at for i, d in devices.items()}
    types = sorted({t for d in devices.values() if (kind := CATALOGUE.get(d.kind))
                    for t in kind.urgent})
    geo = site_geometry(gw.settings.api.sitemap_file)
    alert_reads = AlertReads(gw.store)
    categories = set(gw.workflow.catalogue.category_keys())
    out: list[AlarmPublic] = []
    pressed: dict[tuple[str, str, int], AlarmPublic] = {}
    rows = MessageReads(gw.store).events_of_types(bound, tuple(types), start, end, 200)
    # Oldest first, so a copy folds into the press it repeats.
    for row in sorted(rows, key=lambda r: (r["received_at"], r["ts"])):
        alert = alert_reads.around(row["device_id"],
                                   row["type"] if row["type"] in categories else None,
                                   row["received_at"], 5.0, event_type=row["type"])
        key = (row["device_id"], row["type"], alert["id"] if alert else -1)
        first = pressed.get(key)
        if alert is not None and first is not None and (
                row["received_at"] - (first.received_at or first.ts) <= _COPY_S):
            first.repeats += 1
            continue
        loc = row["data"].get("location")
        point = ((loc["lat"], loc["lon"]) if isinstance(loc, dict) and "lat" in loc
                 else fix_near(gw.store, row["device_id"], row["received_at"]))
        place = geo.describe(point) if geo is not None and point is not None else None
        ticket_id = alert["ticket_id"] if alert else None
        room = row["data"].get("room")
        out.append(AlarmPublic(
            device_id=row["device_id"], type=row["type"], ts=row["ts"],
            received_at=row["received_at"], kind=devices[row["device_id"]].kind,
            room=room if isinstance(room, str) else None,
            category=alert["category"] if alert else None,
            alert_id=alert["id"] if alert else None,
            place_zh=place.name_zh if place else None, place_en=place.name_en if place else None,
            worn=wear_at(gw.store, row["device_id"], row["received_at"]).worn,
            alert_state=alert["state"] if alert else None,
            handling=_handling(gw, ticket_id) if ticket_id else None))
        pressed[key] = out[-1]
    out += _paged_alerts(gw, resident_id, devices, bound, start, end,
                         {a.alert_id for a in out if a.alert_id is not None})
    out.sort(key=lambda a: a.received_at or a.ts)
    return out[::-1]


def _paged_alerts(gw: Any, resident_id: str, devices: dict[str, DeviceRecord],
                  bound: dict[str, float], start: float, end: float,
                  listed: set[int]) -> list[AlarmPublic]:
    """The elder's critical alerts that no urgent event stands for — a lone elder still in
    the bathroom, out of bed and not back, a blood-glucose crisis: the control room is paged,
    and the family bought the device to be told too (vendor round 11)."""
    rows = [row for row in AlertReads(gw.store).of_resident(resident_id, start, end)
            if row["severity"] == "critical" and row["id"] not in listed
            and row["device_id"] in devices and row["opened_at"] >= bound[row["device_id"]]]
    if not rows:
        return []
    with gw.store.snapshot() as snap:  # one read connection for all their tickets
        tickets = {row["id"]: snap.tickets.for_alert(row["id"]) for row in rows}
    out: list[AlarmPublic] = []
    for row in rows:
        device_id = row["device_id"]
        event = parse_detail(row["detail"]).get("event")
        said = event.get("type") if isinstance(event, dict) else None
        room = event.get("room") if isinstance(event, dict) else None
        ticket = tickets[row["id"]]
        out.append(AlarmPublic(
            device_id=device_id, type=str(said or row["rule_id"].split(".", 1)[-1]),
            ts=row["opened_at"], received_at=row["opened_at"], kind=devices[device_id].kind,
            room=room if isinstance(room, str) else None, category=row["category"],
            alert_id=row["id"], alert_state=row["state"],
            handling=_handling(gw, ticket.id) if ticket is not None else None))
    return out


def family_user_may_see(gw: Any, user: User, resident_id: str | None) -> bool:
    """Used by the live stream: is this resident one of the family's elders?"""
    return resident_id is not None and resident_id in linked_residents(gw, user)
