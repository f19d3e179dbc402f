"""Expiry reminders (到期提醒): one ticket per asset and expiry date, N days ahead."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gateway.workflow.service import Tx, WorkflowService


def upsert_asset(conn: Any, *, id: str, kind: str, name: str, expires_on: date, now: float,
                 place: dict[str, str] | None = None, device_id: str | None = None,
                 remind_days: int | None = None) -> None:
    """Register or update an asset with an expiry date (extinguisher, certificate, …)."""
    place = place or {}
    conn.execute(
        "INSERT OR REPLACE INTO assets (id, kind, name, site, building, unit, grid, device_id,"
        " expires_on, remind_days, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (id, kind, name, place.get("site", ""), place.get("building", ""),
         place.get("unit", ""), place.get("grid", ""), device_id, expires_on.isoformat(),
         remind_days, now),
    )


def open_due_reminders(service: WorkflowService, tx: Tx, now: float) -> int:
    """Open a reminder ticket for every asset entering its window; exactly once per expiry."""
    conn = tx.connection
    today = datetime.fromtimestamp(now, UTC).astimezone(service._tz).date()
    rows = conn.execute(
        "SELECT a.id, a.kind, a.name, a.site, a.building, a.unit, a.grid, a.device_id,"
        " a.expires_on, a.remind_days FROM assets a LEFT JOIN reminders_sent r"
        " ON r.asset_id = a.id AND r.expires_on = a.expires_on WHERE r.asset_id IS NULL"
    ).fetchall()
    opened = 0
    for (asset_id, kind, name, site, building, unit, grid, device_id, expires_on,
         remind_days) in rows:
        expiry = date.fromisoformat(expires_on)
        days = service.settings.reminder_days if remind_days is None else remind_days
        if today < expiry - timedelta(days=days):
            continue
        ticket = service.open_ticket(
            tx, source="reminder", category="facility_expiry", now=now,
            place={"site": site, "building": building, "unit": unit, "grid": grid},
            device_id=device_id, title=f"{name} 到期提醒",
            description=f"{kind} {name} expires on {expires_on}",
            dedup_key=f"reminder-{asset_id}-{expires_on}",
        )
        conn.execute("INSERT INTO reminders_sent VALUES (?, ?, ?, ?)",
                     (asset_id, expires_on, ticket.id, now))
        opened += 1
    return opened
