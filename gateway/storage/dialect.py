"""What the repositories need from a database connection, and the few SQL spellings that
differ between SQLite and PostgreSQL (everything else is written once, in portable SQL)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, cast


class Cursor(Protocol):
    """The DB-API cursor surface the repositories use (sqlite3 and psycopg both have it)."""

    @property
    def rowcount(self) -> int:
        """Rows the statement changed."""
        ...

    @property
    def description(self) -> Any:
        """Column descriptions of a query (name first)."""
        ...

    def fetchone(self) -> Any:
        """The next row, or None."""
        ...

    def fetchall(self) -> list[Any]:
        """Every remaining row."""
        ...


class Connection(Protocol):
    """A connection in an open transaction: `?` placeholders, one statement per call."""

    def execute(self, sql: str, args: Sequence[Any] = ..., /) -> Any:
        """Run one statement; return its cursor."""
        ...

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]], /) -> Any:
        """Run one statement once per row; return a cursor whose rowcount is the total."""
        ...


class IdSource(Protocol):
    """A connection that hands out new row ids ahead of the insert (PostgreSQL's)."""

    def next_id(self, table: str) -> int:
        """A new id for a row of `table`."""
        ...


@dataclass(frozen=True, slots=True)
class Dialect:
    """SQL fragments spelled differently per backend. Inputs are column names of ours,
    never user data."""

    name: Literal["sqlite", "postgres"]

    def json_number(self, column: str, key: str) -> str:
        """A top-level JSON field of a TEXT column as a number (true/false as 1/0; NULL when
        missing, null or not a number)."""
        if self.name == "sqlite":
            return f"json_extract({column}, '$.{key}')"
        value = f"({column}::jsonb -> '{key}')"
        return (f"(CASE jsonb_typeof{value} WHEN 'boolean' THEN"
                f" CASE WHEN {value}::boolean THEN 1 ELSE 0 END"
                f" WHEN 'number' THEN {value}::text::double precision END)")

    def json_present(self, column: str, key: str) -> str:
        """Whether a top-level JSON field of a TEXT column is there and not null."""
        if self.name == "sqlite":
            return f"json_extract({column}, '$.{key}') IS NOT NULL"
        return f"({column}::jsonb ->> '{key}') IS NOT NULL"

    def json_items(self, column: str, alias: str) -> str:
        """A FROM item listing the elements of a JSON array column as `{alias}.value`."""
        if self.name == "sqlite":
            return f"json_each({column}) AS {alias}"
        return f"jsonb_array_elements_text({column}::jsonb) AS {alias}(value)"

    def leading_int(self, column: str) -> str:
        """The number a text starts with, as SQLite's CAST(… AS INTEGER) reads it (0 if none):
        '12A' → 12, 'B' → 0; for natural ordering of building, unit and room numbers."""
        if self.name == "sqlite":
            return f"CAST({column} AS INTEGER)"
        return f"coalesce(substring({column} from '^\\s*([0-9]{{1,18}})')::bigint, 0)"

    def insert_id(self, conn: Connection, sql: str, args: Sequence[Any]) -> int:
        """Run a one-row INSERT (written without RETURNING) and return the new row's id:
        SQLite's rowid of the insert, which costs less than reading a RETURNING clause back
        (18-20 vs 25-36 µs for an alert row); PostgreSQL's RETURNING id."""
        if self.name == "sqlite":
            return int(conn.execute(sql, args).lastrowid)
        return int(conn.execute(f"{sql} RETURNING id", args).fetchone()[0])

    def new_id(self, conn: Connection, table: str) -> int:
        """The id a new row of `table` gets, before it is written: PostgreSQL's sequence
        (the connection keeps a block of them); on SQLite, under its single writer, what it
        would give the next row itself. Not for SQLite rows still waiting to be written."""
        if self.name == "postgres":
            return cast(IdSource, conn).next_id(table)
        return int(conn.execute(f"SELECT coalesce(max(id), 0) + 1 FROM {table}").fetchone()[0])

    def epoch_now(self) -> str:
        """The database server's wall clock, in seconds since the epoch."""
        if self.name == "sqlite":
            return "(julianday('now') - 2440587.5) * 86400.0"
        return "extract(epoch from clock_timestamp())::double precision"


SQLITE = Dialect("sqlite")
POSTGRES = Dialect("postgres")
