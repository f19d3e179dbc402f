"""Smart extinguishers: the expiry date on a heartbeat becomes the asset whose reminder ticket
opens before it (灭火器过期智能提醒), and a discharge pages like a fire alarm — a vendor of
such extinguishers could not integrate at all (vendor rounds 2 and 3)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson

from tests.conftest import T0, device
from tests.gateway.test_confirmations import Listener
from tests.support.waiting import wait_for

TOPIC = "scgw/v1/extinguisher/EX-1"
TODAY = datetime.fromtimestamp(T0, UTC).date()


def _heartbeat(seq: int, expires_on: str) -> bytes:
    return orjson.dumps({"ts": int(T0 * 1000) + seq, "seq": seq, "pressure_mpa": 1.2,
                         "in_place": True, "expires_on": expires_on, "battery_pct": 90})


def test_the_expiry_on_a_heartbeat_keeps_the_asset_and_its_reminder(make_gateway, publisher):
    gw = make_gateway(devices=[device("EX-1", "extinguisher", site="jining-renmin",
                                      building="5", unit="2", grid="G-01")])
    soon = str(TODAY + timedelta(days=12))
    for seq in (1, 2):  # a daily heartbeat repeats the date
        publisher.publish(f"{TOPIC}/telemetry", _heartbeat(seq, soon))
    assert gw.pipeline.wait_processed(2, 10)
    [asset] = gw.store.query("SELECT id, kind, building, unit, grid, device_id, expires_on"
                             " FROM assets")
    assert asset == {"id": "EX-1", "kind": "fire_extinguisher", "building": "5", "unit": "2",
                     "grid": "G-01", "device_id": "EX-1", "expires_on": soon}
    gw.pipeline.call("tick", gw.workflow.tick, gw.clock.time())
    [ticket] = gw.store.query("SELECT id, title, grid, description FROM tickets"
                              " WHERE category = 'facility_expiry'")
    assert ticket["grid"] == "G-01" and "还有 12 天" in ticket["description"]
    # Refilled: the new date moves the asset, and the open reminder says so.
    later = str(TODAY + timedelta(days=5 * 365))
    publisher.publish(f"{TOPIC}/telemetry", _heartbeat(3, later))
    assert gw.pipeline.wait_processed(3, 10)
    assert gw.store.query("SELECT expires_on FROM assets") == [{"expires_on": later}]
    notes = gw.store.query("SELECT note FROM ticket_events WHERE ticket_id = ?",
                           (ticket["id"],))
    assert any(f"有效期已更新为 {later}" in n["note"] for n in notes)


def test_a_discharge_pages_as_a_fire_alarm_and_is_confirmed(make_gateway, publisher,
                                                            mosquitto):
    gw = make_gateway(devices=[device("EX-1", "extinguisher", building="5", grid="G-01")])
    listener = Listener(mosquitto.port, [f"{TOPIC}/event/ack"])
    try:
        publisher.publish(f"{TOPIC}/event", orjson.dumps(
            {"ts": int(T0 * 1000), "seq": 7, "type": "discharged", "pressure_mpa": 0.1}))
        assert wait_for(lambda: listener.got, 10)
        assert listener.got[0][1]["status"] == "stored"
    finally:
        listener.close()
    [alert] = gw.store.query("SELECT rule_id, severity, category FROM alerts")
    assert alert == {"rule_id": "extinguisher.discharged", "severity": "critical",
                     "category": "fire_safety"}
    publisher.publish(f"{TOPIC}/event", orjson.dumps(
        {"ts": int(T0 * 1000) + 1, "seq": 8, "type": "low_pressure", "pressure_mpa": 0.8}))
    assert wait_for(lambda: gw.store.query(
        "SELECT category FROM alerts WHERE rule_id = 'extinguisher.low_pressure'") == [
            {"category": "fire_equipment"}], 10)


def test_an_extinguisher_installed_after_its_first_heartbeat_moves_its_asset(make_gateway,
                                                                             publisher):
    # Vendor round 3 recheck: the asset kept the empty place of its first heartbeat, so its
    # reminder ticket went to no grid worker.
    gw = make_gateway(devices=[device("EX-1", "extinguisher")])
    soon = str(TODAY + timedelta(days=12))
    publisher.publish(f"{TOPIC}/telemetry", _heartbeat(1, soon))
    assert gw.pipeline.wait_processed(1, 10)
    assert gw.store.query("SELECT grid FROM assets") == [{"grid": ""}]
    gw.registry.register([device("EX-1", "extinguisher", site="jining-renmin", building="5",
                                 unit="2", grid="G-01")])
    publisher.publish(f"{TOPIC}/telemetry", _heartbeat(2, soon))
    assert gw.pipeline.wait_processed(2, 10)
    assert gw.store.query("SELECT building, grid FROM assets") == [
        {"building": "5", "grid": "G-01"}]
