"""PostgreSQL store (psycopg 3): the same repositories and migrations as SQLite, one writer
connection for transactions and a psycopg_pool of read-only snapshot connections."""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import psycopg
from psycopg.adapt import Buffer, Dumper, Loader
from psycopg.postgres import types as pg_types
from psycopg_pool import ConnectionPool

from gateway.storage.common import SqlStore
from gateway.storage.dialect import POSTGRES
from gateway.storage.migrate import StoreError, migrations, statements, to_postgres
from gateway.storage.pg_bulk import MIN_ROWS, BulkInserts
from gateway.storage.tx import StoreTx

log = logging.getLogger(__name__)

_IN_ERROR = psycopg.pq.TransactionStatus.INERROR
ID_BLOCK = 32  # new alert and ticket ids fetched per round trip
# Any number works: the migrations of several gateways starting at once take turns on it.
_MIGRATION_LOCK = 0x5C6E_0022


@lru_cache(maxsize=4096)
def pg_params(sql: str) -> str:
    """`?` placeholders (outside quotes) as psycopg's `%s`, and a literal `%` doubled.

    A `?::text[]` (a list of ids) goes as `%b`, a binary array: psycopg writes that in C,
    while the text form is quoted element by element in Python (500 ids: 0.3 vs 0.6 ms of
    CPU, and the server parses it faster too).
    """
    out: list[str] = []
    quote = ""
    for i, ch in enumerate(sql):
        if ch == "%":
            out.append("%%")
        elif quote:
            out.append(ch)
            if ch == quote:
                quote = ""
        elif ch in ("'", '"'):
            quote = ch
            out.append(ch)
        else:
            out.append(ch if ch != "?" else "%b" if sql.startswith("::text[]", i + 1) else "%s")
    return "".join(out)


class _BoolAsInt(Dumper):
    """Python booleans go into the INTEGER (BIGINT) flag columns as 0/1, as in SQLite."""

    oid = pg_types["int2"].oid

    def dump(self, obj: bool) -> Buffer:
        return b"1" if obj else b"0"


class _NumericAsNumber(Loader):
    """sum() of integers is NUMERIC in PostgreSQL: read it as int (or float), not Decimal."""

    def load(self, data: Buffer) -> int | float:
        text = bytes(data).decode()
        try:
            return int(text)
        except ValueError:  # a fraction, NaN or Infinity
            return float(text)


def _adapt(conn: psycopg.Connection[Any]) -> None:
    conn.adapters.register_dumper(bool, _BoolAsInt)
    conn.adapters.register_loader("numeric", _NumericAsNumber)


def _configure_reader(conn: psycopg.Connection[Any]) -> None:
    _adapt(conn)
    conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    conn.read_only = True


class PgConnection:
    """A psycopg connection speaking the repositories' dialect: `?` placeholders,
    `execute`/`executemany` returning cursors."""

    def __init__(self, raw: psycopg.Connection[Any]) -> None:
        self.raw = raw
        self._bulk = BulkInserts()
        self._ids: dict[str, deque[int]] = {}

    def next_id(self, table: str) -> int:
        """A new row id for `table` from its identity sequence, taken ID_BLOCK at a time (a
        sequence never hands a value out twice, whatever becomes of the transaction; ids
        left unused when the process stops are gaps, as a sequence's own cache leaves)."""
        free = self._ids.setdefault(table, deque())
        if not free:
            free.extend(int(r[0]) for r in self.raw.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                (table, ID_BLOCK)).fetchall())
        return free.popleft()

    @property
    def in_transaction(self) -> bool:
        """Whether a transaction is open (as sqlite3.Connection.in_transaction)."""
        return self.raw.info.transaction_status != psycopg.pq.TransactionStatus.IDLE

    def execute(self, sql: str, args: Sequence[Any] = (), /) -> psycopg.Cursor[Any]:
        """Run one statement."""
        return self.raw.execute(pg_params(sql), args)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]], /) -> psycopg.Cursor[Any]:
        """Run one statement per row: a plain INSERT of many rows as one statement over
        column arrays (pg_bulk), anything else row by row (psycopg pipelines them)."""
        rows = rows if isinstance(rows, list) else list(rows)
        if len(rows) >= MIN_ROWS and (plan := self._bulk.plan(self.raw, sql)) is not None:
            try:
                params = plan.params(rows)
            except TypeError:
                pass  # a value the arrays cannot hold as the row-by-row path would
            else:
                return self.raw.execute(plan.sql, params)
        cur = self.raw.cursor()
        cur.executemany(pg_params(sql), rows)
        return cur


