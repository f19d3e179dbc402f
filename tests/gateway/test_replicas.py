"""Three gateway replicas in one process: Mosquitto `$share`, one PostgreSQL, a shared clock.

Mosquitto deals a shared subscription's messages round-robin, so a device's consecutive
messages land on different replicas: every test here fails if a replica trusted the state it
held in memory without revalidating it (the crash-and-failover test is test_replica_failover).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator

import orjson
import pytest

from gateway.clock import ManualClock
from gateway.service import Gateway
from tests.conftest import device
from tests.support.clients import Publisher
from tests.support.mosquitto import Mosquitto
from tests.support.postgres import PostgresServer
from tests.support.replicas import replica_starter
from tests.support.waiting import wait_for

BANDS = [f"WB-{n:04d}" for n in range(8)]
DOORS = [f"AC-{n:04d}" for n in range(4)]
DEVICES = [device(b, "wristband", site="s1", building="1", unit="1", grid="G-01")
           for b in BANDS] + [device(d, "access", site="s1", building="1", unit="1",
                                     grid="G-01") for d in DOORS]
DOOR_TIMEOUT_S = 120


@pytest.fixture
def replicas(mosquitto: Mosquitto, pg_url: str, clock: ManualClock, tmp_path,
             ) -> Iterator[Callable[[str], Gateway]]:
    group = f"g{abs(hash(tmp_path.name)) % 10**8}"  # sessions of this test's own
    first = [True]

    def register_once(gw: Gateway) -> None:
        if first[0]:
            gw.registry.register(DEVICES)
            first[0] = False

    with replica_starter(mosquitto.url, pg_url, group) as start:
        yield lambda name: start(name, clock, before_start=register_once,
                                 offline_timeout_s={"access": DOOR_TIMEOUT_S})


def _body(clock: ManualClock, seq: int, **fields: object) -> bytes:
    return orjson.dumps({"ts": int(clock.time() * 1000), "seq": seq, **fields})


def _run_for(clock: ManualClock, gateways: list[Gateway], seconds: int) -> None:
    """Advance the shared clock a heartbeat at a time, letting every replica keep up (one
    big jump would make each look dead to the others)."""
    for _ in range(seconds):
        clock.advance(1)
        wait_for(lambda: all(g.replica.last_beat >= clock.time() and g.pipeline.depth() == 0
                             for g in gateways), 5)


def _rows(gw: Gateway, sql: str) -> list[dict[str, object]]:
    return gw.store.query(sql)


def test_round_robin_replicas_store_each_message_once_and_keep_one_alert_per_sos(
        replicas, clock: ManualClock):
    gateways = [replicas(name) for name in ("gw-a", "gw-b", "gw-c")]
    pub = Publisher(gateways[0].settings.broker.url)
    infos = []
    for seq in range(40):  # in device order: each band's messages go round the replicas
        for band in BANDS:
            infos.append(pub.publish_nowait(f"scgw/v1/wristband/{band}/telemetry",
                                            _body(clock, seq, heart_rate_bpm=70 + seq % 5)))
    for press in range(5):  # five presses of each band's button: one alert, count 5
        for band in BANDS:
            infos.append(pub.publish_nowait(f"scgw/v1/wristband/{band}/event",
                                            _body(clock, 1000 + press, type="sos")))
    for seq in range(40):  # a broker redelivering everything: to other replicas this time
        for band in BANDS:
            infos.append(pub.publish_nowait(f"scgw/v1/wristband/{band}/telemetry",
                                            _body(clock, seq, heart_rate_bpm=70 + seq % 5)))
    for info in infos:
        info.wait_for_publish(10)
    total = len(infos)
    assert wait_for(lambda: sum(g.pipeline.processed for g in gateways) >= total, 60)
    assert all(g.pipeline.processed > 0 for g in gateways), "the broker did not share"

    a = gateways[0]

    def stored_readings() -> list[dict]:
        return _rows(a, "SELECT device_id, seq, count(*) AS n FROM telemetry"
                        " GROUP BY device_id, seq")

    # The processed counts include copies the broker delivered again (a replica's ack still
    # on its way when another took the message): wait for the readings themselves, a
    # message deferred by a replica that held its device may still be on its way.
    wait_for(lambda: len(stored_readings()) >= 40 * len(BANDS), 30)
    stored = stored_readings()
    assert len(stored) == 40 * len(BANDS) and all(r["n"] == 1 for r in stored)
    sos = _rows(a, "SELECT device_id, count, state FROM alerts WHERE rule_id = 'wristband.sos'")
    assert sorted(r["device_id"] for r in sos) == BANDS  # one alert per band, not per replica
    assert all(r["count"] == 5 for r in sos), sos
    tickets = _rows(a, "SELECT a.device_id FROM tickets t JOIN ticket_alerts l"
                       " ON l.ticket_id = t.id JOIN alerts a ON a.id = l.alert_id"
                       " WHERE a.rule_id = 'wristband.sos'")
    assert sorted(r["device_id"] for r in tickets) == BANDS
    reloads = sum(g.metrics.value("scgw_replica_reloads_total") for g in gateways)
    assert reloads > 0  # round-robin: the replicas did see each other's changes
    pub.close()


def test_a_timer_set_on_one_replica_fires_once_and_survives_the_leader(
        replicas, clock: ManualClock):
    gateways = [replicas(name) for name in ("gw-a", "gw-b", "gw-c")]
    pub = Publisher(gateways[0].settings.broker.url)
    for seq in range(3):
        for door in DOORS:
            pub.publish(f"scgw/v1/access/{door}/event",
                        _body(clock, seq, type="unlock", method="card"))
    assert wait_for(lambda: sum(g.pipeline.processed for g in gateways) >= 3 * len(DOORS), 20)
    leaders = [g for g in gateways if g.replica.leading(clock.time())]
    assert len(leaders) == 1

    def offline_alerts() -> list[dict[str, object]]:
        return _rows(survivors[0], "SELECT device_id FROM alerts WHERE rule_id ="
                                  " 'device.offline' ORDER BY device_id")

    # The leader stops (as if it died): its lease lapses and another replica takes the
    # timers, including the absence timers the stopped one had set.
    leader = leaders[0]
    survivors = [g for g in gateways if g is not leader]
    leader.stop()
    _run_for(clock, survivors, DOOR_TIMEOUT_S + 20)  # past a sweep (every 15 s) too
    assert wait_for(lambda: [r["device_id"] for r in offline_alerts()] == DOORS, 20), \
        offline_alerts()
    assert sum(g.replica.leading(clock.time()) for g in survivors) == 1
    # The offline sweep too: even a door the timers' new holder never heard goes offline.
    online = _rows(survivors[0], "SELECT device_id FROM twins WHERE device_id LIKE 'AC-%'"
                                 " AND online = 1")
    assert online == []
    _run_for(clock, survivors, DOOR_TIMEOUT_S)
    assert [r["device_id"] for r in offline_alerts()] == DOORS  # fired once, not per replica
    pub.close()


def test_a_console_on_any_replica_sees_every_replicas_alerts_in_commit_order(
        replicas, clock: ManualClock):
    from api.app import create_app
    from api.stream import Subscriber

    gateways = [replicas(name) for name in ("gw-a", "gw-b", "gw-c")]
    apps = [create_app(g) for g in gateways]  # wires each replica's live stream
    loop = asyncio.new_event_loop()
    runner = threading.Thread(target=loop.run_forever, daemon=True)
    runner.start()
    seen: list[dict[str, object]] = []
    console = Subscriber(accepts=lambda event: True, loop=loop)
    apps[2].state.broadcaster.subscribe(console)  # an operator connected to gw-c only
    assert all(g.live.wait_listening(10) for g in gateways)

    pub = Publisher(gateways[0].settings.broker.url)
    for press in range(3):
        for band in BANDS:
            pub.publish_nowait(f"scgw/v1/wristband/{band}/event",
                               _body(clock, 2000 + press, type="sos"))

    def drain() -> bool:
        while not console.queue.empty():
            seen.append(console.queue.get_nowait())
        alerts = {e["alert"]["device_id"] for e in seen if e["type"] == "alert"}
        return alerts == set(BANDS) and sum(
            e["alert"]["count"] == 3 for e in seen if e["type"] == "alert") == len(BANDS)

    assert wait_for(drain, 30), [(e["type"], e.get("action")) for e in seen]
    handled = {g.settings.gateway.replica_id for g in gateways if g.pipeline.processed}
    assert len(handled) > 1  # the events came through the database, not only gw-c's memory
    for band in BANDS:  # per device: opened first, then its repeats in order
        mine = [e for e in seen if e["type"] == "alert" and e["alert"]["device_id"] == band]
        assert mine[0]["action"] == "opened"
        counts = [e["alert"]["count"] for e in mine]
        assert counts == sorted(counts)
    tickets = {e["ticket"]["device_id"] for e in seen if e["type"] == "ticket"}
    assert tickets == set(BANDS)
    loop.call_soon_threadsafe(loop.stop)
    pub.close()


def test_a_command_sent_from_one_replica_is_settled_by_an_ack_any_replica_receives(
        replicas, clock: ManualClock):
    gateways = [replicas(name) for name in ("gw-a", "gw-b", "gw-c")]
    bands = Publisher(gateways[0].settings.broker.url)  # the bands' side: ack every command
    acks: list[tuple[str, bytes]] = []

    def on_command(client, userdata, msg) -> None:
        command = orjson.loads(msg.payload)
        acks.append((msg.topic + "/ack", orjson.dumps(
            {"id": command["id"], "ok": True, "ts": int(clock.time() * 1000)})))

    bands.client.on_message = on_command
    bands.client.subscribe("scgw/v1/wristband/+/cmd", qos=1)
    a = gateways[0]
    sent = [a.pipeline.call("command", lambda now, tx, band=band: a.commands.send(
        tx, device_id=band, kind="wristband", name="locate_now", args={}, actor="operator",
        now=now), clock.time()) for band in BANDS]
    assert wait_for(lambda: len(acks) == len(BANDS), 10)
    for topic, body in list(acks):
        bands.publish(topic, body)

    def states() -> set[object]:
        return {r["state"] for r in _rows(a, "SELECT state FROM commands")}

    assert wait_for(lambda: states() == {"succeeded"}, 20), states()
    assert len(_rows(a, "SELECT id FROM commands")) == len(sent)
    # The acks were the only messages: some were settled by replicas that sent no command.
    assert any(g.pipeline.processed for g in gateways[1:])
    bands.close()


def test_a_rule_switched_off_on_one_replica_is_off_on_all_and_its_alerts_clear(
        replicas, clock: ManualClock):
    gateways = [replicas(name) for name in ("gw-a", "gw-b", "gw-c")]
    pub = Publisher(gateways[0].settings.broker.url)
    for band in BANDS:
        pub.publish(f"scgw/v1/wristband/{band}/event", _body(clock, 1, type="sos"))
    a = gateways[0]

    def open_sos() -> list[dict[str, object]]:
        return _rows(a, "SELECT device_id FROM alerts WHERE rule_id = 'wristband.sos'"
                        " AND state != 'cleared'")

    def presses() -> int:
        return len(_rows(a, "SELECT id FROM events WHERE type = 'sos'"))

    assert wait_for(lambda: len(open_sos()) == len(BANDS), 20)  # raised on all three
    a.alerting.switch_rule("wristband.sos", False, "admin", "drill")
    assert open_sos() == []  # every replica's alerts of the rule cleared, not only gw-a's
    for band in BANDS:  # pressed again: no replica may raise it while it is off
        pub.publish(f"scgw/v1/wristband/{band}/event", _body(clock, 2, type="sos"))
    assert wait_for(lambda: presses() == 2 * len(BANDS), 20)
    assert open_sos() == []
    assert len(_rows(a, "SELECT id FROM alerts WHERE rule_id = 'wristband.sos'")) == len(BANDS)
    pub.close()


def test_two_replicas_changing_one_ticket_take_turns_instead_of_losing_an_update(
        replicas, clock: ManualClock, pg_url: str):
    import psycopg

    a, b = replicas("gw-a"), replicas("gw-b")
    pub = Publisher(a.settings.broker.url)
    pub.publish(f"scgw/v1/wristband/{BANDS[0]}/event", _body(clock, 1, type="sos"))
    assert wait_for(lambda: _rows(a, "SELECT id FROM tickets"), 20)
    [ticket] = _rows(a, "SELECT id FROM tickets")
    ticket_id = int(ticket["id"])
    first_read = threading.Event()
    release = threading.Event()
    second_saw: list[str | None] = []

    def first() -> None:  # e.g. an operator's transition on gw-a
        with a.store.transaction() as tx:
            t = tx.tickets.get(ticket_id)
            first_read.set()
            release.wait(10)
            t.assignee = "first"
            tx.tickets.update(t)

    def second() -> None:  # e.g. the SLA tick on gw-b, at the same moment
        with b.store.transaction() as tx:
            t = tx.tickets.get(ticket_id)
            second_saw.append(t.assignee)
            t.escalation_level += 1
            tx.tickets.update(t)

    def second_waits() -> bool:
        with psycopg.connect(pg_url, autocommit=True) as conn:
            row = conn.execute(b"SELECT count(*) FROM pg_stat_activity"
                               b" WHERE wait_event_type = 'Lock'").fetchone()
        return bool(row and row[0])

    one = threading.Thread(target=first)
    one.start()
    assert first_read.wait(10)
    two = threading.Thread(target=second)
    two.start()
    assert wait_for(second_waits, 10)  # blocked on the row gw-a is changing
    release.set()
    one.join(10)
    two.join(10)
    assert second_saw == ["first"]  # it read gw-a's change, and kept it
    [row] = _rows(a, f"SELECT assignee, escalation_level FROM tickets WHERE id = {ticket_id}")
    assert row["assignee"] == "first" and row["escalation_level"] >= 1
    pub.close()


def test_replicas_ride_out_postgresql_going_down_and_lose_or_double_nothing(
        replicas, clock: ManualClock, postgres: PostgresServer):
    gateways = [replicas(name) for name in ("gw-a", "gw-b")]
    pub = Publisher(gateways[0].settings.broker.url)

    def send(first: int, count: int) -> None:
        infos = [pub.publish_nowait(f"scgw/v1/wristband/{band}/telemetry",
                                    _body(clock, seq, heart_rate_bpm=72))
                 for seq in range(first, first + count) for band in BANDS]
        infos += [pub.publish_nowait(f"scgw/v1/wristband/{band}/event",
                                     _body(clock, 1000 + first, type="sos")) for band in BANDS]
        for info in infos:
            info.wait_for_publish(10)

    send(0, 5)
    assert wait_for(lambda: sum(g.pipeline.processed for g in gateways) >= 6 * len(BANDS), 30)
    postgres.halt()  # a crash: every replica's writer, readers and listener are cut off
    try:
        send(100, 5)  # taken from the broker, not acked: their batches cannot commit
        assert wait_for(lambda: all(g.metrics.value("scgw_store_errors_total") >= 1
                                    for g in gateways), 30)
    finally:
        postgres.start()
    assert wait_for(lambda: sum(g.pipeline.processed for g in gateways) >= 12 * len(BANDS), 60)
    _run_for(clock, gateways, 4)  # heartbeats and the timers' lease come back too

    a = gateways[0]
    stored = _rows(a, "SELECT device_id, seq, count(*) AS n FROM telemetry"
                      " GROUP BY device_id, seq")
    assert len(stored) == 10 * len(BANDS) and all(r["n"] == 1 for r in stored)
    sos = _rows(a, "SELECT device_id, count FROM alerts WHERE rule_id = 'wristband.sos'")
    assert sorted(r["device_id"] for r in sos) == BANDS and all(r["count"] == 2 for r in sos)
    assert _rows(a, "SELECT count(*) AS n FROM tickets") == [{"n": len(BANDS)}]
    assert sum(g.replica.leading(clock.time()) for g in gateways) == 1
    pub.close()
