"""What door controllers report and the access kind could not say (vendor round 4): a
duress unlock (胁迫开门) pages as critical and is confirmed; a reader pried off and a fence
line cut are alerts; unlocks by phone app, WeChat, exit button, visitor code or palm are
kept (they were refused, and a lone elder who only uses the app looked inactive)."""

from __future__ import annotations

import orjson

from tests.conftest import T0
from tests.gateway.test_confirmations import Listener
from tests.support.waiting import wait_for

DOOR = "scgw/v1/access/AC-2001"


def test_a_duress_unlock_pages_as_critical_and_is_confirmed(make_gateway, publisher,
                                                            mosquitto):
    gw = make_gateway()
    listener = Listener(mosquitto.port, [f"{DOOR}/event/ack"])
    try:
        publisher.publish(f"{DOOR}/event", orjson.dumps(
            {"ts": int(T0 * 1000), "seq": 1, "type": "胁迫开门", "door": "unit-3-1"}))
        assert wait_for(lambda: listener.got, 10)
        assert (listener.got[0][1]["type"], listener.got[0][1]["status"]) == ("duress", "stored")
    finally:
        listener.close()
    [alert] = gw.store.query("SELECT rule_id, severity, category FROM alerts")
    assert alert == {"rule_id": "access.duress", "severity": "critical", "category": "security"}


def test_tamper_fault_and_every_unlock_method_are_kept(make_gateway, publisher):
    gw = make_gateway()
    bodies = [{"type": "tamper", "door": "unit-3-1", "detail": "reader cover opened"},
              {"type": "fault", "detail": "fence line cut", "zone": "north-wall"},
              *({"type": "unlock", "method": m} for m in (
                  "app", "wechat", "exit_button", "visitor", "temp_password", "palm", "iris"))]
    for seq, body in enumerate(bodies, start=1):
        publisher.publish(f"{DOOR}/event", orjson.dumps(
            {"ts": int(T0 * 1000) + seq, "seq": seq, **body}))
    assert gw.pipeline.wait_processed(len(bodies), 10)
    assert gw.store.query("SELECT reason FROM dead_letters") == []
    assert {r["rule_id"] for r in gw.store.query("SELECT rule_id FROM alerts")} == {
        "access.tamper", "access.fault"}


def test_an_ai_cameras_own_fields_are_kept_and_its_clear_clears(make_gateway, publisher):
    # Vendor round 4: `bbox`, `object`, `plate`, `snapshot_url` refused a blocked lane whole,
    # and `"bbox": null` or `dwell_s` on the clear refused it: the lane stayed "blocked".
    gw = make_gateway()
    cam = "scgw/v1/camera/CAM-3001/event"
    publisher.publish(cam, orjson.dumps(
        {"ts": int(T0 * 1000), "seq": 1, "type": "fire_lane_blocked", "zone": "FL-1",
         "confidence": 0.9, "dwell_s": 150, "bbox": [100, 220, 340, 180], "object": "car",
         "plate": "鲁H12345", "snapshot_ref": "http://192.168.10.64/snap/1.jpg"}))
    publisher.publish(cam, orjson.dumps(
        {"ts": int(T0 * 1000) + 60_000, "seq": 2, "type": "fire_lane_cleared", "zone": "FL-1",
         "bbox": None, "dwell_s": 210, "object": "car"}))
    assert gw.pipeline.wait_processed(2, 10)
    assert gw.store.query("SELECT reason FROM dead_letters") == []
    [alert] = gw.store.query("SELECT state FROM alerts WHERE rule_id LIKE 'camera.fire_lane%'")
    assert alert["state"] == "cleared"


def test_a_backlog_uploaded_newest_first_does_not_turn_the_twin_back(make_gateway, publisher,
                                                                     clock):
    # Vendor round 4: after the live heartbeat (door closed), a 2-hour-old reading of the
    # backlog (door open) became the twin's state: the console showed the door open.
    gw = make_gateway()
    now = int(clock.time() * 1000)
    for seq, (ago_s, door_open, battery) in enumerate(
            [(0, False, 80), (60, True, 81), (7140, True, 90)], start=1):
        publisher.publish(f"{DOOR}/telemetry", orjson.dumps(
            {"ts": now - ago_s * 1000, "seq": seq, "door_open": door_open,
             "battery_pct": battery}))
    assert gw.pipeline.wait_processed(3, 10)
    twin = gw.twins.get("AC-2001")
    assert twin.last_telemetry["door_open"] is False and twin.battery_pct == 80
    assert len(gw.store.query("SELECT id FROM telemetry WHERE device_id = 'AC-2001'")) == 3


def test_an_event_word_in_another_spelling_is_kept_and_a_lane_clears(make_gateway, publisher):
    # Vendor round 4 re-check: `FIRE_LANE_CLEARED` / `fireLaneCleared` were refused whole, and
    # a refused clear kept the lane blocked.
    gw = make_gateway()
    cam = "scgw/v1/camera/CAM-3001/event"
    publisher.publish(cam, orjson.dumps(
        {"ts": int(T0 * 1000), "seq": 1, "type": "fireLaneBlocked", "zone": "FL-1",
         "confidence": 0.9}))
    publisher.publish(cam, orjson.dumps(
        {"ts": int(T0 * 1000) + 60_000, "seq": 2, "type": "FIRE_LANE_CLEARED", "zone": "FL-1"}))
    assert gw.pipeline.wait_processed(2, 10)
    assert gw.store.query("SELECT reason FROM dead_letters") == []
    [alert] = gw.store.query("SELECT state FROM alerts WHERE rule_id LIKE 'camera.fire_lane%'")
    assert alert["state"] == "cleared"
