"""Assets with an expiry date (到期提醒: fire extinguishers, inspections, certificates): staff
record them, and the workflow opens one `facility_expiry` ticket `remind_days` before each
expiry (gateway/workflow/reminders.py)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Request, status

from api.deps import GatewayDep, Staff, StaffOrGrid
from api.routes.devices import actor
from api.schemas.assets import AssetPublic, AssetUpsert
from gateway.device_assets import ASSET_KIND, own_asset_ids
from gateway.workflow.reminders import upsert_asset

router = APIRouter(prefix="/assets", tags=["assets"])
AssetId = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$",
                              description="The asset's id, e.g. EXT-3-1-A")]


@router.get("", response_model=list[AssetPublic])
def list_assets(gw: GatewayDep, user: StaffOrGrid) -> list[AssetPublic]:
    """Every asset, soonest expiry first (a grid worker: those of its grid)."""
    with gw.store.snapshot() as snap:
        rows = snap.assets.assets()
    if user.role == "grid_worker":
        rows = [r for r in rows if r["grid"] == user.grid]
    return [AssetPublic(**r) for r in rows]


@router.put("/{asset_id}", response_model=AssetPublic)
def put_asset(asset_id: AssetId, body: AssetUpsert, request: Request, gw: GatewayDep,
              user: Staff) -> AssetPublic:
    """Record an asset or change it (a renewed expiry date gets its own reminder)."""
    linked = gw.registry.get(body.device_id) if body.device_id is not None else None
    if body.device_id is not None and linked is None:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            f"no device {body.device_id!r}")
    if linked is not None and body.kind in ASSET_KIND.values() and \
            ASSET_KIND.get(linked.kind) != body.kind:
        # A smoke detector is not the extinguisher's sensor (vendor round 3).
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            f"device {body.device_id!r} is a {linked.kind}, not the sensor of "
                            f"a {body.kind}")
    who = actor(user, request)

    def write(now: float, tx: Any) -> None:  # the change and its audit row commit together
        if body.device_id is not None:
            _take_sensor(tx, body.device_id, asset_id, who, now)
        upsert_asset(tx, id=asset_id, kind=body.kind, name=body.name,
                     expires_on=body.expires_on, now=now, remind_days=body.remind_days,
                     device_id=body.device_id, actor=who.username,
                     place={"site": body.site, "building": body.building, "unit": body.unit,
                            "grid": body.grid})
        tx.audit.record_admin(at=now, actor=who.username, role=who.role, action="asset_put",
                              target=asset_id, detail=f"{body.kind} expires {body.expires_on}",
                              client_addr=who.client_addr)

    try:
        gw.pipeline.call("asset_put", write, gw.clock.time())
    except SensorTakenError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    return _one(gw, asset_id)


class SensorTakenError(ValueError):
    """The device is already the sensor of another asset staff recorded."""


def _take_sensor(tx: Any, device_id: str, asset_id: str, who: Any, now: float) -> None:
    """Link a device to this asset alone: one extinguisher, one record and one reminder. The
    asset the device kept by itself before staff recorded it is retired; another asset staff
    linked to it is a conflict (red team round 4: two linked assets, and only the latest
    changed got the cap's date — the other's reminder went stale)."""
    others = [a for a in tx.assets.assets_linked(device_id) if a != asset_id]
    theirs = [a for a in others if a not in own_asset_ids(device_id)]
    if theirs:
        raise SensorTakenError(f"device {device_id!r} is already the sensor of asset "
                               f"{theirs[0]!r}: unlink it there first")
    for own in others:
        tx.assets.delete_asset(own)
        tx.audit.record_admin(at=now, actor=who.username, role=who.role, action="asset_delete",
                              target=own, detail=f"replaced by {asset_id}, now linked to "
                              f"{device_id}", client_addr=who.client_addr)


@router.delete("/{asset_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_asset(asset_id: AssetId, request: Request, gw: GatewayDep, user: Staff) -> None:
    """Retire an asset (the reminders already sent stay on record)."""
    who = actor(user, request)

    def write(now: float, tx: Any) -> None:
        if not tx.assets.delete_asset(asset_id):
            raise LookupError(asset_id)
        tx.audit.record_admin(at=now, actor=who.username, role=who.role,
                              action="asset_delete", target=asset_id,
                              client_addr=who.client_addr)

    try:
        gw.pipeline.call("asset_delete", write, gw.clock.time())
    except LookupError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such asset") from exc


def _one(gw: Any, asset_id: str) -> AssetPublic:
    with gw.store.snapshot() as snap:
        row = next((r for r in snap.assets.assets() if r["id"] == asset_id), None)
    if row is None:  # written a moment ago
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such asset")
    return AssetPublic(**row)
