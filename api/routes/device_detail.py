"""A device's history for its detail page: recent events and commands (the twin, telemetry and
dead letters have their own routes). Positions and vitals are left out here: the audited
telemetry route is the one place they are read."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from api.access import visible_device
from api.deps import DeviceReaders, GatewayDep
from api.notes import redact_salvaged
from api.personal import PERSONAL_READING_KEYS, redact_deep, vendor_blind
from api.routes.devices import vendor_result
from devices.catalogue import CATALOGUE
from gateway.storage.commands_repo import CommandReads
from gateway.storage.message_reads import MessageReads

router = APIRouter(prefix="/devices", tags=["devices"])


class DeviceEventPublic(BaseModel):
    """One event, status change or command acknowledgement a device sent."""

    id: int
    ts: float
    received_at: float
    channel: str
    type: str
    seq: int | None
    stale: bool
    fields: dict[str, Any] = Field(description="The payload without position or vitals")


class CommandRecord(BaseModel):
    """A command sent to the device and what became of it (results without positions)."""

    id: str
    name: str
    args: dict[str, Any] = {}  # which door, which compartment (vendor round 4)
    actor: str
    state: str
    created_at: float
    done_at: float | None
    result: dict[str, Any] | None


class CommandLog(BaseModel):
    """The commands the device's kind accepts and the latest ones sent."""

    available: list[str]
    recent: list[CommandRecord]


def scrub(value: Any) -> Any:
    """A payload without positions or vitals, at any depth (a locate_now result holds one)."""
    if isinstance(value, dict):
        return {k: scrub(v) for k, v in value.items()
                if k not in PERSONAL_READING_KEYS and k not in ("ts", "seq")}
    if isinstance(value, list):
        return [scrub(v) for v in value]
    return value


@router.get("/{device_id}/events", response_model=list[DeviceEventPublic])
def device_events(device_id: str, gw: GatewayDep, user: DeviceReaders,
                  limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[DeviceEventPublic]:
    """The device's latest events, status changes and command acks, newest first (a vendor
    sees no events of a device that serves or served someone: when an elder fell or pressed
    SOS is theirs, not the maker's)."""
    device = visible_device(gw, user, device_id)
    rows = MessageReads(gw.store).events(device.id, limit)
    if user.role == "vendor" and device.holds_personal:
        rows = [r for r in rows if r["channel"] != "event"]
    # Residents an event names (who opened the door) are never the vendor's to see; a repair
    # note names the fields it repaired, never their values, for anyone (this read is not
    # audited: red team round 12, `location.lat '35.4123' read as a number`).
    shown = redact_deep if user.role == "vendor" else (lambda data: data)
    return [DeviceEventPublic(**{k: v for k, v in r.items() if k != "data"},
                              fields=redact_salvaged(scrub(shown(r["data"]))))
            for r in rows]


@router.get("/{device_id}/commands", response_model=CommandLog)
def device_commands(device_id: str, gw: GatewayDep, user: DeviceReaders,
                    limit: Annotated[int, Query(ge=1, le=200)] = 20) -> CommandLog:
    """The commands this kind of device accepts, and the latest sent with their state."""
    device = visible_device(gw, user, device_id)
    rows = CommandReads(gw.store).of_device(device.id, limit)
    kind = CATALOGUE.kinds.get(device.kind)
    # A vendor of a device that serves someone: the declared fields only (a band may answer
    # in its own words, which no list of ours recognises as a fix or a heart rate).
    shown = (lambda r: vendor_result(device, r["name"], r["result"])) \
        if vendor_blind(user, device) else (lambda r: scrub(r["result"]))
    return CommandLog(
        available=list(kind.commands) if kind is not None else [],
        recent=[CommandRecord(**{**r, "result": shown(r) if r["result"] else None})
                for r in rows])
