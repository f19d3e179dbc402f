"""SQLite store (WAL): migrations, one transaction per batch, and the reads the gateway needs."""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import orjson

from gateway.storage.accounts_repo import SqliteAccounts
from gateway.storage.admin_repo import SqliteAdmin
from gateway.storage.audit import SqliteAudit
from gateway.storage.commands_repo import SqliteCommands
from gateway.storage.people_repo import SqlitePeople
from gateway.storage.plates_repo import SqlitePlates
from gateway.storage.records import DeadLetter, DeviceRecord, SeqWindow, StoredMessage, Twin
from gateway.storage.rules_repo import SqliteAlerts, SqliteRuleState, SqliteSilences
from gateway.storage.tickets_repo import SqliteTickets

log = logging.getLogger(__name__)

Synchronous = Literal["OFF", "NORMAL", "FULL"]

_DEVICE_COLUMNS = tuple(DeviceRecord.__slots__)  # type: ignore[attr-defined]
_TWIN_COLUMNS = tuple(Twin.__slots__)  # type: ignore[attr-defined]
_MESSAGE_COLUMNS = tuple(StoredMessage.__slots__)  # type: ignore[attr-defined]
_DEAD_COLUMNS = tuple(DeadLetter.__slots__)  # type: ignore[attr-defined]


class StoreError(Exception):
    """The database refused an operation (locked, full, corrupt)."""


def _migrations() -> list[tuple[int, str, str]]:
    folder = resources.files("gateway.storage") / "migrations"
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            version = int(entry.name.split("_", 1)[0])
            found.append((version, entry.name, entry.read_text(encoding="utf-8")))
    return sorted(found)


def _insert_sql(table: str, columns: tuple[str, ...], verb: str = "INSERT") -> str:
    marks = ", ".join("?" for _ in columns)
    return f"{verb} INTO {table} ({', '.join(columns)}) VALUES ({marks})"


_INSERT_DEVICE = _insert_sql("devices", _DEVICE_COLUMNS, "INSERT OR REPLACE")
# An in-place update rather than REPLACE (delete + insert): the same row, fewer B-tree writes.
_UPSERT_TWIN = _insert_sql("twins", _TWIN_COLUMNS) + " ON CONFLICT (device_id) DO UPDATE SET " + (
    ", ".join(f"{c} = excluded.{c}" for c in _TWIN_COLUMNS if c != "device_id"))
_FIND_TELEMETRY = "SELECT seq, data FROM telemetry WHERE device_id = ? AND ts = ?"
_FIND_EVENT = "SELECT seq, data FROM events WHERE device_id = ? AND ts = ? AND channel = ?"
_UPSERT_WINDOW = (
    "INSERT INTO seq_windows (device_id, channel, high, mask, ts, retired)"
    " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (device_id, channel) DO UPDATE SET"
    " high = excluded.high, mask = excluded.mask, ts = excluded.ts,"
    " retired = excluded.retired")
_INSERT_TELEMETRY = _insert_sql(
    "telemetry", tuple(c for c in _MESSAGE_COLUMNS if c not in ("channel", "type"))
)
_INSERT_EVENT = _insert_sql("events", _MESSAGE_COLUMNS)
_INSERT_DEAD = _insert_sql("dead_letters", _DEAD_COLUMNS)


def connect(path: Path, *, synchronous: Synchronous = "FULL") -> sqlite3.Connection:
    """Open (creating folders) a WAL-mode connection in autocommit mode; we BEGIN ourselves."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={synchronous}")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=30000")
    # A page cache that holds the hot indexes (telemetry, events) instead of the 2 MiB default,
    # and checkpoints every ~16 MiB of WAL instead of every 4 MiB: fewer, larger write-backs.
    # Durability is unchanged (synchronous stays as asked; FULL by default).
    conn.execute("PRAGMA cache_size=-65536")
    conn.execute("PRAGMA wal_autocheckpoint=4000")
    conn.execute("PRAGMA temp_store=MEMORY")
    return conn


def statements(script: str) -> list[str]:
    """The statements of a SQL script, cut where SQLite says one is complete (so a `;` in a
    string, a comment or a trigger body does not cut it)."""
    out, pending = [], ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            if pending.strip().strip(";").strip() and not _only_comments(pending):
                out.append(pending.strip())
            pending = ""
    if pending.strip() and not _only_comments(pending):
        raise StoreError(f"incomplete SQL statement at the end of a migration: {pending[:80]!r}")
    return out


def _only_comments(sql: str) -> bool:
    return all(not line.strip() or line.strip().startswith("--") or line.strip() == ";"
               for line in sql.splitlines())


def migrate(conn: sqlite3.Connection) -> int:
    """Apply every migration newer than the database's `user_version`; return the version."""
    current = conn.execute("PRAGMA user_version").fetchone()[0]
    for version, name, sql in _migrations():
        if version <= current:
            continue
        log.info("applying migration %s", name)
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in statements(sql):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version={version}")
        except sqlite3.Error as exc:
            conn.execute("ROLLBACK")
            raise StoreError(f"migration {name} failed: {exc}") from exc
        conn.execute("COMMIT")
        current = version
    return current


