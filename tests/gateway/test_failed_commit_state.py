"""A batch whose transaction fails is retried from what the database holds: the alerts, rule
state and tickets its first attempt made in memory are not taken for stored ones (else an
SOS raised in the failed attempt would be counted as a repeat of an alert never stored)."""

from __future__ import annotations

import orjson
import pytest

from gateway.storage.migrate import StoreError
from tests.conftest import T0
from tests.support.waiting import wait_for
from tests.workflow.test_alert_tickets import _sos


class _FailFirstCommit:
    """A hook whose end of batch fails once, as a commit does when the disk is full or the
    database connection drops: the whole transaction rolls back and the batch is retried."""

    def __init__(self) -> None:
        self.armed = True
        self.failed = 0

    def on_message(self, env, twin, tx) -> None:
        return None

    def on_presence(self, twin, kind, now, tx) -> None:
        return None

    def on_batch_end(self, tx) -> None:
        if self.armed:
            self.armed = False
            self.failed += 1
            raise StoreError("injected: the commit failed")


def _stored_sos(gw) -> list[int]:
    return [r["seq"] for r in gw.store.query(
        "SELECT seq FROM events WHERE device_id = 'WB-1001' AND type = 'sos' ORDER BY seq")]


@pytest.mark.both_backends
def test_an_sos_whose_first_commit_failed_is_one_stored_alert_with_its_ticket(
        make_gateway, publisher, clock):
    _sos_after_a_failed_commit(make_gateway(), publisher, clock)


@pytest.mark.parametrize("backend", ["postgres"])
def test_a_replica_whose_first_commit_failed_stores_the_sos_once(make_gateway, publisher,
                                                                 clock):
    _sos_after_a_failed_commit(make_gateway(gateway={"replica_id": "r1"},
                                            broker={"shared_group": "failed-commit"}),
                               publisher, clock)


def _sos_after_a_failed_commit(gw, publisher, clock) -> None:
    failing = _FailFirstCommit()
    gw.pipeline.hooks.append(failing)

    publisher.publish("scgw/v1/wristband/WB-1001/event", _sos(1, T0))
    assert wait_for(lambda: _stored_sos(gw) == [1], 30), "the batch never committed"
    assert failing.failed == 1
    [alert] = gw.store.query("SELECT id, rule_id, state, count FROM alerts"
                             " WHERE device_id = 'WB-1001'")
    assert (alert["rule_id"], alert["state"], alert["count"]) == ("wristband.sos", "active", 1)
    [ticket] = gw.store.query("SELECT t.id, t.category, t.alert_count FROM tickets t"
                              " JOIN ticket_alerts l ON l.ticket_id = t.id"
                              " WHERE l.alert_id = ?", (alert["id"],))
    assert (ticket["category"], ticket["alert_count"]) == ("sos", 1)

    # The next SOS counts on the stored alert and its ticket.
    clock.advance(30)
    publisher.publish("scgw/v1/wristband/WB-1001/event", _sos(2, T0 + 30))
    # (Not a count of processed messages: a replica also receives its own confirmations.)
    assert wait_for(lambda: _stored_sos(gw) == [1, 2], 30)
    assert gw.store.query("SELECT id, count FROM alerts WHERE device_id = 'WB-1001'") == [
        {"id": alert["id"], "count": 2}]
    assert gw.store.query("SELECT id, alert_count FROM tickets") == [
        {"id": ticket["id"], "alert_count": 2}]


@pytest.mark.both_backends
def test_a_status_message_whose_first_commit_failed_is_stored(make_gateway, publisher, clock):
    # A status message is stored when it changes presence; its retry must still see it do so.
    gw = make_gateway()
    failing = _FailFirstCommit()
    failing.armed = False
    gw.pipeline.hooks.append(failing)
    publisher.publish("scgw/v1/wristband/WB-1001/telemetry", orjson.dumps(
        {"ts": int(T0 * 1000), "seq": 1, "heart_rate_bpm": 70}))
    assert wait_for(lambda: gw.store.query("SELECT 1 FROM telemetry"), 30)
    failing.armed = True
    clock.advance(5)
    publisher.publish("scgw/v1/wristband/WB-1001/status", b"offline")
    assert wait_for(lambda: failing.failed == 1 and not gw.pipeline.depth(), 30)
    assert wait_for(lambda: gw.store.query(
        "SELECT type FROM events WHERE device_id = 'WB-1001' AND channel = 'status'") == [
        {"type": "offline"}], 30), "the offline status was not stored"
    assert gw.twins.get("WB-1001").online is False


@pytest.mark.both_backends
def test_a_clock_skew_judged_in_a_failed_commit_is_still_alerted(make_gateway, publisher):
    # An SOS sent live with the band's clock 10 min fast proves the skew at once; the commit
    # that raised the skew alert fails, and the retry must judge (and alert) the same.
    gw = make_gateway()
    gw.pipeline.hooks.append(_FailFirstCommit())
    publisher.publish("scgw/v1/wristband/WB-1001/event", _sos(1, T0 + 600))
    assert wait_for(lambda: _stored_sos(gw) == [1], 30)
    [skew] = gw.store.query("SELECT state, clock_skew_s FROM alerts"
                            " WHERE rule_id = 'device.clock_skew' AND device_id = 'WB-1001'")
    assert skew["state"] == "active" and skew["clock_skew_s"] == pytest.approx(600, abs=5)


@pytest.mark.both_backends
def test_a_device_registered_as_pending_in_a_failed_commit_is_on_file(make_gateway, publisher):
    # An unknown device is put on file for an operator to approve, inside the batch; when
    # that batch fails, the retry must put it on file again, not find it in memory only.
    gw = make_gateway(auto_register_unknown=True)
    gw.pipeline.hooks.append(_FailFirstCommit())
    publisher.publish("scgw/v1/locker/LK-NEW/telemetry",
                      orjson.dumps({"ts": int(T0 * 1000), "seq": 1}))
    assert wait_for(lambda: gw.store.query("SELECT reason FROM dead_letters") == [
        {"reason": "device_pending"}], 30)
    assert gw.store.query("SELECT id, status FROM devices WHERE id = 'LK-NEW'") == [
        {"id": "LK-NEW", "status": "pending"}]
