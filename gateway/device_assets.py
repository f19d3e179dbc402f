"""Assets kept by their devices: a smart extinguisher's expiry date becomes its asset."""

from __future__ import annotations

import logging
from datetime import date

from gateway.envelope import Envelope
from gateway.storage.records import Twin
from gateway.storage.tx import StoreTx
from gateway.workflow.reminders import upsert_asset

log = logging.getLogger(__name__)

# The asset kind a device kind's expiry dates are kept as (what the reminder ticket names).
ASSET_KIND = {"extinguisher": "fire_extinguisher"}
# What a device's own asset is called, in the users' words: its reminder ticket is titled
# "灭火器 EX-1 到期提醒", not "fire_extinguisher EX-1 …" (vendor round 5 re-check).
ASSET_NAME_ZH = {"fire_extinguisher": "灭火器"}


def own_asset_ids(device_id: str) -> tuple[str, str]:
    """The ids a device's own asset may have: its own id, or (when an unlinked asset has
    that one) the same marked `.device`."""
    return device_id, f"{device_id[:57]}.device"


class DeviceAssets:
    """Pipeline hook: a reading of an installed device that carries `expires_on` records or
    moves the device's asset, so the reminder ticket opens before the date without anyone
    typing it in — the communities' expiry smart reminders. The asset is the one staff
    linked to the device, else the device's own (id = the device id, at its place). Only
    the community's devices write: a vendor's bench device (no place, no resident) does not.
    Written only when the date or place changes (a daily heartbeat repeats it)."""

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
        if not isinstance(expires, date) or not device.installed \
                or self._written.get(env.device_id) == held:
            return
        place = {"site": device.site, "building": device.building, "unit": device.unit,
                 "grid": device.grid}
        linked = tx.assets.asset_of_device(device.id)
        if linked is not None and linked["id"] not in own_asset_ids(device.id):
            # Staff recorded the extinguisher and linked this cap to it: the cap keeps its
            # date; its name, place and reminder days stay theirs (red team round 4: the cap
            # made a second asset, two records and two reminders for one extinguisher).
            upsert_asset(tx, id=linked["id"], kind=linked["kind"], name=linked["name"],
                         expires_on=expires, now=env.received_at, device_id=device.id,
                         place={k: linked[k] or "" for k in place},
                         remind_days=linked["remind_days"], actor=device.id)
        else:
            asset_id = linked["id"] if linked else self._free_id(tx, device.id)
            if asset_id is None:
                log.warning("device %s keeps no asset: its ids are taken by assets not "
                            "linked to it; link one to it", device.id)
                return
            kind = ASSET_KIND.get(device.kind, device.kind)
            upsert_asset(tx, id=asset_id, kind=kind,
                         name=f"{ASSET_NAME_ZH.get(kind, kind)} {device.id}",
                         expires_on=expires, now=env.received_at, device_id=device.id,
                         place=place, actor=device.id)
        self._written[env.device_id] = held
        self._batch.append(env.device_id)

    @staticmethod
    def _free_id(tx: StoreTx, device_id: str) -> str | None:
        """The id of a device's own new asset: its own id, unless an asset of someone else
        has it (a vendor naming a device after a staff asset took that asset over: red
        team round 4), then the marked one, if that is free too; else None."""
        return next((i for i in own_asset_ids(device_id) if not tx.assets.assets(i)), None)

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