class SqliteTx:
    """Writes of one transaction; rows are buffered and written with executemany at commit."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._telemetry: list[tuple[Any, ...]] = []
        self._events: list[tuple[Any, ...]] = []
        self._dead: list[tuple[Any, ...]] = []
        self._twins: dict[str, Twin] = {}

    @property
    def connection(self) -> sqlite3.Connection:
        """The connection, for components that keep their own tables in this transaction."""
        return self._conn

    @cached_property
    def accounts(self) -> SqliteAccounts:
        """Login accounts and their sign-in sessions."""
        return SqliteAccounts(self._conn)

    @cached_property
    def alerts(self) -> SqliteAlerts:
        """The rules engine's alerts and their audit trail."""
        return SqliteAlerts(self._conn)

    @cached_property
    def silences(self) -> SqliteSilences:
        """The rules engine's silences."""
        return SqliteSilences(self._conn)

    @cached_property
    def rule_state(self) -> SqliteRuleState:
        """The rules engine's condition state and rule switches."""
        return SqliteRuleState(self._conn)

    @cached_property
    def commands(self) -> SqliteCommands:
        """Device commands."""
        return SqliteCommands(self._conn)

    @cached_property
    def audit(self) -> SqliteAudit:
        """Access and admin audit rows, in the transaction of what they record."""
        return SqliteAudit(self._conn)

    @cached_property
    def tickets(self) -> SqliteTickets:
        """Tickets, their events and links, notifications, the outbox, assets."""
        return SqliteTickets(self._conn)

    @cached_property
    def people(self) -> SqlitePeople:
        """Residents, family links, door plates and safe zones."""
        return SqlitePeople(self._conn)

    @cached_property
    def plates(self) -> SqlitePlates:
        """Door-plate keys, requests sent from plates and their photos."""
        return SqlitePlates(self._conn)

    @cached_property
    def admin(self) -> SqliteAdmin:
        """Rule-change history and account profiles (the admin pages)."""
        return SqliteAdmin(self._conn)

    def find_stored(self, device_id: str, channel: str, ts: float) -> list[tuple[int | None, str]]:
        """(seq, data) of the stored messages a device sent on a channel at device time `ts`.

        Served by the (device_id, ts) indexes; rows queued in this transaction are not seen.
        """
        if channel == "telemetry":
            return self._conn.execute(_FIND_TELEMETRY, (device_id, ts)).fetchall()
        return self._conn.execute(_FIND_EVENT, (device_id, ts, channel)).fetchall()

    def save_windows(self, windows: list[tuple[str, str, SeqWindow]]) -> None:
        """Upsert (device_id, channel, window) rows of the dedup windows."""
        self._conn.executemany(_UPSERT_WINDOW, [(d, c, w.high, w.mask, w.ts, w.retired)
                                                for d, c, w in windows])

    def add_message(self, msg: StoredMessage) -> None:
        """Queue an accepted message for insert."""
        self.add_row(msg.device_id, msg.kind, msg.channel, msg.type, msg.ts, msg.received_at,
                     msg.seq, msg.stale, msg.data)

    def add_row(self, device_id: str, kind: str, channel: str, type_: str, ts: float,
                received_at: float, seq: int | None, stale: bool, data: str) -> None:
        """`add_message` without the record (the pipeline's per-message path)."""
        if channel == "telemetry":
            self._telemetry.append((device_id, kind, ts, received_at, seq, stale, data))
        else:
            self._events.append(
                (device_id, kind, channel, type_, ts, received_at, seq, stale, data))

    def add_dead_letter(self, dead: DeadLetter) -> None:
        """Queue a dead letter for insert."""
        self._dead.append(tuple(getattr(dead, c) for c in _DEAD_COLUMNS))

    def save_twin(self, twin: Twin) -> None:
        """Queue a twin upsert (the last call per device wins)."""
        self._twins[twin.device_id] = twin

    def flush(self) -> None:
        """Write everything queued so far."""
        if self._telemetry:
            self._conn.executemany(_INSERT_TELEMETRY, self._telemetry)
            self._telemetry.clear()
        if self._events:
            self._conn.executemany(_INSERT_EVENT, self._events)
            self._events.clear()
        if self._dead:
            self._conn.executemany(_INSERT_DEAD, self._dead)
            self._dead.clear()
        if self._twins:
            self._conn.executemany(_UPSERT_TWIN, [_twin_row(t) for t in self._twins.values()])
            self._twins.clear()


def _twin_row(twin: Twin) -> tuple[Any, ...]:
    # Spelled out (a loop of getattr per column cost more than the insert); the order is
    # _TWIN_COLUMNS', which an import-time check below keeps honest.
    last = twin.last_telemetry
    return (twin.device_id, twin.online, twin.online_source, twin.online_changed,
            twin.last_seen, twin.battery_pct, twin.lat, twin.lon, twin.accuracy_m,
            twin.location_source, twin.location_ts,
            orjson.dumps(last).decode() if last is not None else None)


