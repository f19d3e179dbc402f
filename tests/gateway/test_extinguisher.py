"""Smart extinguishers: the expiry date on a heartbeat becomes the asset whose reminder ticket
opens before it (灭火器过期智能提醒), and a discharge pages like a fire alarm — a vendor of
such extinguishers could not integrate at all (vendor rounds 2 and 3)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import orjson

from gateway.workflow.reminders import upsert_asset
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
    assert ticket["title"] == "灭火器 EX-1 到期提醒"  # in the users' words
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
    # reminder ticket went to no grid worker. A vendor's bench device writes no asset at all
    # (red team round 4): the community's installed devices do.
    gw = make_gateway(devices=[device("EX-1", "extinguisher")])
    soon = str(TODAY + timedelta(days=12))
    publisher.publish(f"{TOPIC}/telemetry", _heartbeat(1, soon))
    assert gw.pipeline.wait_processed(1, 10)
    assert gw.store.query("SELECT grid FROM assets") == []
    gw.registry.register([device("EX-1", "extinguisher", site="jining-renmin", building="5",
                                 unit="2", grid="G-01")])
    publisher.publish(f"{TOPIC}/telemetry", _heartbeat(2, soon))
    assert gw.pipeline.wait_processed(2, 10)
    assert gw.store.query("SELECT building, grid FROM assets") == [
        {"building": "5", "grid": "G-01"}]


def _staff_asset(gw, asset_id: str, expires_on: str, device_id: str | None = None) -> None:
    place = {"site": "jining-renmin", "building": "3", "grid": "G-01"}
    gw.pipeline.call("asset", lambda now, tx: upsert_asset(
        tx, id=asset_id, kind="fire_extinguisher", name="3号楼1单元灭火器",
        expires_on=date.fromisoformat(expires_on), now=now, place=place, device_id=device_id,
        actor="op"), gw.clock.time())


def test_a_device_named_after_a_staff_asset_does_not_take_it_over(make_gateway, publisher):
    # Red team round 4: a vendor registered an extinguisher with the id of a staff asset; its
    # heartbeat moved the asset to 2099 and out of its grid, and told the open "expired"
    # reminder it had been renewed.
    gw = make_gateway(devices=[device("EX-1", "extinguisher", site="jining-renmin",
                                      building="5", grid="G-02")])
    expired = str(TODAY - timedelta(days=3))
    _staff_asset(gw, "EX-1", expired)
    gw.pipeline.call("tick", gw.workflow.tick, gw.clock.time())
    publisher.publish(f"{TOPIC}/telemetry", _heartbeat(1, "2099-12-31"))
    assert gw.pipeline.wait_processed(1, 10)
    assets = gw.store.query("SELECT id, grid, device_id, expires_on FROM assets ORDER BY id")
    assert assets == [
        {"id": "EX-1", "grid": "G-01", "device_id": None, "expires_on": expired},
        {"id": "EX-1.device", "grid": "G-02", "device_id": "EX-1", "expires_on": "2099-12-31"}]
    # Staff using the marked id too: the cap keeps no asset rather than take one over.
    _staff_asset(gw, "EX-1.device", expired)
    gw.pipeline.call("drop", lambda now, tx: tx.assets.delete_asset("EX-1.device"),
                     gw.clock.time())
    _staff_asset(gw, "EX-1.device", expired)
    publisher.publish(f"{TOPIC}/telemetry", _heartbeat(2, "2099-12-30"))
    assert gw.pipeline.wait_processed(2, 10)
    assert {r["id"]: r["expires_on"] for r in gw.store.query(
        "SELECT id, expires_on FROM assets")} == {"EX-1": expired, "EX-1.device": expired}
    [reminder] = gw.store.query("SELECT id FROM tickets WHERE category = 'facility_expiry'")
    notes = gw.store.query("SELECT note FROM ticket_events WHERE ticket_id = ?",
                           (reminder["id"],))
    assert not any("有效期已更新" in (n["note"] or "") for n in notes)


def test_a_cap_linked_to_a_staff_asset_keeps_that_assets_date(make_gateway, publisher):
    # Red team round 4: the cap wrote a second asset under its own id; one extinguisher had
    # two records and two reminders.
    gw = make_gateway(devices=[device("EX-1", "extinguisher", site="jining-renmin",
                                      building="3", grid="G-01")])
    _staff_asset(gw, "EXT-3-1-A", str(TODAY + timedelta(days=200)), device_id="EX-1")
    soon = str(TODAY + timedelta(days=12))
    publisher.publish(f"{TOPIC}/telemetry", _heartbeat(1, soon))
    assert gw.pipeline.wait_processed(1, 10)
    assert gw.store.query("SELECT id, name, device_id, expires_on FROM assets") == [
        {"id": "EXT-3-1-A", "name": "3号楼1单元灭火器", "device_id": "EX-1",
         "expires_on": soon}]


def test_an_impossible_expiry_date_is_dropped_and_stops_no_tick(make_gateway, publisher):
    # Red team round 4: `expires_on: 0001-01-01` was stored, and every workflow tick then
    # failed on its date arithmetic (SLA escalations, reminders, grace tickets all stopped).
    # Its re-check: refusing the heartbeat lost the pressure and bracket readings with it.
    gw = make_gateway(devices=[device("EX-1", "extinguisher", site="jining-renmin",
                                      building="5", grid="G-01")])
    publisher.publish(f"{TOPIC}/telemetry", _heartbeat(1, "0001-01-01"))
    assert gw.pipeline.wait_processed(1, 10)
    assert gw.store.query("SELECT reason FROM dead_letters") == []
    [row] = gw.store.query("SELECT data FROM telemetry")
    data = orjson.loads(row["data"])
    assert "expires_on" not in data and "expires_on dropped" in data["salvaged"]["detail"]
    assert gw.store.query("SELECT id FROM assets") == []
    _staff_asset(gw, "EXT-OLD", "2000-01-01")  # the earliest a date may be
    gw.pipeline.call("tick", gw.workflow.tick, gw.clock.time())
    assert len(gw.store.query("SELECT id FROM tickets WHERE category = 'facility_expiry'")) == 1
