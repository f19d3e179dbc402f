"""A message whose processing makes the database refuse a statement is dead-lettered alone,
on both backends (on PostgreSQL one failed statement aborts the whole transaction, so the
batch is retried with a savepoint per message); the messages around it are stored."""

from __future__ import annotations

import orjson
import pytest

from tests.conftest import T0
from tests.support.waiting import wait_for
from tests.workflow.test_alert_tickets import _sos


class _Poison:
    """A rule-like hook whose statement the database refuses, for one device only."""

    def __init__(self, device_id: str) -> None:
        self.device_id = device_id

    def on_message(self, env, twin, tx) -> None:
        if env.device_id == self.device_id:
            tx.connection.execute("SELECT no_such_column FROM twins")

    def on_presence(self, twin, kind, now, tx) -> None:
        return None


@pytest.mark.both_backends
def test_a_message_whose_statement_fails_is_dead_lettered_and_the_batch_commits(
    make_gateway, publisher
):
    gw = make_gateway()
    gw.pipeline.hooks.append(_Poison("WB-1002"))
    for at, (device, seq) in enumerate((("WB-1001", 1), ("WB-1002", 1), ("WB-1001", 2))):
        publisher.publish(f"scgw/v1/wristband/{device}/telemetry", orjson.dumps(
            {"ts": int((T0 + at) * 1000), "seq": seq, "heart_rate_bpm": 70}))
    assert gw.pipeline.wait_processed(3, 30), "the batch never committed"
    stored = gw.store.query("SELECT seq FROM telemetry WHERE device_id = 'WB-1001' ORDER BY seq")
    assert [r["seq"] for r in stored] == [1, 2]
    [dead] = gw.store.query("SELECT topic, reason FROM dead_letters")
    assert dead == {"topic": "scgw/v1/wristband/WB-1002/telemetry", "reason": "internal_error"}
    # The gateway goes on: the next message of the poisoned device's neighbour is stored.
    publisher.publish("scgw/v1/wristband/WB-1001/telemetry", orjson.dumps(
        {"ts": int((T0 + 5) * 1000), "seq": 3, "heart_rate_bpm": 71}))
    assert gw.pipeline.wait_processed(4, 30)


class _PoisonFirst:
    """Refuses a statement for one device's first message only (after the rules saw it)."""

    def __init__(self, device_id: str) -> None:
        self.device_id = device_id

    def on_message(self, env, twin, tx) -> None:
        if env.device_id == self.device_id and env.seq == 1:
            tx.connection.execute("SELECT no_such_column FROM twins")

    def on_presence(self, twin, kind, now, tx) -> None:
        return None


@pytest.mark.both_backends
def test_an_sos_after_a_dead_lettered_one_raises_a_stored_alert(make_gateway, publisher, clock):
    # The first SOS raises its alert and then fails (dead-lettered, alone, on PostgreSQL in a
    # savepoint of its own). The next SOS must still page: an alert row and its ticket.
    gw = make_gateway()
    gw.pipeline.hooks.append(_PoisonFirst("WB-1002"))
    acks: list[dict] = []  # what the band is told (it stops resending what is "stored")
    publisher.client.on_message = lambda client, userdata, msg: acks.append(
        orjson.loads(msg.payload))
    publisher.client.subscribe("scgw/v1/wristband/WB-1002/event/ack", qos=1)
    publisher.publish("scgw/v1/wristband/WB-1001/event", _sos(1, T0))
    publisher.publish("scgw/v1/wristband/WB-1002/event", _sos(1, T0))
    assert wait_for(lambda: len(gw.store.query("SELECT 1 FROM dead_letters")) == 1, 30)
    clock.advance(30)
    publisher.publish("scgw/v1/wristband/WB-1002/event", _sos(2, T0 + 30))
    assert wait_for(lambda: len(gw.store.query(
        "SELECT 1 FROM events WHERE device_id = 'WB-1002' AND seq = 2")) == 1, 30)
    alerts = gw.store.query("SELECT id, device_id FROM alerts WHERE rule_id = 'wristband.sos'"
                            " AND state = 'active' ORDER BY device_id")
    assert [a["device_id"] for a in alerts] == ["WB-1001", "WB-1002"], alerts
    for alert in alerts:
        assert gw.store.query("SELECT ticket_id FROM ticket_alerts WHERE alert_id = ?",
                              (alert["id"],)), f"no ticket for {alert}"
    # Confirmed as stored only what is stored (on SQLite the refused first SOS is kept with
    # the transaction it failed in; on PostgreSQL it is rolled back with its savepoint).
    assert wait_for(lambda: any(a["seq"] == 2 for a in acks), 10), acks
    stored = {r["seq"] for r in gw.store.query(
        "SELECT seq FROM events WHERE device_id = 'WB-1002' AND type = 'sos'")}
    assert {a["seq"] for a in acks if a["status"] == "stored"} <= stored, (acks, stored)


@pytest.mark.both_backends
def test_a_copy_of_a_dead_lettered_sos_in_the_same_batch_is_not_confirmed_as_duplicate(
    make_gateway
):
    # The careful retry: the SOS fails in its savepoint (dead-lettered, not stored); the
    # broker's redelivery of it in the same batch had been judged a duplicate of it, and the
    # band was told "duplicate" for an SOS the database never got.
    from gateway.envelope import RawMessage
    gw = make_gateway()
    gw.pipeline.hooks.append(_Poison("WB-1002"))
    sos = orjson.dumps({"ts": int(T0 * 1000), "seq": 9, "type": "sos"})
    topic = "scgw/v1/wristband/WB-1002/event"
    gw.pipeline.process_batch([RawMessage(topic, sos, received_at=T0),
                               RawMessage(topic, sos, dup=True, received_at=T0)], careful=True)
    assert [r["reason"] for r in gw.store.query("SELECT reason FROM dead_letters")] == [
        "internal_error", "internal_error"]
    assert gw.metrics.value("scgw_messages_duplicate_total", kind="wristband") == 0
    assert gw.store.query("SELECT id FROM events WHERE type = 'sos'") == []