def migrate(raw: psycopg.Connection[Any]) -> int:
    """Apply every migration newer than `schema_migrations` says; return the version.

    The scripts are SQLite's, with types translated (migrate.to_postgres); each runs in its
    own transaction under an advisory lock, so replicas starting together migrate once.
    """
    with raw.transaction():
        raw.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
        raw.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY,"
                    " name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())")
        row = raw.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()
    current = int(row[0]) if row else 0
    for version, name, sql in migrations():
        if version <= current:
            continue  # an up-to-date database costs one transaction, not one per file
        with raw.transaction():
            raw.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            row = raw.execute("SELECT coalesce(max(version), 0) FROM schema_migrations"
                              ).fetchone()
            current = int(row[0]) if row else 0
            if version <= current:
                continue
            log.info("applying migration %s", name)
            try:
                for statement in statements(sql):
                    raw.execute(to_postgres(statement).encode())
            except psycopg.Error as exc:
                raise StoreError(f"migration {name} failed: {exc}") from exc
            raw.execute("INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
                        (version, name))
            current = version
    return current


class PostgresStore(SqlStore):
    """The gateway's PostgreSQL database (`database.url: postgresql://…`)."""

    dialect = POSTGRES

    def __init__(self, url: str, *, pool_size: int = 8, connect_timeout_s: float = 10.0) -> None:
        self.url = url
        self._timeout = connect_timeout_s
        self._lock = threading.RLock()
        self._writing_thread: int | None = None
        self._raw = self._connect()
        self._conn = PgConnection(self._raw)
        self._side: psycopg.Connection[Any] | None = None
        self._side_lock = threading.Lock()
        info = self._raw.info
        self._location = f"postgresql://{info.user}@{info.host}:{info.port}/{info.dbname}"
        try:
            self.schema_version = migrate(self._raw)
        except psycopg.Error as exc:
            self._raw.close()
            raise StoreError(f"cannot migrate the database: {exc}") from exc
        except StoreError:
            self._raw.close()
            raise
        # Readers: a pool of read-only REPEATABLE READ connections (one snapshot per use), so
        # an API read never waits for an ingest batch to commit.
        self._pool = ConnectionPool(
            url, min_size=1, max_size=max(1, pool_size), open=True, timeout=30.0,
            name="scgw-readers", configure=_configure_reader,
            # A connection the server dropped (restart, failover) is replaced, not handed out.
            check=ConnectionPool.check_connection,
            kwargs={"connect_timeout": max(1, int(connect_timeout_s))})

    @property
    def location(self) -> str:
        """The server and database (no password); still known after `close()` (the CLI
        says where it wrote once it is done)."""
        return self._location

    def _connect(self) -> psycopg.Connection[Any]:
        try:
            raw = psycopg.connect(self.url, autocommit=True,
                                  connect_timeout=max(1, int(self._timeout)))
        except psycopg.Error as exc:
            raise StoreError(f"cannot connect to PostgreSQL: {exc}") from exc
        _adapt(raw)
        return raw

    def close(self) -> None:
        """Close the pool and the writer connection."""
        self._pool.close()
        with self._lock:
            self._raw.close()
        with self._side_lock:
            if self._side is not None:
                self._side.close()
                self._side = None

    @contextmanager
    def side_transaction(self) -> Iterator[StoreTx]:
        """A transaction on a connection of its own: a replica's heartbeat and lease must not
        wait for the batch the writer is committing (a slow batch would make the replica
        look dead to the others)."""
        with self._side_lock:
            if self._side is None or self._side.closed or self._side.broken:
                self._side = self._connect()
            try:
                with self._side.transaction():
                    yield StoreTx(PgConnection(self._side), POSTGRES)
            except psycopg.Error as exc:
                raise StoreError(f"transaction failed: {exc}") from exc

    @contextmanager
    def writer(self) -> Iterator[PgConnection]:
        """The writer connection, under the writer's lock."""
        with self._lock:
            yield self._conn

    @contextmanager
    def reading(self) -> Iterator[PgConnection]:
        """A read-only snapshot: every query inside sees the same committed state."""
        if self._writing_thread == threading.get_ident():
            with self._lock:
                yield self._conn
            return
        try:
            with self._pool.connection() as raw:
                yield PgConnection(raw)
        except psycopg.Error as exc:
            raise StoreError(f"read failed: {exc}") from exc

    @contextmanager
    def transaction(self) -> Iterator[StoreTx]:
        """One transaction; commits on exit, rolls back on error.

        Nested calls on the same thread become savepoints of the outer transaction (psycopg
        nests `transaction()` blocks that way), as with SQLite.
        """
        with self._lock:
            if self._raw.closed or self._raw.broken:
                if self._writing_thread is not None:
                    raise StoreError("the database connection broke inside a transaction")
                log.warning("database connection lost; reconnecting")
                self._raw = self._connect()
                self._conn = PgConnection(self._raw)
            outer = self._writing_thread
            self._writing_thread = threading.get_ident()
            try:
                with self._raw.transaction():
                    tx = StoreTx(self._conn, POSTGRES)
                    yield tx
                    tx.flush()
                    if self._raw.info.transaction_status == _IN_ERROR:
                        # A failed statement the caller caught aborted the transaction:
                        # PostgreSQL would answer COMMIT with a silent ROLLBACK, and the
                        # caller would ack what was never stored. Fail it instead.
                        raise StoreError("a statement failed earlier in this transaction, "
                                         "which PostgreSQL has therefore aborted")
            except psycopg.Error as exc:
                raise StoreError(f"transaction failed: {exc}") from exc
            finally:
                self._writing_thread = outer
