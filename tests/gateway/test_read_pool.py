"""Reads never wait for the writer: the API reads on read-only WAL connections."""

from __future__ import annotations

import threading
import time

from gateway.storage.sqlite import SqliteStore


def test_a_read_during_a_long_write_transaction_returns_at_once(tmp_path):
    store = SqliteStore(tmp_path / "pool.db")
    try:
        with store.transaction() as tx:
            tx.connection.execute("INSERT INTO residents (id, name, tags, site, created_at,"
                                  " updated_at) VALUES ('R-1', '甲', '[]', 's', 0, 0)")
        inside = threading.Event()
        release = threading.Event()

        def long_write() -> None:
            with store.transaction() as tx:
                tx.connection.execute("INSERT INTO residents (id, name, tags, site, created_at,"
                                      " updated_at) VALUES ('R-2', '乙', '[]', 's', 0, 0)")
                inside.set()
                release.wait(10)

        writer = threading.Thread(target=long_write)
        writer.start()
        assert inside.wait(5)
        started = time.monotonic()
        rows = store.query("SELECT id FROM residents ORDER BY id")
        took = time.monotonic() - started
        # The committed row, not the one still being written, and without waiting for it.
        assert [r["id"] for r in rows] == ["R-1"]
        assert took < 1.0 and writer.is_alive()
        # The writing thread itself sees its own uncommitted rows.
        release.set()
        writer.join(5)
        assert [r["id"] for r in store.query("SELECT id FROM residents ORDER BY id")] == [
            "R-1", "R-2"]
        with store.transaction() as tx:
            tx.connection.execute("DELETE FROM residents WHERE id = 'R-1'")
            assert [r["id"] for r in store.query("SELECT id FROM residents")] == ["R-2"]
    finally:
        store.close()


def test_migration_scripts_are_cut_where_sqlite_says_a_statement_ends():
    from gateway.storage.sqlite import statements

    script = ("-- a comment; with a semicolon\nCREATE TABLE t (a TEXT DEFAULT 'x;\ny');\n"
              "CREATE TRIGGER tr AFTER INSERT ON t BEGIN\n  UPDATE t SET a = 'b;';\nEND;\n"
              "INSERT INTO t VALUES ('c');  -- trailing\n")
    parts = statements(script)
    assert len(parts) == 3
    assert parts[1].startswith("CREATE TRIGGER") and parts[1].endswith("END;")
