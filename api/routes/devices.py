"""Devices: list/filter, detail with twin, register, disable/enable, telemetry history."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, HTTPException, Query, Request, Response, status

from api.access import can_see_device, visible_device
from api.deps import DeviceReaders, GatewayDep, Staff
from api.notes import redact_salvaged
from api.personal import (
    Audit,
    Auditor,
    client_address,
    declared_only,
    holds_personal,
    redact_readings,
    vendor_blind,
    vendor_unbound,
)
from api.schemas import (
    CommandCreate,
    CommandPublic,
    DeviceBinding,
    DeviceCreate,
    DeviceCreated,
    DeviceCredentials,
    DevicePublic,
    DeviceSummary,
    TelemetryPoint,
    TwinPublic,
)
from devices.catalogue import CATALOGUE
from gateway.commands import CommandError, CommandPendingError
from gateway.device_admin import (
    Actor,
    Binding,
    BrokerUnavailableError,
    DeviceConflictError,
    DeviceRefusedError,
    NotAllowedError,
    QuotaExceededError,
)
from gateway.storage.commands_repo import CommandReads
from gateway.storage.message_reads import MessageReads
from gateway.storage.records import DeviceRecord, DeviceStatus
from gateway.users import User

router = APIRouter(prefix="/devices", tags=["devices"])


def _summary(device: DeviceRecord) -> DeviceSummary:
    body = asdict(device)
    return DeviceSummary(**{k: body[k] for k in DeviceSummary.model_fields})


_SUMMARY_FIELDS = tuple(DeviceSummary.model_fields)
_TWIN_FIELDS = tuple(TwinPublic.model_fields)
_WITHHELD_TWIN = {"lat": None, "lon": None, "accuracy_m": None, "location_ts": None}


def _public_body(device: DeviceRecord, twin: Any, withheld: bool,
                 unbound: bool = False) -> dict[str, Any]:
    """What `DevicePublic` would serialise to, built straight from the records: the list
    route answers thousands of devices, and pydantic's build-validate-dump of each was most
    of its time (tests/api check this body against the model). `unbound`: without whom the
    device serves and their building and unit (a vendor's view of a bound band)."""
    body = {k: getattr(device, k) for k in _SUMMARY_FIELDS}
    if unbound:
        body.update(resident_id=None, building="", unit="")
    body["place"] = {"site": device.site, "building": body["building"], "unit": body["unit"],
                     "room": "", "grid": device.grid}
    if twin is None:
        body["twin"] = None
        return body
    state = {k: getattr(twin, k) for k in _TWIN_FIELDS}
    if withheld:
        state.update(_WITHHELD_TWIN, last_telemetry=redact_readings(state["last_telemetry"]))
    body["twin"] = state
    return body


def _public(gw: Any, device: DeviceRecord, user: User) -> DevicePublic:
    return DevicePublic(**_public_body(device, gw.twins.get(device.id), _withheld(user, device),
                                       vendor_unbound(user, device)))


def _withheld(user: User, device: DeviceRecord) -> bool:
    """A vendor sees its hardware's health, never the position or vitals of whom it serves."""
    return vendor_blind(user, device)


def actor(user: User, request: Request) -> Actor:
    """The device-administration actor for an API caller."""
    return Actor(user.username, user.role, user.vendor, client_address(request))


@contextmanager
def _refusals() -> Iterator[None]:
    """Device-administration errors as HTTP answers (the edge is the only place for them)."""
    try:
        yield
    except DeviceRefusedError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
    except NotAllowedError as exc:
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(exc)) from exc
    except DeviceConflictError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    except QuotaExceededError as exc:
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, str(exc)) from exc
    except BrokerUnavailableError as exc:
        raise HTTPException(status.HTTP_502_BAD_GATEWAY, str(exc)) from exc
    except LookupError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such device") from exc


