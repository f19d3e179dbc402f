"""Devices: list/filter, detail with twin, register, disable/enable, telemetry history."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, HTTPException, Query, status

from api.access import can_see_device, visible_device
from api.deps import DeviceReaders, GatewayDep
from api.schemas import (
    CommandCreate,
    CommandPublic,
    DeviceCreate,
    DeviceCreated,
    DevicePublic,
    TelemetryPoint,
    TwinPublic,
)
from gateway.commands import CommandError
from gateway.provisioning import ProvisioningError
from gateway.registry import RegistryError, validate_config
from gateway.storage.records import DeviceRecord

router = APIRouter(prefix="/devices", tags=["devices"])


def _public(gw: Any, device: DeviceRecord, with_twin: bool = True) -> DevicePublic:
    body = asdict(device)
    twin = gw.twins.get(device.id) if with_twin else None
    return DevicePublic(
        **{k: body[k] for k in DevicePublic.model_fields if k in body},
        twin=TwinPublic(**{k: getattr(twin, k) for k in TwinPublic.model_fields}) if twin else None,
    )


@router.get("", response_model=list[DevicePublic])
def list_devices(
    gw: GatewayDep, user: DeviceReaders,
    kind: str | None = None, status_: Annotated[str | None, Query(alias="status")] = None,
    grid: str | None = None, site: str | None = None, online: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> list[DevicePublic]:
    """Devices this caller may see, filtered."""
    out = []
    for d in sorted(gw.registry.all(), key=lambda d: d.id):
        if not can_see_device(user, d):
            continue
        if (kind and d.kind != kind) or (status_ and d.status != status_):
            continue
        if (grid and d.grid != grid) or (site and d.site != site):
            continue
        twin = gw.twins.get(d.id)
        if online is not None and bool(twin and twin.online) != online:
            continue
        out.append(_public(gw, d))
        if len(out) >= limit:
            break
    return out


@router.get("/{device_id}", response_model=DevicePublic)
def get_device(device_id: str, gw: GatewayDep, user: DeviceReaders) -> DevicePublic:
    """One device with its twin."""
    return _public(gw, visible_device(gw, user, device_id))


@router.post("", response_model=DeviceCreated, status_code=status.HTTP_201_CREATED)
def register_device(body: DeviceCreate, gw: GatewayDep, user: DeviceReaders) -> DeviceCreated:
    """Register a device; a vendor only under its own vendor name. With provisioning on, the
    answer carries the device's MQTT password — the only time it is ever shown."""
    if user.role == "grid_worker":
        raise HTTPException(status.HTTP_403_FORBIDDEN, "grid workers cannot register devices")
    raw = body.model_dump()
    if user.role == "vendor":
        raw["vendor"] = user.vendor or ""
        existing = gw.registry.get(body.id)
        if existing is not None and existing.vendor != user.vendor:
            raise HTTPException(status.HTTP_409_CONFLICT, "device id taken")
    try:
        config = validate_config(raw)
    except RegistryError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
    password = None
    if gw.provisioner is not None:
        try:
            password = gw.provisioner.provision(config.kind, config.id)
        except ProvisioningError as exc:
            raise HTTPException(status.HTTP_502_BAD_GATEWAY, str(exc)) from exc
        with gw.store.transaction() as tx:
            tx.connection.execute(
                "INSERT OR REPLACE INTO device_credentials VALUES (?, ?, ?, NULL)",
                (config.id, config.vendor, gw.clock.time()))
    gw.registry.register([config])
    device = gw.registry.get(body.id)
    assert device is not None
    return DeviceCreated(**_public(gw, device).model_dump(),
                         mqtt_username=config.id if password else None, mqtt_password=password)


def _set_status(device_id: str, gw: Any, user: Any, new_status: str) -> DevicePublic:
    if user.role == "grid_worker":
        raise HTTPException(status.HTTP_403_FORBIDDEN, "grid workers cannot change devices")
    visible_device(gw, user, device_id)
    if gw.provisioner is not None:
        try:
            if new_status == "disabled":
                gw.provisioner.disable(device_id)  # the broker drops it and refuses logins
            else:
                gw.provisioner.enable(device_id)
        except ProvisioningError as exc:
            raise HTTPException(status.HTTP_502_BAD_GATEWAY, str(exc)) from exc
    gw.registry.set_status(device_id, new_status)
    return _public(gw, gw.registry.get(device_id))


@router.post("/{device_id}/commands", response_model=CommandPublic,
             status_code=status.HTTP_202_ACCEPTED)
def send_command(device_id: str, body: CommandCreate, gw: GatewayDep,
                 user: DeviceReaders) -> CommandPublic:
    """Publish a command (e.g. locate_now, open_compartment); poll it for the device's ack."""
    if user.role == "grid_worker":
        raise HTTPException(status.HTTP_403_FORBIDDEN, "grid workers cannot command devices")
    device = visible_device(gw, user, device_id)
    try:
        command_id = gw.pipeline.call("command", lambda now, tx: gw.commands.send(
            tx, device_id=device.id, kind=device.kind, name=body.name, args=body.args,
            actor=user.username, now=now), gw.clock.time())
    except CommandError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
    return get_command(device_id, command_id, gw, user)


@router.get("/{device_id}/commands/{command_id}", response_model=CommandPublic)
def get_command(device_id: str, command_id: str, gw: GatewayDep,
                user: DeviceReaders) -> CommandPublic:
    """A command's state: sent, succeeded, failed or timeout."""
    visible_device(gw, user, device_id)
    rows = gw.store.query("SELECT id, device_id, name, state, created_at, done_at, result"
                          " FROM commands WHERE id = ? AND device_id = ?",
                          (command_id, device_id))
    if not rows:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such command")
    row = rows[0]
    row["result"] = orjson.loads(row["result"]) if row["result"] else None
    return CommandPublic(**row)


@router.post("/{device_id}/disable", response_model=DevicePublic)
def disable_device(device_id: str, gw: GatewayDep, user: DeviceReaders) -> DevicePublic:
    """Refuse the device's messages from now on."""
    return _set_status(device_id, gw, user, "disabled")


@router.post("/{device_id}/enable", response_model=DevicePublic)
def enable_device(device_id: str, gw: GatewayDep, user: DeviceReaders) -> DevicePublic:
    """Accept the device again (also approves a pending one)."""
    return _set_status(device_id, gw, user, "active")


@router.get("/{device_id}/telemetry", response_model=list[TelemetryPoint])
def telemetry(
    device_id: str, gw: GatewayDep, user: DeviceReaders,
    start: Annotated[float | None, Query(description="epoch s; default: 24 h ago")] = None,
    end: Annotated[float | None, Query(description="epoch s; default: now")] = None,
    max_points: Annotated[int, Query(ge=10, le=5000)] = 500,
) -> list[TelemetryPoint]:
    """Readings in a time range; long ranges are averaged into at most `max_points` buckets."""
    visible_device(gw, user, device_id)
    end = gw.clock.time() if end is None else end
    start = end - 86_400 if start is None else start
    if start >= end:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "start must be before end")
    rows = gw.store.query(
        "SELECT ts, data FROM telemetry WHERE device_id = ? AND ts >= ? AND ts < ? ORDER BY ts",
        (device_id, start, end),
    )
    points = [(r["ts"], orjson.loads(r["data"])) for r in rows]
    return downsample(points, start, end, max_points)


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
