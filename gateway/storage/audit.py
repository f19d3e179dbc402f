"""The access audit (who read whose location or vitals) and the admin-action audit."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gateway.storage.dialect import SQLITE, Connection, Dialect

if TYPE_CHECKING:
    from gateway.storage.common import SqlStore

_INSERT_ACCESS = (
    "INSERT INTO access_audit (at, actor, role, action, resident_id, device_id, range_from,"
    " range_to, outcome, detail, client_addr) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
_ACCESS_COLUMNS = ("id, at, actor, role, action, resident_id, device_id, range_from, range_to,"
                   " outcome, detail, client_addr")


@dataclass(frozen=True, slots=True)
class AccessRecord:
    """One read of personal data (or one refused attempt)."""

    at: float
    actor: str
    role: str
    action: str
    allowed: bool
    residents: tuple[str, ...] = ()
    device_id: str | None = None
    range_from: float | None = None
    range_to: float | None = None
    detail: str = ""
    client_addr: str = ""


class SqliteAudit:
    """Audit writes inside an open transaction (with the change they record)."""

    def __init__(self, conn: Connection, dialect: Dialect = SQLITE) -> None:
        self._conn = conn
        self._dialect = dialect

    def record_access(self, rec: AccessRecord) -> int:
        """Write one access row (and its residents); return its id."""
        single = rec.residents[0] if len(rec.residents) == 1 else None
        audit_id = self._dialect.insert_id(self._conn, _INSERT_ACCESS, (
            rec.at, rec.actor, rec.role, rec.action, single, rec.device_id,
            rec.range_from, rec.range_to, "allowed" if rec.allowed else "denied",
            rec.detail, rec.client_addr))
        if rec.residents:
            self._conn.executemany(
                "INSERT INTO access_audit_subjects VALUES (?, ?) ON CONFLICT DO NOTHING",
                [(audit_id, r) for r in rec.residents])
        return audit_id

    def record_admin(self, *, at: float, actor: str, role: str, action: str, target: str,
                     detail: str = "", client_addr: str = "") -> None:
        """Write one administrative action."""
        self._conn.execute(
            "INSERT INTO admin_audit (at, actor, role, action, target, detail, client_addr)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)", (at, actor, role, action, target, detail,
                                              client_addr))


class AuditRepository:
    """Writes and lists audit rows; a write commits before the caller goes on."""

    def __init__(self, store: SqlStore) -> None:
        self._store = store

    def record_access(self, rec: AccessRecord) -> int:
        """Write one access row (and its residents) in its own transaction; return its id."""
        with self._store.transaction() as tx:
            return tx.audit.record_access(rec)

    def access_rows(self, *, resident_id: str | None = None, actor: str | None = None,
                    action: str | None = None, since: float | None = None,
                    until: float | None = None, limit: int = 500) -> list[dict[str, Any]]:
        """Access rows, newest first, filtered; each with the residents it covered."""
        where, args = ["1=1"], []
        if resident_id:
            where.append("(resident_id = ? OR id IN (SELECT audit_id FROM"
                         " access_audit_subjects WHERE resident_id = ?))")
            args += [resident_id, resident_id]
        for column, value, op in (("actor", actor, "="), ("action", action, "="),
                                  ("at", since, ">="), ("at", until, "<")):
            if value is not None and value != "":
                where.append(f"{column} {op} ?")
                args.append(value)
        rows = self._store.query(
            f"SELECT {_ACCESS_COLUMNS} FROM access_audit WHERE {' AND '.join(where)}"
            " ORDER BY id DESC LIMIT ?", (*args, limit))
        ids = [r["id"] for r in rows]
        subjects: dict[int, list[str]] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            marks = ", ".join("?" for _ in chunk)
            for s in self._store.query(
                    "SELECT audit_id, resident_id FROM access_audit_subjects"
                    f" WHERE audit_id IN ({marks}) ORDER BY resident_id", tuple(chunk)):
                subjects.setdefault(s["audit_id"], []).append(s["resident_id"])
        for row in rows:
            row["residents"] = subjects.get(row["id"]) or (
                [row["resident_id"]] if row["resident_id"] else [])
        return rows

    def record_admin(self, *, at: float, actor: str, role: str, action: str, target: str,
                     detail: str = "", client_addr: str = "") -> None:
        """Write one administrative action (device binding, status, credentials)."""
        with self._store.transaction() as tx:
            tx.audit.record_admin(at=at, actor=actor, role=role, action=action, target=target,
                                  detail=detail, client_addr=client_addr)


def residents_of(values: Iterable[str | None]) -> tuple[str, ...]:
    """The distinct resident ids among `values`, sorted (None skipped)."""
    return tuple(sorted({v for v in values if v}))