@router.get("", response_model=list[DevicePublic])
def list_devices(
    gw: GatewayDep, user: DeviceReaders, auditor: Audit,
    kind: str | None = None, status_: Annotated[str | None, Query(alias="status")] = None,
    grid: str | None = None, site: str | None = None, online: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> Response:
    """Devices this caller may see, filtered."""
    out = []
    disclosed = []
    for d in gw.registry.by_id():
        if not can_see_device(user, d):
            continue
        if (kind and d.kind != kind) or (status_ and d.status != status_):
            continue
        if (grid and d.grid != grid) or (site and d.site != site):
            continue
        twin = gw.twins.get(d.id)
        if online is not None and bool(twin and twin.online) != online:
            continue
        withheld = _withheld(user, d)
        out.append(_public_body(d, twin, withheld, vendor_unbound(user, d)))
        if twin is not None and not withheld:
            disclosed.append(d.resident_id)
        if len(out) >= limit:
            break
    auditor.disclosed("device_list", disclosed, detail=f"{len(out)} devices")
    return Response(orjson.dumps(out), media_type="application/json")


@router.get("/{device_id}", response_model=DevicePublic)
def get_device(device_id: str, gw: GatewayDep, user: DeviceReaders,
               auditor: Audit) -> DevicePublic:
    """One device with its twin."""
    device = visible_device(gw, user, device_id)
    public = _public(gw, device, user)
    if public.twin is not None and not _withheld(user, device):
        auditor.disclosed("device_read", [device.resident_id], device_id=device.id)
    return public


@router.post("", response_model=DeviceCreated, status_code=status.HTTP_201_CREATED)
def register_device(body: DeviceCreate, request: Request, gw: GatewayDep,
                    user: DeviceReaders) -> DeviceCreated:
    """Register a device. A vendor registers hardware only (id, kind, model, codec, install
    date) under its own vendor name; re-registering its own device rotates the device's MQTT
    password. Binding to a place or resident is `PUT /devices/{id}/binding` (staff). With
    provisioning on, the answer carries the MQTT password — the only time it is ever shown."""
    with _refusals():
        done = gw.device_admin.register(body.model_dump(exclude_unset=True),
                                        actor(user, request))
    return DeviceCreated(**_summary(done.device).model_dump(),
                         mqtt_username=done.device.id if done.password else None,
                         mqtt_password=done.password)


@router.put("/{device_id}/binding", response_model=DeviceSummary)
def bind_device(device_id: str, body: DeviceBinding, request: Request, gw: GatewayDep,
                user: Staff) -> DeviceSummary:
    """Place a device (site, building, unit, grid) and link it to a resident, or unlink it."""
    with _refusals():
        given = body.model_dump(exclude={"offline_timeout_s"})
        own = ((body.offline_timeout_s,) if "offline_timeout_s" in body.model_fields_set
               else None)
        device = gw.device_admin.bind(device_id, Binding(**given, offline_timeout_s=own),
                                      actor(user, request))
    return _summary(device)


@router.post("/{device_id}/credentials", response_model=DeviceCredentials)
def rotate_credentials(device_id: str, request: Request, gw: GatewayDep,
                       user: DeviceReaders) -> DeviceCredentials:
    """Issue a new MQTT password for the device (its owner vendor, or staff); shown once."""
    if user.role == "grid_worker":
        raise HTTPException(status.HTTP_403_FORBIDDEN, "grid workers cannot manage devices")
    with _refusals():
        password = gw.device_admin.rotate(device_id, actor(user, request))
    return DeviceCredentials(mqtt_username=device_id, mqtt_password=password)


def _set_status(device_id: str, request: Request, gw: Any, user: User,
                new_status: DeviceStatus) -> DeviceSummary:
    if user.role == "grid_worker":
        raise HTTPException(status.HTTP_403_FORBIDDEN, "grid workers cannot change devices")
    visible_device(gw, user, device_id)
    with _refusals():
        device = gw.device_admin.set_status(device_id, new_status, actor(user, request))
    return _summary(device)


@router.post("/{device_id}/commands", response_model=CommandPublic,
             status_code=status.HTTP_202_ACCEPTED)
def send_command(device_id: str, body: CommandCreate, gw: GatewayDep,
                 user: DeviceReaders, auditor: Audit) -> CommandPublic:
    """Send a command (names and arguments per kind: see /asyncapi.json); poll it for the
    device's ack. It expires after its time to live (`ttl_s`, bounded per command)."""
    if user.role == "grid_worker":
        raise HTTPException(status.HTTP_403_FORBIDDEN, "grid workers cannot command devices")
    device = visible_device(gw, user, device_id)
    if gw.decoder.codecs.hub_only(device.codec):
        # Accepted, it would have stayed `sent` until it expired (vendor round 6).
        raise HTTPException(status.HTTP_409_CONFLICT,
                            f"device {device.id} speaks {device.codec} through a hub, whose "
                            "login cannot read commands for its devices: no command can reach "
                            "it")
    kind = CATALOGUE.get(device.kind)
    spec = kind.command(body.name) if kind is not None else None
    if user.role == "vendor" and device.installed and spec is not None and spec.acts:
        raise HTTPException(status.HTTP_403_FORBIDDEN,
                            f"{body.name} acts where people live, and device {device.id} is "
                            "installed: only the community's staff may send it")
    try:
        command_id = gw.pipeline.call("command", lambda now, tx: gw.commands.send(
            tx, device_id=device.id, kind=device.kind, name=body.name, args=body.args,
            actor=user.username, now=now, ttl_s=body.ttl_s), gw.clock.time())
    except CommandPendingError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    except CommandError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
    return get_command(device_id, command_id, gw, user, auditor)


def command_public(user: User, device: DeviceRecord, row: dict[str, Any],
                   auditor: Auditor) -> CommandPublic:
    """A command as this caller may see it: once the device serves a resident, a vendor sees
    only the result's declared fields without a position or vital sign (a `locate_now` fix
    is blanked, a field the device made up is left out); a result that holds one is audited
    for everyone else."""
    results = ("result", "late_result")
    if _withheld(user, device):
        row = {**row, **{k: vendor_result(device, row.get("name", ""), row.get(k))
                         for k in results if row.get(k) is not None}}
    elif any(holds_personal(row.get(k)) for k in results):
        auditor.disclosed("command_result", [device.resident_id], device_id=device.id,
                          detail=f"command {row['id']} {row.get('name', '')}")
    return CommandPublic(**row)


def vendor_result(device: DeviceRecord, name: str, stored: Any) -> Any:
    """A command's stored outcome (`{"result": the device's answer, "error": why it failed}`)
    as the vendor of a device that serves someone may see it: the answer cut down to the
    fields the command's result model declares, without a position or vital sign."""
    if not isinstance(stored, dict):
        return None
    kind = CATALOGUE.get(device.kind)
    spec = kind.command(name) if kind is not None else None
    declared = tuple(spec.result.model_fields) if spec is not None else ()
    out = {k: v for k, v in stored.items() if k != "result"}
    if stored.get("result") is not None:
        out["result"] = declared_only(stored["result"], declared)
    return out


@router.get("/{device_id}/commands/{command_id}", response_model=CommandPublic)
def get_command(device_id: str, command_id: str, gw: GatewayDep,
                user: DeviceReaders, auditor: Audit) -> CommandPublic:
    """A command's state: sent, succeeded, failed or timeout (a fix in the result is a
    personal-data read: audited, and withheld from a vendor once the band serves someone)."""
    device = visible_device(gw, user, device_id)
    row = CommandReads(gw.store).one(device_id, command_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such command")
    return command_public(user, device, row, auditor)


@router.post("/{device_id}/disable", response_model=DeviceSummary)
def disable_device(device_id: str, request: Request, gw: GatewayDep,
                   user: DeviceReaders) -> DeviceSummary:
    """Refuse the device's messages from now on; the broker drops it and refuses its logins."""
    return _set_status(device_id, request, gw, user, "disabled")


@router.post("/{device_id}/enable", response_model=DeviceSummary)
def enable_device(device_id: str, request: Request, gw: GatewayDep,
                  user: DeviceReaders) -> DeviceSummary:
    """Accept the device again (also approves a pending one)."""
    return _set_status(device_id, request, gw, user, "active")


@router.get("/{device_id}/telemetry", response_model=list[TelemetryPoint])
def telemetry(
    device_id: str, gw: GatewayDep, user: DeviceReaders, auditor: Audit,
    start: Annotated[float | None, Query(description="epoch s; default: 24 h ago")] = None,
    end: Annotated[float | None, Query(description="epoch s; default: now")] = None,
    max_points: Annotated[int, Query(ge=10, le=5000)] = 500,
) -> list[TelemetryPoint]:
    """Readings in a time range; long ranges are averaged into at most `max_points` buckets."""
    device = visible_device(gw, user, device_id)
    end = gw.clock.time() if end is None else end
    start = end - 86_400 if start is None else start
    if start >= end:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "start must be before end")
    points = MessageReads(gw.store).telemetry(device_id, start, end)
    out = downsample(points, start, end, max_points)
    if _withheld(user, device):
        # The repair note without the values it quoted (red team round 12).
        return [p.model_copy(update={"values": redact_salvaged(redact_readings(p.values) or {})})
                for p in out]
    if out:
        auditor.disclosed("telemetry_history", [device.resident_id], device_id=device.id,
                          range_from=start, range_to=end)
    return out


def downsample(points: list[tuple[float, dict[str, Any]]], start: float, end: float,
               max_points: int) -> list[TelemetryPoint]:
    """Average numeric fields per time bucket when there are more points than asked for."""
    if len(points) <= max_points:
        return [TelemetryPoint(ts=ts, values=_flat(v)) for ts, v in points]
    width = (end - start) / max_points
    buckets: dict[int, list[dict[str, Any]]] = {}
    for ts, values in points:
        buckets.setdefault(int((ts - start) / width), []).append(_flat(values))
    out = []
    for index in sorted(buckets):
        group = buckets[index]
        sums: dict[str, list[float]] = {}
        for values in group:
            for key, value in values.items():
                if isinstance(value, int | float) and not isinstance(value, bool):
                    sums.setdefault(key, []).append(float(value))
        out.append(TelemetryPoint(ts=start + (index + 0.5) * width, samples=len(group),
                                  values={k: sum(v) / len(v) for k, v in sums.items()}))
    return out


def _flat(values: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in values.items() if k not in ("ts", "seq", "location")}
    loc = values.get("location")
    if isinstance(loc, dict):
        out.update({f"location_{k}": v for k, v in loc.items()})
    return out
