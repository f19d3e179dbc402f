"""Assets kept by their devices: a smart extinguisher's expiry date becomes its asset."""

from __future__ import annotations

from datetime import date

from gateway.envelope import Envelope
from gateway.storage.records import Twin
from gateway.storage.tx import StoreTx
from gateway.workflow.reminders import upsert_asset

# The asset kind a device kind's expiry dates are kept as (what the reminder ticket names).
ASSET_KIND = {"extinguisher": "fire_extinguisher"}


class DeviceAssets:
    """Pipeline hook: a reading that carries `expires_on` records or moves the device's asset
    (id = the device id, at the device's place), so the reminder ticket opens before the date
    without anyone typing the date in — the communities' expiry smart reminders. Written only
    when the date changes (a daily heartbeat repeats it)."""

    def __init__(self) -> None:
        # device → the date and place its asset holds (a device installed after its first
        # heartbeat moves its asset there: its reminder went to no grid, vendor round 3)
        self._written: dict[str, tuple[date, tuple[str, ...]]] = {}
        self._batch: list[str] = []  # devices written in the open transaction

    def on_message(self, env: Envelope, twin: Twin, tx: StoreTx) -> None:
        """Record a changed expiry date of the device's asset."""
        # Runs for every message: kinds without an expiry date leave at the first test (a
        # missing attribute of a pydantic model is an exception, dear in the ingest loop).
        if env.kind not in ASSET_KIND or env.channel != "telemetry":
            return
        expires = getattr(env.payload, "expires_on", None)
        device = env.device
        held = (expires, (device.site, device.building, device.unit, device.grid))
        if not isinstance(expires, date) or self._written.get(env.device_id) == held:
            return
        kind = ASSET_KIND.get(device.kind, device.kind)
        upsert_asset(tx, id=device.id, kind=kind, name=f"{kind} {device.id}",
                     expires_on=expires, now=env.received_at, device_id=device.id,
                     place={"site": device.site, "building": device.building,
                            "unit": device.unit, "grid": device.grid}, actor=device.id)
        self._written[env.device_id] = held
        self._batch.append(env.device_id)

    def on_presence(self, twin: Twin, kind: str, now: float, tx: StoreTx) -> None:
        """Presence changes nothing here."""

    def committed(self) -> None:
        """The dates written are stored."""
        self._batch.clear()

    def rolled_back(self) -> None:
        """The dates written were not stored: write them again next time."""
        for device_id in self._batch:
            self._written.pop(device_id, None)
        self._batch.clear()
