"""Residents, family links, door plates and safe zones (geofences): reads and writes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from gateway.storage.base import Reader
from gateway.storage.dialect import Connection

_ZONE_COLUMNS = "id, resident_id, name, polygon, enabled, created_by, created_at, updated_at"


@dataclass(frozen=True, slots=True)
class ResidentRow:
    """A resident as stored."""

    id: str
    name: str
    tags: tuple[str, ...]
    site: str
    updated_at: float = 0.0


@dataclass(frozen=True, slots=True)
class ZoneRow:
    """A safe zone as stored."""

    id: int
    resident_id: str
    name: str
    polygon: list[list[float]]
    enabled: bool
    created_by: str
    created_at: float
    updated_at: float


def _resident(row: dict[str, Any]) -> ResidentRow:
    return ResidentRow(row["id"], row["name"], tuple(orjson.loads(row["tags"])), row["site"],
                       row.get("updated_at", 0.0))


def _zone(row: dict[str, Any]) -> ZoneRow:
    return ZoneRow(**{**row, "polygon": orjson.loads(row["polygon"]),
                      "enabled": bool(row["enabled"])})


class PeopleReads:
    """Read-only views of residents, families and zones (read connections)."""

    def __init__(self, store: Reader) -> None:
        self._store = store

    # -- residents -----------------------------------------------------------------------

    def residents(self, *, changed_after: float | None = None) -> list[ResidentRow]:
        """Every resident, or those changed after a time, by id."""
        if changed_after is None:
            rows = self._store.query("SELECT id, name, tags, site, updated_at FROM residents"
                                     " ORDER BY id")
        else:
            rows = self._store.query("SELECT id, name, tags, site, updated_at FROM residents"
                                     " WHERE updated_at > ? ORDER BY id", (changed_after,))
        return [_resident(r) for r in rows]

    def resident(self, resident_id: str) -> ResidentRow | None:
        """One resident."""
        rows = self._store.query("SELECT id, name, tags, site, updated_at FROM residents"
                                 " WHERE id = ?", (resident_id,))
        return _resident(rows[0]) if rows else None

    # -- families ------------------------------------------------------------------------

    def linked_residents(self, username: str) -> list[str]:
        """Residents a family account is linked to."""
        return [r["resident_id"] for r in self._store.query(
            "SELECT resident_id FROM family_links WHERE username = ? ORDER BY resident_id",
            (username,))]

    def contact(self, resident_id: str) -> dict[str, Any] | None:
        """A resident's phone and emergency contact (phone, contact_name, contact_relation,
        contact_phone)."""
        rows = self._store.query(
            "SELECT phone, contact_name, contact_relation, contact_phone FROM resident_contacts"
            " WHERE resident_id = ?", (resident_id,))
        return rows[0] if rows else None

    # -- zones ---------------------------------------------------------------------------

    def zone(self, zone_id: int) -> ZoneRow | None:
        """One zone."""
        rows = self._store.query(f"SELECT {_ZONE_COLUMNS} FROM geofences WHERE id = ?",
                                 (zone_id,))
        return _zone(rows[0]) if rows else None

    def zones(self, *, resident_id: str | None = None,
              family: str | None = None) -> list[ZoneRow]:
        """Zones of one resident, of a family's residents, or all."""
        if resident_id is not None:
            rows = self._store.query(f"SELECT {_ZONE_COLUMNS} FROM geofences"
                                     " WHERE resident_id = ? ORDER BY id", (resident_id,))
        elif family is not None:
            rows = self._store.query(
                f"SELECT {_ZONE_COLUMNS} FROM geofences WHERE resident_id IN"
                " (SELECT resident_id FROM family_links WHERE username = ?) ORDER BY id",
                (family,))
        else:
            rows = self._store.query(f"SELECT {_ZONE_COLUMNS} FROM geofences ORDER BY id")
        return [_zone(r) for r in rows]

    def zones_signature(self) -> tuple[Any, ...]:
        """Changes whenever a zone is added, changed or removed."""
        return tuple(self._store.query(
            "SELECT count(*) AS n, max(updated_at) AS at FROM geofences")[0].values())

    def enabled_polygons(self) -> list[tuple[str, list[list[float]]]]:
        """(resident_id, corners) of every enabled zone."""
        return [(r["resident_id"], orjson.loads(r["polygon"])) for r in self._store.query(
            "SELECT resident_id, polygon FROM geofences WHERE enabled = 1 ORDER BY id")]


