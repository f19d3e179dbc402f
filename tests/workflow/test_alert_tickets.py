"""Alert → ticket over real MQTT: an SOS becomes a dispatched ticket; repeats update it."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from tests.conftest import T0
from tests.support.waiting import wait_for
from tests.workflow.conftest import ROTA


def _write_rota(tmp_path: Path) -> Path:
    import yaml

    path = tmp_path / "rota.yaml"
    path.write_text(yaml.safe_dump(ROTA))
    return path


def _sos(seq: int, at: float) -> bytes:
    return orjson.dumps({"ts": int(at * 1000), "seq": seq, "type": "sos",
                         "location": {"lat": 35.4151, "lon": 116.5872, "accuracy_m": 8}})


def _handle_and_close(gw, ticket_id: int, result: str, now: float) -> None:
    """The grid worker accepts, reports and closes the ticket; its SOS alert is then
    acknowledged (closing acknowledges it)."""
    def close_it(at, tx):
        for action, kw in (("accept", {}), ("report", {"result": result}), ("close", {})):
            gw.workflow.transition(tx, ticket_id, action, actor="gw-wang", now=at, **kw)

    gw.pipeline.submit_task("close", close_it, now)
    assert wait_for(lambda: gw.store.query(
        "SELECT state FROM alerts WHERE rule_id = 'wristband.sos'")[0]["state"]
        == "acknowledged", 5)


@pytest.mark.both_backends
def test_sos_over_mqtt_becomes_a_dispatched_ticket_and_a_repeat_updates_it(
    make_gateway, publisher, tmp_path, clock
):
    gw = make_gateway(workflow={"rota_file": str(_write_rota(tmp_path))})
    with gw.store.transaction() as tx:
        tx.connection.execute("INSERT INTO family_links VALUES ('R-yang', 'fam-yang-son', 'son')")

    publisher.publish("scgw/v1/wristband/WB-1001/event", _sos(1, T0))
    assert gw.pipeline.wait_processed(1, 10)
    [ticket] = gw.store.query("SELECT * FROM tickets")
    assert ticket["source"] == "alert" and ticket["category"] == "sos"
    assert ticket["state"] == "dispatched"
    assert ticket["assignee"] == "gw-wang"  # on duty for G-01, the wearer's grid, at noon
    assert (ticket["grid"], ticket["resident_id"], ticket["priority"]) == ("G-01", "R-yang",
                                                                          "urgent")
    notes = gw.store.query("SELECT audience, recipient, kind FROM notifications"
                           " WHERE ticket_id = ?", (ticket["id"],))
    assert {"audience": "family", "recipient": "fam-yang-son", "kind": "critical_ticket"} in notes
    assert {"audience": "control_room", "recipient": "control_room",
            "kind": "critical_ticket"} in notes

    clock.advance(30)
    publisher.publish("scgw/v1/wristband/WB-1001/event", _sos(2, T0 + 30))
    assert gw.pipeline.wait_processed(2, 10)
    tickets = gw.store.query("SELECT id, alert_count FROM tickets")
    assert tickets == [{"id": ticket["id"], "alert_count": 2}]
    trail = [e["action"] for e in gw.store.query(
        "SELECT action FROM ticket_events WHERE ticket_id = ? ORDER BY id", (ticket["id"],))]
    assert trail == ["collect", "dispatch", "alert_repeated"]

    # Closing the ticket acknowledges its alert (ack ≠ clear: the alert stays open, acked).
    _handle_and_close(gw, ticket["id"], "家属已接回", clock.time())
    assert gw.store.query("SELECT state FROM tickets")[0]["state"] == "closed"
    family = gw.store.query("SELECT kind FROM notifications WHERE recipient = 'fam-yang-son'")
    assert [n["kind"] for n in family] == ["critical_ticket", "ticket_feedback"]


@pytest.mark.both_backends
def test_an_sos_pressed_again_after_its_ticket_closed_opens_a_new_job(
    make_gateway, publisher, tmp_path, clock
):
    """Closing the job acknowledges the SOS alert, which stays open; the elder pressing again
    an hour later paged the control room but only wrote a line on the closed ticket, so no
    grid worker was sent (session 37's note)."""
    gw = make_gateway(workflow={"rota_file": str(_write_rota(tmp_path))})
    with gw.store.transaction() as tx:
        tx.connection.execute("INSERT INTO family_links VALUES ('R-yang', 'fam-yang-son', 'son')")
    publisher.publish("scgw/v1/wristband/WB-1001/event", _sos(1, T0))
    assert gw.pipeline.wait_processed(1, 10)
    [first] = gw.store.query("SELECT id, code FROM tickets")

    _handle_and_close(gw, first["id"], "误按，已回访", clock.time())

    clock.advance(3600)
    publisher.publish("scgw/v1/wristband/WB-1001/event", _sos(2, T0 + 3600))
    assert gw.pipeline.wait_processed(2, 10)
    [alert] = gw.store.query("SELECT id, state FROM alerts WHERE rule_id = 'wristband.sos'")
    assert alert["state"] == "active"  # one alert episode, paging again
    tickets = gw.store.query("SELECT id, state, assignee, description FROM tickets ORDER BY id")
    assert [t["state"] for t in tickets] == ["closed", "dispatched"]
    second = tickets[1]
    assert second["assignee"] == "gw-wang" and first["code"] in second["description"]
    trail = [e["action"] for e in gw.store.query(
        "SELECT action FROM ticket_events WHERE ticket_id = ? ORDER BY id", (first["id"],))]
    assert trail[-1] == "alert_reopened"
    # The console shows the alert with its live job; the closed job keeps its alert.
    listed = gw.store.query(
        "SELECT ticket_id FROM ticket_alerts WHERE alert_id = ? ORDER BY ticket_id",
        (alert["id"],))
    assert [r["ticket_id"] for r in listed] == [first["id"], second["id"]]
    with gw.store.transaction() as tx:
        assert tx.tickets.for_alert(alert["id"]).id == second["id"]
    family = gw.store.query("SELECT kind, ticket_id FROM notifications"
                            " WHERE recipient = 'fam-yang-son' ORDER BY id")
    assert family[-1] == {"kind": "critical_ticket", "ticket_id": second["id"]}

    # A third press while the new job is open is a repeat on it, not a third job.
    clock.advance(60)
    publisher.publish("scgw/v1/wristband/WB-1001/event", _sos(3, T0 + 3660))
    assert gw.pipeline.wait_processed(3, 10)
    assert len(gw.store.query("SELECT id FROM tickets")) == 2


@pytest.mark.parametrize("dismiss", [
    ("reject", {"reason": "误报：孙子按的"}),
    ("mark_duplicate", {"reason": "同一次报警", "duplicate_of": 1}),
], ids=["reject", "mark_duplicate"])
def test_an_sos_pressed_after_its_ticket_was_dismissed_sends_someone(
    make_gateway, publisher, tmp_path, clock, dismiss
):
    """A rejected (or duplicate) job left its SOS alert active and unacknowledged: the
    elder's next real press was a repeat that paged nobody and opened no job, while the band
    was told "stored" (red team round 9)."""
    gw = make_gateway(workflow={"rota_file": str(_write_rota(tmp_path))})
    publisher.publish("scgw/v1/wristband/WB-1001/event", _sos(1, T0))
    assert gw.pipeline.wait_processed(1, 10)
    [first] = gw.store.query("SELECT id, code, state FROM tickets")
    action, kw = dismiss

    def dismiss_it(at, tx):
        gw.workflow.transition(tx, first["id"], action, actor="op-chen", now=at, **kw)

    gw.pipeline.submit_task("dismiss", dismiss_it, clock.time())
    assert wait_for(lambda: gw.store.query(
        "SELECT state FROM alerts WHERE rule_id = 'wristband.sos'")[0]["state"]
        == "acknowledged", 5)

    # No press, no page: the dismissal's acknowledgement has no timeout (red team round 10:
    # a rejected false SOS came back as a new urgent job every 30 minutes).
    clock.advance(2 * 1800)
    gw.alerting.call("test_tick", lambda tx: gw.alerting.tick(clock.time(), tx))
    assert gw.store.query("SELECT state FROM alerts WHERE rule_id = 'wristband.sos'")[0][
        "state"] == "acknowledged"
    assert len(gw.store.query("SELECT id FROM tickets")) == 1

    publisher.publish("scgw/v1/wristband/WB-1001/event", _sos(2, T0 + 3600))
    assert gw.pipeline.wait_processed(2, 10)
    [alert] = gw.store.query(
        "SELECT state, escalations FROM alerts WHERE rule_id = 'wristband.sos'")
    assert alert["state"] == "active" and alert["escalations"] >= 1  # paged again
    tickets = gw.store.query("SELECT state, assignee, description FROM tickets ORDER BY id")
    assert len(tickets) == 2 and tickets[0]["state"] in ("rejected", "duplicate")
    assert tickets[1]["state"] == "dispatched" and tickets[1]["assignee"] == "gw-wang"
    assert first["code"] in tickets[1]["description"]


def test_alert_clearing_is_noted_but_does_not_close_a_handled_ticket(make_gateway, publisher,
                                                                     tmp_path, clock):
    gw = make_gateway(workflow={"rota_file": str(_write_rota(tmp_path))})
    blocked = {"ts": int(T0 * 1000), "seq": 1, "type": "fire_lane_blocked", "zone": "FL-2",
               "confidence": 0.9, "dwell_s": 130}
    publisher.publish("scgw/v1/camera/CAM-3001/event", orjson.dumps(blocked))
    assert gw.pipeline.wait_processed(1, 10)
    [ticket] = gw.store.query("SELECT id, state, assignee, category FROM tickets")
    # G-02's worker is off on Saturdays: the ticket waits in the control-room queue.
    assert ticket["category"] == "fire_lane" and ticket["state"] == "collected"

    def dispatch_and_accept(now, tx):
        gw.workflow.transition(tx, ticket["id"], "dispatch", actor="op-chen", now=now,
                               assignee="gw-zhao")
        gw.workflow.transition(tx, ticket["id"], "accept", actor="gw-zhao", now=now)

    gw.pipeline.submit_task("accept", dispatch_and_accept, clock.time())
    cleared = {"ts": int((T0 + 60) * 1000), "seq": 2, "type": "fire_lane_cleared", "zone": "FL-2"}
    clock.advance(60)
    publisher.publish("scgw/v1/camera/CAM-3001/event", orjson.dumps(cleared))
    assert gw.pipeline.wait_processed(2, 10)
    assert wait_for(lambda: gw.store.query("SELECT state FROM alerts")[0]["state"] == "cleared", 5)
    assert gw.store.query("SELECT state FROM tickets")[0]["state"] == "handling"
    actions = [e["action"] for e in gw.store.query("SELECT action FROM ticket_events ORDER BY id")]
    assert actions[-1] == "alert_cleared"


def _battery(seq: int, at: float, pct: int) -> bytes:
    return orjson.dumps({"ts": int(at * 1000), "seq": seq, "battery_pct": pct})


@pytest.mark.both_backends
def test_a_minor_alert_opens_its_ticket_only_if_still_open_after_the_grace(
    make_gateway, publisher, tmp_path, clock
):
    """A battery that dips once shows as an alert but gives nobody a job; one that stays low
    gets its maintenance ticket once the grace (300 s for minor alerts) is over, even across
    a restart of the gateway."""
    settings = {"workflow": {"rota_file": str(_write_rota(tmp_path))}}
    gw = make_gateway(**settings)
    topic = "scgw/v1/wristband/{}/telemetry"
    publisher.publish(topic.format("WB-1001"), _battery(1, T0, 12))
    publisher.publish(topic.format("WB-1002"), _battery(1, T0, 11))
    assert gw.pipeline.wait_processed(2, 10)
    alerts = gw.store.query("SELECT device_id, state FROM alerts ORDER BY device_id")
    assert alerts == [{"device_id": "WB-1001", "state": "active"},
                      {"device_id": "WB-1002", "state": "active"}]
    assert gw.store.query("SELECT id FROM tickets") == []

    clock.advance(60)
    publisher.publish(topic.format("WB-1001"), _battery(2, T0 + 60, 90))  # charged: clears
    assert gw.pipeline.wait_processed(3, 10)
    gw.pipeline.call("tick", gw.workflow.tick, clock.time())
    assert gw.store.query("SELECT id FROM tickets") == []  # WB-1002 is still within its grace

    gw.stop()
    gw = make_gateway(**settings)  # the pending ticket is not kept in memory only
    # Connected before the clock moves: 250 s without the broker is a broker-down alert of its
    # own, with its ticket (a slow reconnect on a loaded machine made two tickets here).
    assert gw.mqtt.wait_connected(10)
    gw.pipeline.call("alerts", gw.alerting.tick, clock.time())  # the broker is back, if it
    clock.advance(250)                                           # was taken for gone
    gw.pipeline.call("tick", gw.workflow.tick, clock.time())
    # The bands' tickets only: on a loaded machine the restart itself may be judged a broker
    # outage (the gateway's own alert and ticket, device `gateway`), which is not this test's.
    every = gw.store.query("SELECT id, device_id, category, created_at FROM tickets")
    bands = [t for t in every if (t["device_id"] or "").startswith("WB-")]
    assert len(bands) == 1, every
    [ticket] = bands
    assert (ticket["device_id"], ticket["created_at"]) == ("WB-1002", clock.time())
    linked = gw.store.query("SELECT a.device_id FROM ticket_alerts l JOIN alerts a"
                            " ON a.id = l.alert_id WHERE l.ticket_id = ?", (ticket["id"],))
    assert linked == [{"device_id": "WB-1002"}]
    gw.pipeline.call("tick", gw.workflow.tick, clock.time())
    assert len(gw.store.query("SELECT id FROM tickets WHERE device_id LIKE 'WB-%'")) == 1

    # Charged after its ticket opened: the clear is noted on the ticket.
    clock.advance(10)
    publisher.publish(topic.format("WB-1002"), _battery(2, T0 + 320, 90))
    assert wait_for(lambda: gw.store.query(
        "SELECT action FROM ticket_events WHERE ticket_id = ? AND action = 'alert_cleared'",
        (ticket["id"],)), 10), "the clear was not noted on the ticket"


def test_critical_and_major_alerts_open_their_ticket_at_once(make_gateway, publisher, tmp_path):
    gw = make_gateway(workflow={"rota_file": str(_write_rota(tmp_path)),
                                "ticket_grace_s": {"minor": 600}})
    publisher.publish("scgw/v1/wristband/WB-1001/event", _sos(1, T0))
    assert gw.pipeline.wait_processed(1, 10)
    assert [t["category"] for t in gw.store.query("SELECT category FROM tickets")] == ["sos"]


@pytest.mark.both_backends
def test_a_tickets_text_names_the_elder_as_the_residents_file_has_them(make_gateway, publisher,
                                                                      tmp_path, clock):
    from gateway.residents import Resident, ResidentRepository

    gw = make_gateway(workflow={"rota_file": str(_write_rota(tmp_path))})
    office = ResidentRepository(gw.store, clock)  # the API or an import, in another process
    office.upsert([Resident("R-yang", "杨大爷"), Resident("R-li", "李奶奶")])

    # Not yet picked up by the gateway's rules tick: read from the file.
    publisher.publish("scgw/v1/wristband/WB-1001/event", _sos(1, T0))
    assert gw.pipeline.wait_processed(1, 10)
    [yang] = gw.store.query("SELECT description FROM tickets WHERE resident_id = 'R-yang'")
    assert "居民 杨大爷" in yang["description"]

    # Renamed after the gateway read the file: the next tick picks the new name up.
    gw.pipeline.call("tick", gw.alerting.tick, clock.time())
    clock.advance(60)
    office.upsert([Resident("R-li", "李秀英")])
    clock.advance(1)
    gw.pipeline.call("tick", gw.alerting.tick, clock.time())
    publisher.publish("scgw/v1/wristband/WB-1002/event", _sos(1, T0 + 61))
    assert gw.pipeline.wait_processed(2, 10)
    [li] = gw.store.query("SELECT description FROM tickets WHERE resident_id = 'R-li'")
    assert "居民 李秀英" in li["description"] and "李奶奶" not in li["description"]
