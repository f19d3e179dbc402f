"""What both stores do the same way on top of their connections: devices, twins, dedup
windows, retention, and the dict-row reads the API and reports use."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from gateway.storage.dialect import Connection, Dialect
from gateway.storage.records import DeviceRecord, SeqWindow, Twin
from gateway.storage.tx import TWIN_COLUMNS, StoreTx, twin_from_row, upsert_sql

_DEVICE_COLUMNS = tuple(DeviceRecord.__slots__)  # type: ignore[attr-defined]
_UPSERT_DEVICE = upsert_sql("devices", _DEVICE_COLUMNS, "id")


class SqlStore(ABC):
    """A store: one writer connection for transactions, read connections for snapshots."""

    dialect: Dialect
    schema_version: int

    @property
    @abstractmethod
    def location(self) -> str:
        """Where the data lives, for messages (a file path, or a URL without its password)."""

    @abstractmethod
    def transaction(self) -> AbstractContextManager[StoreTx]:
        """One write transaction (nested calls on the writing thread are savepoints)."""

    def side_transaction(self) -> AbstractContextManager[StoreTx]:
        """A short write transaction that must not queue behind the writer's batches (a
        replica's heartbeat). SQLite has one writer, so it is the writer's transaction."""
        return self.transaction()

    @abstractmethod
    def reading(self) -> AbstractContextManager[Connection]:
        """A connection reading one consistent committed state (the writer's own connection
        when this thread has a transaction open: it must see what it wrote)."""

    @abstractmethod
    def writer(self) -> AbstractContextManager[Connection]:
        """The writer connection, held for a few statements outside a transaction."""

    @abstractmethod
    def close(self) -> None:
        """Close the connections."""

    @contextmanager
    def snapshot(self) -> Iterator[StoreTx]:
        """Repositories for reading one consistent committed state (writes are refused)."""
        with self.reading() as conn:
            yield StoreTx(conn, self.dialect, read_only=True)

    # -- devices -------------------------------------------------------------------------

    def upsert_devices(self, records: list[DeviceRecord]) -> None:
        """Insert or replace device registrations."""
        rows = [tuple(getattr(r, c) for c in _DEVICE_COLUMNS) for r in records]
        with self.transaction() as tx:
            tx.connection.executemany(_UPSERT_DEVICE, rows)

    def load_devices(self, since: float | None = None) -> list[DeviceRecord]:
        """All devices, or those updated after `since`."""
        sql = f"SELECT {', '.join(_DEVICE_COLUMNS)} FROM devices"
        args: tuple[Any, ...] = ()
        if since is not None:
            sql += " WHERE updated_at > ?"
            args = (since,)
        with self.reading() as conn:
            rows = conn.execute(sql, args).fetchall()
        return [DeviceRecord(*row) for row in rows]

    def get_device(self, device_id: str) -> DeviceRecord | None:
        """One device by id."""
        sql = f"SELECT {', '.join(_DEVICE_COLUMNS)} FROM devices WHERE id = ?"
        with self.reading() as conn:
            row = conn.execute(sql, (device_id,)).fetchone()
        return DeviceRecord(*row) if row else None

    # -- twins ---------------------------------------------------------------------------

    def heard_from(self, device_id: str) -> bool:
        """Whether the gateway ever accepted a message from the device (it has a twin)."""
        with self.reading() as conn:
            return conn.execute("SELECT 1 FROM twins WHERE device_id = ?",
                                (device_id,)).fetchone() is not None

    def load_twins(self) -> list[Twin]:
        """Every stored twin."""
        with self.writer() as conn:
            rows = conn.execute(f"SELECT {', '.join(TWIN_COLUMNS)} FROM twins").fetchall()
        return [twin_from_row(row) for row in rows]

    def load_windows(self) -> dict[tuple[str, str], SeqWindow]:
        """Every dedup window, keyed by (device_id, channel prefix)."""
        with self.writer() as conn:
            rows = conn.execute(
                "SELECT device_id, channel, high, mask, ts, retired FROM seq_windows").fetchall()
        return {(d, c): SeqWindow(h, m, t, r) for d, c, h, m, t, r in rows}

    # -- housekeeping --------------------------------------------------------------------

    def prune(self, tx: StoreTx, *, telemetry_before: float,
              dead_before: float) -> dict[str, int]:
        """Delete rows past their retention inside `tx`; return counts per table."""
        conn = tx.connection
        return {
            "telemetry": conn.execute("DELETE FROM telemetry WHERE ts < ?",
                                      (telemetry_before,)).rowcount,
            "dead_letters": conn.execute("DELETE FROM dead_letters WHERE received_at < ?",
                                         (dead_before,)).rowcount,
        }

    def ping(self) -> bool:
        """Whether the database answers."""
        with self.reading() as conn:
            return bool(conn.execute("SELECT 1").fetchone()[0] == 1)

    def query(self, sql: str, args: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        """Read-only query for reports, tests and the API (never waits for the writer)."""
        with self.reading() as conn:
            cur = conn.execute(sql, args)
            cols = [d[0] for d in cur.description]
            return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]