class SqlitePeople:
    """Writes to residents, family links, door plates and zones inside a transaction."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def upsert_residents(self, rows: list[tuple[str, str, list[str], str]], now: float) -> None:
        """(id, name, tags, site) rows; created_at kept for existing residents."""
        self._conn.executemany(
            "INSERT INTO residents (id, name, tags, site, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET name = excluded.name, "
            "tags = excluded.tags, site = excluded.site, updated_at = excluded.updated_at",
            [(i, n, orjson.dumps(sorted(t)).decode(), s, now, now) for i, n, t, s in rows])

    def link_family(self, links: list[tuple[str, str, str]]) -> None:
        """(resident_id, username, relation) links, replacing the same pair."""
        self._conn.executemany(
            "INSERT INTO family_links (resident_id, username, relation) VALUES (?, ?, ?)"
            " ON CONFLICT (resident_id, username) DO UPDATE SET relation = excluded.relation",
            links)

    def door_plates(self, plates: list[tuple[str, str, str, str, str, str]]) -> None:
        """(code, site, building, unit, room, grid) plates, replacing the same code."""
        self._conn.executemany(
            "INSERT INTO door_plates (code, site, building, unit, room, grid)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (code) DO UPDATE SET site = excluded.site,"
            " building = excluded.building, unit = excluded.unit, room = excluded.room,"
            " grid = excluded.grid", plates)

    def put_contact(self, resident_id: str, *, phone: str, contact_name: str,
                    contact_relation: str, contact_phone: str, at: float,
                    by: str) -> bool:
        """Set a resident's phone and emergency contact; False when there is no such resident."""
        if self._conn.execute("SELECT 1 FROM residents WHERE id = ?",
                              (resident_id,)).fetchone() is None:
            return False
        self._conn.execute(
            "INSERT INTO resident_contacts (resident_id, phone, contact_name,"
            " contact_relation, contact_phone, updated_at, updated_by)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (resident_id) DO UPDATE SET"
            " phone = excluded.phone, contact_name = excluded.contact_name,"
            " contact_relation = excluded.contact_relation,"
            " contact_phone = excluded.contact_phone, updated_at = excluded.updated_at,"
            " updated_by = excluded.updated_by",
            (resident_id, phone, contact_name, contact_relation, contact_phone, at, by))
        return True

    def zone_count(self, resident_id: str) -> int:
        """How many zones a resident has."""
        return int(self._conn.execute("SELECT count(*) FROM geofences WHERE resident_id = ?",
                                      (resident_id,)).fetchone()[0])

    def create_zone(self, *, resident_id: str, name: str, polygon: list[list[float]],
                    enabled: bool, actor: str, now: float) -> int:
        """A new zone; returns its id."""
        cur = self._conn.execute(
            "INSERT INTO geofences (resident_id, name, polygon, enabled, created_by, created_at,"
            " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (resident_id, name, orjson.dumps(polygon).decode(), int(enabled), actor, now, now))
        return int(cur.fetchone()[0])

    def update_zone(self, zone_id: int, *, name: str, polygon: list[list[float]],
                    enabled: bool, now: float) -> None:
        """Rewrite a zone's name, corners and switch."""
        self._conn.execute(
            "UPDATE geofences SET name = ?, polygon = ?, enabled = ?, updated_at = ? WHERE id = ?",
            (name, orjson.dumps(polygon).decode(), int(enabled), now, zone_id))

    def delete_zone(self, zone_id: int) -> None:
        """Remove a zone."""
        self._conn.execute("DELETE FROM geofences WHERE id = ?", (zone_id,))
