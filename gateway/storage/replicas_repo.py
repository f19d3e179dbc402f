"""What gateway replicas share through the database: per-device locks and versions, the
replicas' heartbeats, and expiring leases (see docs/operations.md, district deployment)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from gateway.storage.dialect import Connection, Dialect

CHUNK = 500  # ids per IN (…) list: far below both backends' parameter limits


def chunks(ids: Sequence[str], size: int = CHUNK) -> Iterator[Sequence[str]]:
    """`ids` in slices of at most `size`."""
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


def in_list(count: int) -> str:
    """`(?, ?, …)` with `count` placeholders."""
    return "(" + ", ".join("?" for _ in range(count)) + ")"


def select_in(conn: Connection, sql: str, ids: Sequence[str],
              args: Sequence[Any] = ()) -> list[Any]:
    """Rows of `sql` (whose `{ids}` is the IN list) for every id, a chunk at a time."""
    rows: list[Any] = []
    for part in chunks(ids):
        rows.extend(conn.execute(sql.format(ids=in_list(len(part))), [*part, *args]).fetchall())
    return rows


# Every value a parameter: a many-row INSERT of those goes as one statement (pg_bulk).
_BUMP = ("INSERT INTO device_versions (device_id, version, replica, updated_at)"
         " VALUES (?, ?, ?, ?) ON CONFLICT (device_id) DO UPDATE SET"
         " version = device_versions.version + 1, replica = excluded.replica,"
         " updated_at = excluded.updated_at")
# The locks are taken in the order of their keys, the same order in every replica, so two
# batches that share devices wait for each other instead of deadlocking.
_LOCK = ("SELECT pg_advisory_xact_lock(k) FROM (SELECT DISTINCT hashtextextended(d, 22) AS k"
         " FROM unnest(?::text[]) AS d ORDER BY k) AS keys")
# Non-blocking: the devices whose lock another transaction holds are returned (a try in any
# order cannot deadlock).
_TRY_LOCK = ("SELECT d FROM unnest(?::text[]) AS d"
             " WHERE NOT pg_try_advisory_xact_lock(hashtextextended(d, 22))")
_TAKE_LEASE = ("INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?)"
               " ON CONFLICT (name) DO UPDATE SET holder = excluded.holder,"
               " expires_at = excluded.expires_at"
               " WHERE leases.holder = excluded.holder OR leases.expires_at < ?")


class SqlReplicas:
    """`device_versions`, `replicas` and `leases` in one transaction."""

    def __init__(self, conn: Connection, dialect: Dialect) -> None:
        self._conn = conn
        self._dialect = dialect

    # -- per-device serialisation --------------------------------------------------------

    def lock_devices(self, device_ids: Iterable[str]) -> None:
        """Hold each device's lock until this transaction ends (PostgreSQL advisory locks;
        on SQLite the single writer already serialises everything)."""
        ids = sorted(set(device_ids))
        if ids and self._dialect.name == "postgres":
            self._conn.execute(_LOCK, (ids,))

    def try_lock_devices(self, device_ids: Iterable[str]) -> set[str]:
        """Take each device's lock that is free, until this transaction ends; returns the
        devices another transaction holds (never any on SQLite, whose single writer
        already serialises everything)."""
        ids = sorted(set(device_ids))
        if not ids or self._dialect.name != "postgres":
            return set()
        return {str(r[0]) for r in self._conn.execute(_TRY_LOCK, (ids,)).fetchall()}

    def versions(self, device_ids: Sequence[str]) -> dict[str, int]:
        """Stored version per device (devices never changed are absent: version 0)."""
        if self._dialect.name == "postgres":  # one array, not an IN list of 500 parameters
            rows = self._conn.execute("SELECT device_id, version FROM device_versions"
                                      " WHERE device_id = ANY(?::text[])",
                                      (list(device_ids),)).fetchall()
        else:
            rows = select_in(self._conn, "SELECT device_id, version FROM device_versions"
                             " WHERE device_id IN {ids}", device_ids)
        return {d: int(v) for d, v in rows}

    def all_versions(self) -> dict[str, int]:
        """Every stored version (start-up, before the state is loaded)."""
        rows = self._conn.execute("SELECT device_id, version FROM device_versions").fetchall()
        return {d: int(v) for d, v in rows}

    def bump(self, device_ids: Sequence[str], replica: str, now: float) -> None:
        """Raise each device's version by one: other replicas reload its state."""
        self._conn.executemany(_BUMP, [(d, 1, replica, now) for d in sorted(device_ids)])

    # -- leases and heartbeats -----------------------------------------------------------

    def db_time(self) -> float:
        """The database server's clock: the one clock every replica reads alike."""
        return float(self._conn.execute(f"SELECT {self._dialect.epoch_now()}").fetchone()[0])

    def take_lease(self, name: str, holder: str, now: float, ttl_s: float) -> bool:
        """Take or renew the lease `name` for `ttl_s`; False while another holder's is live."""
        cur = self._conn.execute(_TAKE_LEASE, (name, holder, now + ttl_s, now))
        return bool(cur.rowcount)

    def lease_holder(self, name: str, now: float) -> str | None:
        """Who holds a live lease `name`, if anyone."""
        row = self._conn.execute("SELECT holder FROM leases WHERE name = ? AND expires_at >= ?",
                                 (name, now)).fetchone()
        return str(row[0]) if row else None

    def heartbeat(self, replica: str, client_id: str, now: float) -> None:
        """Say this replica is alive (and which broker session is its own)."""
        self._conn.execute(
            "INSERT INTO replicas (replica_id, client_id, started_at, heartbeat_at)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (replica_id) DO UPDATE SET"
            " client_id = excluded.client_id, heartbeat_at = excluded.heartbeat_at",
            (replica, client_id, now, now))

    def silent(self, now: float, after_s: float) -> list[tuple[str, str]]:
        """(replica_id, client_id) of the replicas silent for more than `after_s`."""
        rows = self._conn.execute(
            "SELECT replica_id, client_id FROM replicas WHERE heartbeat_at < ?"
            " ORDER BY replica_id", (now - after_s,)).fetchall()
        return [(r, c) for r, c in rows]
