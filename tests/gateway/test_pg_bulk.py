"""Many-row INSERTs on PostgreSQL go as one statement over arrays and mean the same thing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from gateway.storage.pg_bulk import MIN_ROWS
from gateway.storage.postgres import PgConnection, _adapt

UPSERT = ("INSERT INTO things (k, n, x, label) VALUES (?, ?, ?, ?) ON CONFLICT (k) DO UPDATE"
          " SET n = excluded.n, x = excluded.x, label = excluded.label")


@pytest.fixture
def conns(pg_url: str) -> Iterator[tuple[PgConnection, PgConnection]]:
    raws = [psycopg.connect(pg_url, autocommit=True) for _ in range(2)]
    for raw, table in zip(raws, ("things", "ref"), strict=True):
        _adapt(raw)
        raw.execute(f"CREATE TABLE {table} (k TEXT PRIMARY KEY, n BIGINT, x DOUBLE PRECISION,"
                    " label TEXT)")
    yield PgConnection(raws[0]), PgConnection(raws[1])
    for raw in raws:
        raw.close()


# Text a device or vendor controls, with what an array literal must quote or could misread:
# quotes, braces, commas, backslashes, the word NULL, blanks, JSON, Chinese, control chars.
HOSTILE = ['o\'k %', None, 'NULL', '', '  ', '{"a": [1, "b\\"c"]}', '{}', 'a,b', 'x\\y',
           '中文，逗号', 'tab\tnew\nline', '"quoted"', "'single'", '{NULL}']


def _rows(n: int) -> list[tuple[Any, ...]]:
    # Booleans in an integer column, integers in a float column, NULLs, a key repeated
    # (row by row, the last write wins), 64-bit integers, and the text above.
    return [(f"k{i % (n // 2)}", [True, False, 7, None, 2**62][i % 5], [1, 2.5, None][i % 3],
             HOSTILE[(i // 2) % len(HOSTILE)] if i % 2 == 0 else None) for i in range(n)]


def _table(conn: PgConnection, table: str) -> list[tuple[Any, ...]]:
    return conn.raw.execute(f"SELECT k, n, x, label FROM {table} ORDER BY k").fetchall()


@pytest.mark.parametrize("n", [MIN_ROWS, 500])
def test_a_bulk_upsert_leaves_what_row_by_row_upserts_leave(conns, n: int):
    bulk, ref = conns
    rows = _rows(n)
    bulk.executemany(UPSERT, rows)
    for row in rows:  # the reference: one statement per row
        ref.execute(UPSERT.replace("things", "ref"), row)
    assert _table(bulk, "things") == _table(ref, "ref")
    assert len(_table(bulk, "things")) == n // 2


def test_a_row_the_arrays_cannot_hold_goes_row_by_row_and_fails_as_before(conns):
    bulk, _ = conns
    rows = _rows(40)
    rows[5] = ("k99", "twelve", 1.0, "x")  # text in an integer column
    with pytest.raises(psycopg.errors.InvalidTextRepresentation):
        bulk.executemany(UPSERT, rows)
    bulk.raw.execute("DELETE FROM things")
    rows[5] = ("k99", 12, 1.0, 13)  # a number in a text column: cast as row by row would
    bulk.executemany(UPSERT, rows)
    assert bulk.raw.execute("SELECT label FROM things WHERE k = 'k99'").fetchone() == ("13",)


def test_inserts_that_ignore_conflicts_keep_the_first_row(conns):
    bulk, _ = conns
    sql = "INSERT INTO things (k, n) VALUES (?, ?) ON CONFLICT DO NOTHING"
    cur = bulk.executemany(sql, [(f"k{i % 10}", i) for i in range(30)])
    assert cur.rowcount == 10
    assert bulk.raw.execute("SELECT sum(n) FROM things").fetchone() == (sum(range(10)),)
