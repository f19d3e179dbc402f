"""The PostgreSQL store on a real server: the schema the shared migrations make, concurrent
start-up, snapshots and savepoints, a lost connection, and the whole path from MQTT through
the pipeline, rules and workflow into PostgreSQL (read back with psycopg, not the store)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import orjson
import psycopg
import pytest

from gateway.clock import ManualClock
from gateway.service import Gateway
from gateway.storage.migrate import StoreError, migrations
from gateway.storage.postgres import PostgresStore, pg_params
from gateway.storage.records import DeviceRecord
from gateway.storage.sqlite import SqliteStore
from tests.conftest import T0
from tests.support.clients import Publisher
from tests.support.postgres import PostgresServer
from tests.support.waiting import wait_for


@pytest.fixture
def store(pg_url: str) -> Iterator[PostgresStore]:
    s = PostgresStore(pg_url, pool_size=2)
    yield s
    s.close()


def _columns(url: str, table: str) -> dict[str, str]:
    with psycopg.connect(url) as conn:
        return dict(conn.execute(
            "SELECT column_name, data_type FROM information_schema.columns"
            " WHERE table_name = %s", (table,)).fetchall())


def test_the_shared_migrations_make_a_postgres_schema_with_wide_types(store, pg_url):
    assert store.schema_version == max(v for v, _, _ in migrations())
    telemetry = _columns(pg_url, "telemetry")
    assert telemetry["ts"] == "double precision" and telemetry["seq"] == "bigint"
    assert _columns(pg_url, "seq_windows")["mask"] == "bigint"  # 63-bit seq bitmap
    assert _columns(pg_url, "dead_letters")["payload"] == "bytea"
    assert "dedup" not in _columns(pg_url, "dedup")  # dropped by 0040
    with psycopg.connect(pg_url) as conn:
        applied = [r[0] for r in conn.execute(
            "SELECT version FROM schema_migrations ORDER BY version")]
        identity = conn.execute("SELECT is_identity FROM information_schema.columns"
                                " WHERE table_name = 'tickets' AND column_name = 'id'"
                                ).fetchone()
    assert applied == [v for v, _, _ in migrations()]
    assert identity == ("YES",)
    PostgresStore(pg_url, pool_size=1).close()  # re-opening applies nothing and breaks nothing


def test_tables_rewritten_every_batch_leave_room_for_in_place_updates(store, pg_url, tmp_path):
    with psycopg.connect(pg_url) as conn:
        options = dict(conn.execute(
            "SELECT relname, reloptions FROM pg_class WHERE relname = ANY(%s)",
            (["twins", "seq_windows", "rule_state", "device_versions", "telemetry"],)))
    assert {t: o for t, o in options.items() if o} == {
        t: ["fillfactor=70"] for t in ("twins", "seq_windows", "rule_state", "device_versions")}
    # SQLite runs the same migrations without them (it has no storage parameters).
    sqlite = SqliteStore(tmp_path / "same.db")
    assert sqlite.schema_version == store.schema_version
    sqlite.close()


def test_gateways_starting_together_on_an_empty_database_migrate_it_once(
        postgres: PostgresServer):
    name = postgres.empty_database()
    try:
        stores: list[PostgresStore] = []
        errors: list[BaseException] = []
        start = threading.Barrier(3)

        def open_one() -> None:
            start.wait()
            try:
                stores.append(PostgresStore(postgres.url(name), pool_size=1))
            except (StoreError, psycopg.Error) as exc:
                errors.append(exc)

        threads = [threading.Thread(target=open_one) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert errors == [] and len(stores) == 3
        assert {s.schema_version for s in stores} == {migrations()[-1][0]}
        counts = stores[0].query("SELECT version, count(*) AS n FROM schema_migrations"
                                 " GROUP BY version")
        assert len(counts) == len(migrations()) and {r["n"] for r in counts} == {1}
        for s in stores:
            s.close()
    finally:
        postgres.drop_database(name)


def test_question_marks_become_placeholders_and_percent_signs_stay_literal(store):
    assert pg_params("SELECT ? WHERE a LIKE 'x_%' AND b = '?'") == (
        "SELECT %s WHERE a LIKE 'x_%%' AND b = '?'")
    assert pg_params('SELECT "odd?name", ?') == 'SELECT "odd?name", %s'
    assert pg_params("SELECT ? FROM unnest(?::text[])") == "SELECT %s FROM unnest(%b::text[])"
    with store.transaction() as tx:
        tx.tickets.notify(at=T0, audience="ops", recipient="a%b", kind="k", body="is it?")
    rows = store.query("SELECT recipient, body FROM notifications WHERE recipient LIKE 'a%'"
                       " AND body = ?", ("is it?",))
    assert rows == [{"recipient": "a%b", "body": "is it?"}]


def test_device_locks_and_versions_take_any_id_a_vendor_may_register(store, pg_url):
    # Lists of ids go to PostgreSQL as binary arrays: ids with the characters a text array
    # literal quotes must come back unchanged, and a held lock must be reported.
    ids = ['WB-"1"', "WB-{2}", "WB-3,4", "WB-\\5", "WB-NULL", "手环-6", "WB- 7", "*"]
    with store.transaction() as tx:
        tx.replicas.bump(ids[:4], "r1", T0)
        tx.replicas.bump(ids[:2], "r1", T0)
    with store.transaction() as tx:
        assert tx.replicas.versions(ids) == {ids[0]: 2, ids[1]: 2, ids[2]: 1, ids[3]: 1}
        assert tx.replicas.try_lock_devices(ids) == set()
    other_store = PostgresStore(pg_url, pool_size=1)  # another replica
    try:
        with store.transaction() as tx, other_store.transaction() as rival:
            tx.replicas.lock_devices(ids[:3])
            assert rival.replicas.try_lock_devices(ids) == set(ids[:3])
    finally:
        other_store.close()


def test_a_snapshot_sees_committed_state_and_the_writer_sees_its_own(store):
    record = DeviceRecord("WB-9", "wristband", created_at=T0, updated_at=T0)
    inside, release, seen_outside = threading.Event(), threading.Event(), []

    def writer() -> None:
        with store.transaction() as tx:
            tx.connection.execute("INSERT INTO residents (id, created_at, updated_at)"
                                  " VALUES ('R-9', ?, ?)", (T0, T0))
            # The writing thread reads what it wrote (through the writer connection).
            assert [r["id"] for r in store.query("SELECT id FROM residents")] == ["R-9"]
            inside.set()
            release.wait(10)

    thread = threading.Thread(target=writer)
    thread.start()
    assert inside.wait(10)
    seen_outside.append(store.query("SELECT id FROM residents"))  # a pooled snapshot
    release.set()
    thread.join(10)
    assert seen_outside == [[]]
    assert [r["id"] for r in store.query("SELECT id FROM residents")] == ["R-9"]
    store.upsert_devices([record])
    store.upsert_devices([record])  # an upsert, not a second row
    assert store.get_device("WB-9") == record and len(store.load_devices()) == 1
    with pytest.raises(StoreError):  # snapshots are read-only
        store.query("DELETE FROM residents")


def test_a_nested_transaction_is_a_savepoint_and_a_refused_statement_rolls_back(store):
    with store.transaction() as outer:
        outer.connection.execute("INSERT INTO door_plates (code) VALUES ('DP-1')")
        with pytest.raises(ValueError), store.transaction() as inner:
            inner.connection.execute("INSERT INTO door_plates (code) VALUES ('DP-2')")
            raise ValueError("the inner unit of work gives up")
    assert [r["code"] for r in store.query("SELECT code FROM door_plates")] == ["DP-1"]
    with pytest.raises(StoreError, match="duplicate key"), store.transaction() as tx:
        tx.connection.execute("INSERT INTO door_plates (code) VALUES ('DP-3')")
        tx.connection.execute("INSERT INTO door_plates (code) VALUES ('DP-1')")
    assert [r["code"] for r in store.query("SELECT code FROM door_plates")] == ["DP-1"]


def test_a_caught_failure_fails_the_whole_transaction_instead_of_a_silent_rollback(store):
    # SQLite undoes just the failed statement and commits the rest; PostgreSQL aborts the
    # transaction, so the store refuses to report it committed (the pipeline retries it).
    with pytest.raises(StoreError, match="aborted"), store.transaction() as tx:
        tx.connection.execute("INSERT INTO door_plates (code) VALUES ('DP-1')")
        with pytest.raises(psycopg.errors.UndefinedTable):
            tx.connection.execute("SELECT * FROM no_such_table")
    assert store.query("SELECT code FROM door_plates") == []


def test_after_the_server_drops_the_writer_the_next_transaction_reconnects(store, postgres):
    with postgres.admin() as admin:
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE"
                      " datname = %s", (store.location.rsplit("/", 1)[1],))
    with pytest.raises(StoreError), store.transaction() as tx:  # the one that finds out
        tx.connection.execute("SELECT 1")
    with store.transaction() as tx:
        tx.connection.execute("INSERT INTO door_plates (code) VALUES ('DP-after')")
    assert store.query("SELECT code FROM door_plates") == [{"code": "DP-after"}]


# -- the whole path ----------------------------------------------------------------------


def _rota(folder: Path) -> Path:
    path = folder / "rota.yaml"
    path.write_text("grids:\n  G-01:\n    - {worker: gw-wang, start: '08:00', end: '20:00'}\n",
                    encoding="utf-8")
    return path


def _send(publisher: Publisher, channel: str, body: dict[str, object]) -> None:
    publisher.publish(f"scgw/v1/wristband/WB-1001/{channel}", orjson.dumps(body))


@pytest.mark.parametrize("backend", ["postgres"])
def test_mqtt_messages_land_in_postgres_as_one_alert_and_one_ticket_across_a_restart(
        make_gateway: Callable[..., Gateway], publisher: Publisher, pg_url: str,
        clock: ManualClock, tmp_path: Path):
    rota = {"rota_file": str(_rota(tmp_path))}
    gw = make_gateway(workflow=rota)
    assert gw.store.location.endswith(pg_url.rsplit("/", 1)[1])
    sos = {"ts": int(T0 * 1000), "seq": 1, "type": "sos",
           "location": {"lat": 35.4151, "lon": 116.5872, "accuracy_m": 8}}
    _send(publisher, "telemetry", {"ts": int(T0 * 1000) - 1000, "seq": 1,
                                   "heart_rate_bpm": 72, "battery_pct": 64, "worn": True})
    _send(publisher, "event", sos)
    _send(publisher, "event", sos)  # a redelivery: same seq, same content
    publisher.publish("scgw/v1/wristband/WB-1001/telemetry", b"\xff not json")
    assert gw.pipeline.wait_processed(4, 10)

    with psycopg.connect(pg_url) as db:  # what is in PostgreSQL, read without the store
        assert db.execute("SELECT count(*) FROM telemetry").fetchone() == (1,)
        assert db.execute("SELECT type, seq FROM events").fetchall() == [("sos", 1)]
        [(reason, payload)] = db.execute("SELECT reason, payload FROM dead_letters").fetchall()
        assert payload == b"\xff not json" and reason
        [(alert_id, state, rule)] = db.execute(
            "SELECT id, state, rule_id FROM alerts").fetchall()
        assert (state, rule) == ("active", "wristband.sos")
        [(ticket_id, priority, assignee)] = db.execute(
            "SELECT id, priority, assignee FROM tickets").fetchall()
        assert (priority, assignee) == ("urgent", "gw-wang")
        assert db.execute("SELECT ticket_id FROM ticket_alerts WHERE alert_id = %s",
                          (alert_id,)).fetchone() == (ticket_id,)
        assert db.execute("SELECT battery_pct, online FROM twins WHERE device_id = 'WB-1001'"
                          ).fetchone() in ((64.0, 1), (None, 1), None)
        # Twins are checkpointed; a device going online is written at once. The SOS rides
        # the event lane, so it may be applied before the reading that carries the battery
        # (docs/operations.md): then the row holds no battery until the next checkpoint.
    # The API's reads on the pooled read connections.
    assert gw.store.query("SELECT count(*) AS n FROM alerts WHERE state != 'cleared'") == [
        {"n": 1}]

    gw.stop()  # a clean stop writes every twin; a new gateway picks up from PostgreSQL
    clock.advance(30)
    gw2 = make_gateway(workflow=rota)
    _send(publisher, "event", sos)  # replayed after the restart: still the same message
    _send(publisher, "event", {**sos, "seq": 2, "ts": int((T0 + 30) * 1000)})
    assert gw2.pipeline.wait_processed(2, 10)
    with psycopg.connect(pg_url) as db:
        assert db.execute("SELECT seq FROM events ORDER BY seq").fetchall() == [(1,), (2,)]
        assert db.execute("SELECT count(*), max(count) FROM alerts").fetchone() == (1, 2)
        assert db.execute("SELECT count(*), max(alert_count) FROM tickets").fetchone() == (1, 2)
        assert db.execute("SELECT battery_pct FROM twins WHERE device_id = 'WB-1001'"
                          ).fetchone() == (64.0,)


@pytest.mark.parametrize("backend", ["postgres"])
def test_a_message_that_arrives_while_postgres_is_down_is_stored_once_it_is_back(
        make_gateway: Callable[..., Gateway], publisher: Publisher, pg_url: str,
        postgres: PostgresServer):
    gw = make_gateway()
    _send(publisher, "event", {"ts": int(T0 * 1000), "seq": 1, "type": "removed"})
    assert gw.pipeline.wait_processed(1, 10)
    postgres.halt()
    try:
        _send(publisher, "event", {"ts": int(T0 * 1000) + 1000, "seq": 2, "type": "worn"})
        # The batch fails to commit and is kept (not acked), retried with a backoff.
        assert wait_for(lambda: gw.metrics.value("scgw_store_errors_total") >= 1, 10)
    finally:
        postgres.start()
    assert gw.pipeline.wait_processed(2, 20)
    with psycopg.connect(pg_url) as db:
        assert db.execute("SELECT seq, type FROM events ORDER BY seq").fetchall() == [
            (1, "removed"), (2, "worn")]
    assert gw.store.query("SELECT count(*) AS n FROM events") == [{"n": 2}]
