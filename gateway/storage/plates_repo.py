"""Door plates (数字门牌码): per-plate keys, requests sent from plates, their photos, and the
read-only view of a request a resident's tracking link shows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gateway.storage.base import Reader
from gateway.storage.dialect import Connection

_PLATE_COLUMNS = ("p.code, p.site, p.building, p.unit, p.room, p.grid, k.version, k.secret,"
                  " k.issued_at, k.issued_by")
_REQUEST_COLUMNS = ("ticket_id, code, plate_version, submission_id, track_hash, phone,"
                    " client_addr, created_at")


@dataclass(frozen=True, slots=True)
class PlateRow:
    """A door plate and, once issued, the version and secret its link is signed with."""

    code: str
    site: str
    building: str
    unit: str
    room: str
    grid: str
    version: int | None = None
    secret: str | None = None
    issued_at: float | None = None
    issued_by: str | None = None

    def place(self) -> dict[str, str]:
        """Site, building, unit, room and grid (the ticket's place)."""
        return {"site": self.site, "building": self.building, "unit": self.unit,
                "room": self.room, "grid": self.grid}


@dataclass(frozen=True, slots=True)
class PlateRequestRow:
    """A request submitted from a plate."""

    ticket_id: int
    code: str
    plate_version: int
    submission_id: str
    track_hash: str
    phone: str
    client_addr: str
    created_at: float


@dataclass(frozen=True, slots=True)
class PhotoRow:
    """A stored (already re-encoded) photo."""

    id: int
    ticket_id: int
    media_type: str
    width: int
    height: int
    data: bytes


class PlateReads:
    """Read-only views (read connections)."""

    def __init__(self, store: Reader) -> None:
        self._store = store

    def plates(self, *, site: str | None = None, building: str | None = None,
               search: str = "", limit: int = 100_000) -> list[PlateRow]:
        """Plates (of a site, of a building, or whose code contains `search`), in print order."""
        where, args = ["1=1"], []
        for column, value in (("p.site", site), ("p.building", building)):
            if value:
                where.append(f"{column} = ?")
                args.append(value)
        if search:
            # Case-insensitive on both backends (PostgreSQL's LIKE is not).
            where.append("lower(p.code) LIKE ? ESCAPE '\\'")
            args.append("%" + search.lower().replace("\\", "\\\\").replace("%", "\\%")
                        .replace("_", "\\_") + "%")
        natural = self._store.dialect.leading_int
        rows = self._store.query(
            f"SELECT {_PLATE_COLUMNS} FROM door_plates p LEFT JOIN plate_keys k"
            f" ON k.code = p.code WHERE {' AND '.join(where)}"
            f" ORDER BY p.site, {natural('p.building')}, p.building,"
            f" {natural('p.unit')}, p.unit, {natural('p.room')}, p.room LIMIT ?",
            (*args, limit))
        return [PlateRow(**r) for r in rows]

    def plate(self, code: str) -> PlateRow | None:
        """One plate by its code."""
        rows = self._store.query(
            f"SELECT {_PLATE_COLUMNS} FROM door_plates p LEFT JOIN plate_keys k"
            " ON k.code = p.code WHERE p.code = ?", (code,))
        return PlateRow(**rows[0]) if rows else None

    def sites(self) -> list[str]:
        """Every site that has plates."""
        return [r["site"] for r in self._store.query(
            "SELECT DISTINCT site FROM door_plates ORDER BY site")]

    def request_by_track(self, track_hash: str) -> PlateRequestRow | None:
        """The request a tracking link names."""
        rows = self._store.query(f"SELECT {_REQUEST_COLUMNS} FROM plate_requests"
                                 " WHERE track_hash = ?", (track_hash,))
        return PlateRequestRow(**rows[0]) if rows else None

    def request_of_ticket(self, ticket_id: int) -> PlateRequestRow | None:
        """The plate request behind a ticket, if it came from a plate."""
        rows = self._store.query(f"SELECT {_REQUEST_COLUMNS} FROM plate_requests"
                                 " WHERE ticket_id = ?", (ticket_id,))
        return PlateRequestRow(**rows[0]) if rows else None

    def recent_requests(self, code: str, limit: int = 20) -> list[PlateRequestRow]:
        """A plate's latest requests."""
        return [PlateRequestRow(**r) for r in self._store.query(
            f"SELECT {_REQUEST_COLUMNS} FROM plate_requests WHERE code = ?"
            " ORDER BY created_at DESC LIMIT ?", (code, limit))]

    def photo_ids(self, ticket_id: int) -> list[int]:
        """Ids of a ticket's photos."""
        return [r["id"] for r in self._store.query(
            "SELECT id FROM request_photos WHERE ticket_id = ? ORDER BY id", (ticket_id,))]

    def photo(self, photo_id: int) -> PhotoRow | None:
        """One photo."""
        rows = self._store.query("SELECT id, ticket_id, media_type, width, height, data"
                                 " FROM request_photos WHERE id = ?", (photo_id,))
        return PhotoRow(**rows[0]) if rows else None

    def ticket_view(self, ticket_id: int) -> dict[str, Any] | None:
        """What a resident may see of their ticket: code, category, text, state, times, the
        reported result and the rating (no assignee, no internal notes)."""
        rows = self._store.query(
            "SELECT id, code, category, state, description, result, rating, created_at,"
            " updated_at, dispatched_at, accepted_at, feedback_at, closed_at, building, unit,"
            " room FROM tickets WHERE id = ?", (ticket_id,))
        return rows[0] if rows else None

    def ticket_steps(self, ticket_id: int) -> list[dict[str, Any]]:
        """(at, action, to_state) of a ticket's state changes, oldest first."""
        return self._store.query(
            "SELECT at, action, from_state, to_state FROM ticket_events WHERE ticket_id = ?"
            " ORDER BY id", (ticket_id,))


class SqlitePlates:
    """Writes inside a transaction: plate keys, plate requests, photos."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def issue_key(self, code: str, secret: str, now: float, actor: str) -> int:
        """Give a plate its first key if it has none; return the plate's current version."""
        self._conn.execute(
            "INSERT INTO plate_keys (code, version, secret, issued_at, issued_by)"
            " VALUES (?, 1, ?, ?, ?) ON CONFLICT (code) DO NOTHING", (code, secret, now, actor))
        return int(self._conn.execute("SELECT version FROM plate_keys WHERE code = ?",
                                      (code,)).fetchone()[0])

    def rotate_key(self, code: str, secret: str, now: float, actor: str) -> int:
        """A new secret and the next version (the old link stops working); returns it."""
        self._conn.execute(
            "INSERT INTO plate_keys (code, version, secret, issued_at, issued_by)"
            " VALUES (?, 1, ?, ?, ?) ON CONFLICT (code) DO UPDATE SET"
            " version = plate_keys.version + 1, secret = excluded.secret,"
            " issued_at = excluded.issued_at, issued_by = excluded.issued_by",
            (code, secret, now, actor))
        return int(self._conn.execute("SELECT version FROM plate_keys WHERE code = ?",
                                      (code,)).fetchone()[0])

    def find_submission(self, code: str, submission_id: str) -> PlateRequestRow | None:
        """The request a submission id already created (a retried submit)."""
        row = self._conn.execute(f"SELECT {_REQUEST_COLUMNS} FROM plate_requests"
                                 " WHERE code = ? AND submission_id = ?",
                                 (code, submission_id)).fetchone()
        return PlateRequestRow(*row) if row else None

    def add_request(self, row: PlateRequestRow) -> None:
        """Record the plate request behind a new ticket."""
        self._conn.execute(
            f"INSERT INTO plate_requests ({_REQUEST_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (row.ticket_id, row.code, row.plate_version, row.submission_id, row.track_hash,
             row.phone, row.client_addr, row.created_at))

    def add_photo(self, *, ticket_id: int, media_type: str, width: int, height: int,
                  data: bytes, now: float) -> int:
        """Store a re-encoded photo; returns its id."""
        cur = self._conn.execute(
            "INSERT INTO request_photos (ticket_id, media_type, width, height, data, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
            (ticket_id, media_type, width, height, data, now))
        return int(cur.fetchone()[0])
