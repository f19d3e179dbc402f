"""Expiry reminders (到期提醒): one ticket per asset and expiry date, N days ahead."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

from devices.place import Place

if TYPE_CHECKING:
    from gateway.workflow.ports import Tx
    from gateway.workflow.service import WorkflowService


def upsert_asset(tx: Tx, *, id: str, kind: str, name: str, expires_on: date, now: float,
                 place: dict[str, str] | None = None, device_id: str | None = None,
                 remind_days: int | None = None) -> None:
    """Register or update an asset with an expiry date (extinguisher, certificate, …)."""
    tx.tickets.upsert_asset(id=id, kind=kind, name=name, place=place or {},
                            device_id=device_id, expires_on=expires_on,
                            remind_days=remind_days, now=now)


def open_due_reminders(service: WorkflowService, tx: Tx, now: float) -> int:
    """Open a reminder ticket for every asset entering its window; exactly once per expiry."""
    today = datetime.fromtimestamp(now, UTC).astimezone(service._tz).date()
    rows = tx.tickets.assets_not_reminded()
    opened = 0
    for (asset_id, kind, name, site, building, unit, grid, device_id, expires_on,
         remind_days) in rows:
        expiry = date.fromisoformat(expires_on)
        days = service.settings.reminder_days if remind_days is None else remind_days
        if today < expiry - timedelta(days=days):
            continue
        ticket = service.open_ticket(
            tx, source="reminder", category="facility_expiry", now=now,
            place=Place(site=site or "", building=building or "", unit=unit or "",
                        grid=grid or ""),
            device_id=device_id, title=f"{name} 到期提醒",
            description=f"{kind} {name} expires on {expires_on}",
            dedup_key=f"reminder-{asset_id}-{expires_on}",
        )
        tx.tickets.reminded(asset_id, expires_on, ticket.id, now)
        opened += 1
    return opened
