"""Assets with an expiry date (fire extinguishers, health certificates) and the reminders
already sent for them (到期提醒)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from gateway.storage.dialect import Connection


class SqliteAssets:
    """The `assets` and `reminders_sent` tables."""

    def __init__(self, conn: Connection, settle: Callable[[], None] | None = None) -> None:
        self._conn = conn
        # The transaction's tickets written first: a reminder row refers to its ticket.
        self._settle = settle

    def upsert_asset(self, *, id: str, kind: str, name: str, place: dict[str, str],
                     device_id: str | None, expires_on: date, remind_days: int | None,
                     now: float) -> None:
        """Register or update an asset with an expiry date."""
        self._conn.execute(
            "INSERT INTO assets (id, kind, name, site, building, unit, grid, device_id,"
            " expires_on, remind_days, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, name = excluded.name,"
            " site = excluded.site, building = excluded.building, unit = excluded.unit,"
            " grid = excluded.grid, device_id = excluded.device_id,"
            " expires_on = excluded.expires_on, remind_days = excluded.remind_days,"
            " updated_at = excluded.updated_at",
            (id, kind, name, place.get("site", ""), place.get("building", ""),
             place.get("unit", ""), place.get("grid", ""), device_id, expires_on.isoformat(),
             remind_days, now))

    def assets(self, asset_id: str | None = None) -> list[dict[str, Any]]:
        """Every asset (or the one with `asset_id`) with its expiry and, when reminded of,
        the reminder's ticket."""
        one = " WHERE a.id = ?" if asset_id is not None else ""
        cur = self._conn.execute(
            "SELECT a.id, a.kind, a.name, a.site, a.building, a.unit, a.grid, a.device_id,"
            " a.expires_on, a.remind_days, a.updated_at, r.ticket_id AS reminder_ticket_id"
            " FROM assets a LEFT JOIN reminders_sent r ON r.asset_id = a.id"
            f" AND r.expires_on = a.expires_on{one} ORDER BY a.expires_on, a.id",
            (asset_id,) if asset_id is not None else ())
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def asset_of_device(self, device_id: str) -> dict[str, Any] | None:
        """The asset linked to a device (`device_id`; the latest changed), or None."""
        cur = self._conn.execute(
            "SELECT id, kind, name, site, building, unit, grid, remind_days FROM assets"
            " WHERE device_id = ? ORDER BY updated_at DESC, id LIMIT 1", (device_id,))
        row = cur.fetchone()
        return None if row is None else dict(zip([d[0] for d in cur.description], row,
                                                 strict=True))

    def assets_linked(self, device_id: str) -> list[str]:
        """The ids of every asset linked to a device."""
        return [row[0] for row in self._conn.execute(
            "SELECT id FROM assets WHERE device_id = ? ORDER BY id", (device_id,))]

    def delete_asset(self, asset_id: str) -> bool:
        """Retire an asset (its reminders sent stay on record); whether it existed."""
        return bool(self._conn.execute("DELETE FROM assets WHERE id = ?",
                                       (asset_id,)).rowcount)

    def assets_not_reminded(self) -> list[tuple[Any, ...]]:
        """(id, kind, name, site, building, unit, grid, device_id, expires_on, remind_days) of
        every asset whose current expiry has not been reminded of yet."""
        return self._conn.execute(
            "SELECT a.id, a.kind, a.name, a.site, a.building, a.unit, a.grid, a.device_id,"
            " a.expires_on, a.remind_days FROM assets a LEFT JOIN reminders_sent r"
            " ON r.asset_id = a.id AND r.expires_on = a.expires_on WHERE r.asset_id IS NULL"
        ).fetchall()

    def reminded(self, asset_id: str, expires_on: str, ticket_id: int, now: float) -> None:
        """Remember that an expiry was reminded of (exactly once)."""
        if self._settle is not None:
            self._settle()
        self._conn.execute("INSERT INTO reminders_sent VALUES (?, ?, ?, ?)",
                           (asset_id, expires_on, ticket_id, now))