if _TWIN_COLUMNS != ("device_id", "online", "online_source", "online_changed", "last_seen",
                     "battery_pct", "lat", "lon", "accuracy_m", "location_source",
                     "location_ts", "last_telemetry"):
    raise RuntimeError("Twin's fields changed: update _twin_row to match")


class SqliteStore:
    """The gateway's SQLite database; one writer connection, used from the pipeline thread."""

    def __init__(self, path: Path, *, synchronous: Synchronous = "FULL") -> None:
        self.path = path
        self._conn = connect(path, synchronous=synchronous)
        self._lock = threading.RLock()
        self.schema_version = migrate(self._conn)
        # Readers: one read-only connection per thread (WAL lets them read while the writer
        # writes), so an API read never waits for an ingest batch to commit.
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._writing_thread: int | None = None

    def close(self) -> None:
        """Close the connections."""
        with self._readers_lock:
            for reader in self._readers:
                reader.close()
            self._readers.clear()
        with self._lock:
            self._conn.close()

    def _reader(self) -> sqlite3.Connection:
        """This thread's read-only connection, or the writer's when this thread has a
        transaction open (it must see what it wrote)."""
        if self._writing_thread == threading.get_ident():
            return self._conn
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, isolation_level=None,
                                   check_same_thread=False, timeout=30)
            conn.execute("PRAGMA busy_timeout=30000")
            conn.execute("PRAGMA cache_size=-16384")
            self._local.conn = conn
            with self._readers_lock:
                self._readers.append(conn)
        return conn

    @contextmanager
    def snapshot(self) -> Iterator[SqliteTx]:
        """Repositories for reading one consistent committed state (writes are refused)."""
        with self.reading() as conn:
            yield SqliteTx(conn)

    @contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """A read-only snapshot: every query inside sees the same committed state."""
        conn = self._reader()
        if conn is self._conn:
            with self._lock:
                yield conn
            return
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            conn.execute("COMMIT")

    @contextmanager
    def transaction(self) -> Iterator[SqliteTx]:
        """One IMMEDIATE transaction; commits on exit, rolls back on error.

        Nested calls on the same thread become savepoints of the outer transaction, so a
        service can write through the store while the pipeline's batch is open.
        """
        with self._lock:
            nested = self._conn.in_transaction
            begin, commit, rollback = (
                ("SAVEPOINT nested", "RELEASE nested", "ROLLBACK TO nested")
                if nested else ("BEGIN IMMEDIATE", "COMMIT", "ROLLBACK")
            )
            try:
                self._conn.execute(begin)
            except sqlite3.Error as exc:
                raise StoreError(f"cannot begin transaction: {exc}") from exc
            outer = self._writing_thread
            self._writing_thread = threading.get_ident()
            tx = SqliteTx(self._conn)
            try:
                yield tx
                tx.flush()
                self._conn.execute(commit)
            except sqlite3.Error as exc:
                self._undo(rollback, nested)
                raise StoreError(f"transaction failed: {exc}") from exc
            except BaseException:
                self._undo(rollback, nested)
                raise
            finally:
                self._writing_thread = outer

    def _undo(self, rollback: str, nested: bool) -> None:
        self._conn.execute(rollback)
        if nested:
            self._conn.execute("RELEASE nested")

    # -- devices -------------------------------------------------------------------------

    def upsert_devices(self, records: list[DeviceRecord]) -> None:
        """Insert or replace device registrations."""
        rows = [tuple(getattr(r, c) for c in _DEVICE_COLUMNS) for r in records]
        with self.transaction() as tx:
            tx.connection.executemany(_INSERT_DEVICE, rows)

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

    def load_twins(self) -> list[Twin]:
        """Every stored twin."""
        with self._lock:
            rows = self._conn.execute(f"SELECT {', '.join(_TWIN_COLUMNS)} FROM twins").fetchall()
        twins = []
        for row in rows:
            twin = Twin(*row)
            twin.online = bool(twin.online)
            if twin.last_telemetry is not None:
                twin.last_telemetry = orjson.loads(twin.last_telemetry)
            twins.append(twin)
        return twins

    def load_windows(self) -> dict[tuple[str, str], SeqWindow]:
        """Every dedup window, keyed by (device_id, channel prefix)."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT device_id, channel, high, mask, ts, retired FROM seq_windows").fetchall()
        return {(d, c): SeqWindow(h, m, t, r) for d, c, h, m, t, r in rows}

    # -- housekeeping --------------------------------------------------------------------

    def prune(self, tx: SqliteTx, *, telemetry_before: float,
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
            return conn.execute("SELECT 1").fetchone()[0] == 1

    def query(self, sql: str, args: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        """Read-only query for reports, tests and the API (never waits for the writer)."""
        with self.reading() as conn:
            cur = conn.execute(sql, args)
            cols = [d[0] for d in cur.description]
            return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]
