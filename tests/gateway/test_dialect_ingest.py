"""Vendor formats end to end through real Mosquitto: stored rows, twins, alerts, dead letters.

A vendor's new format needs a dialect file and no Python: the first test writes one into a
temporary folder, configures the gateway with it and ingests the dialect's own examples. The
others send OwnTracks, 4G-watch JSON and Zigbee2MQTT payloads as those clients publish them.
"""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from devices import topics
from devices.dialects.examples import decode_sample
from devices.dialects.loader import load_file
from devices.vendors import builtin_codecs
from gateway.envelope import RawMessage
from gateway.hub_children import HubWills
from gateway.registry import CodecKindError, validate_config
from tests.conftest import T0, device
from tests.support.waiting import wait_for

ACME = """\
dialect: acme_meter
title: Acme door-and-battery meter (a vendor's own JSON)
kinds: [access]
topics:
  - {name: data, pattern: "acme/{id}/data"}
device_id_check: "meta.sn"
messages:
  - name: report
    when: "kind == 'report'"
    channel: telemetry
    fields:
      ts: {path: meta.time, convert: time, unit: s, required: true}
      seq: meta.n
      door_open: {path: door, table: {OPEN: true, SHUT: false}}
      battery_pct: {path: power, convert: percent}
  - name: alarm
    when: "kind == 'alarm'"
    channel: event
    event: {code: code, table: {"17": forced_open, "21": held_open}}
    fields:
      ts: {path: meta.time, convert: time, unit: s, required: true}
      seq: meta.n
      open_s: {path: secs, convert: integer}
examples:
  - name: report
    topic: acme/AM-7/data
    payload: {kind: report, meta: {sn: AM-7, time: 1795233600, n: 1}, door: OPEN,
              power: "88%", rssi: -60}
    expect: {channel: telemetry, door_open: true, battery_pct: 88, extra: {rssi: -60}}
  - name: forced
    topic: acme/AM-7/data
    payload: {kind: alarm, code: 17, meta: {sn: AM-7, time: 1795233601, n: 2}}
    expect: {channel: event, type: forced_open}
  - name: held open
    topic: acme/AM-7/data
    payload: {kind: alarm, code: "21", secs: "240", meta: {sn: AM-7, time: 1795233602, n: 3}}
    expect: {channel: event, type: held_open, open_s: 240}
  - name: unknown code
    topic: acme/AM-7/data
    payload: {kind: alarm, code: 99, meta: {sn: AM-7, time: 1795233603, n: 4}}
    reject: unknown_event_type
  - name: another meter's serial
    topic: acme/AM-7/data
    payload: {kind: report, meta: {sn: AM-8, time: 1795233604, n: 5}, door: SHUT}
    reject: schema_invalid
"""


def _device_of(codec, topic: str) -> str:
    if topic.startswith("scgw/"):
        return topics.parse(topic).device_id
    found = next(t.match(topic.split("/")) for t in codec.topics if t.match(topic.split("/")))
    return found.device_id


def test_a_new_json_format_is_a_dialect_file_and_no_python(tmp_path: Path, make_gateway,
                                                          publisher):
    folder = tmp_path / "dialects"
    folder.mkdir()
    (folder / "acme_meter.yaml").write_text(ACME, encoding="utf-8")
    codec = load_file(folder / "acme_meter.yaml")
    examples = codec.dialect.examples
    ids = {_device_of(codec, ex.topic) for ex in examples}
    gw = make_gateway([device(i, "access", codec="acme_meter", grid="G-01") for i in ids],
                      dialects={"folder": str(folder)})
    assert "acme/+/data" in gw.mqtt._filters or any(
        f.endswith("acme/+/data") for f in gw.mqtt._filters)
    for ex in examples:
        body = ex.payload if isinstance(ex.payload, str) else orjson.dumps(ex.payload)
        publisher.publish(ex.topic, body)
    assert gw.pipeline.wait_processed(len(examples), timeout=15)

    dead = [r["reason"] for r in gw.store.query("SELECT reason FROM dead_letters ORDER BY id")]
    assert dead == [ex.reject for ex in examples if ex.reject]
    [tele] = gw.store.query("SELECT data FROM telemetry")
    assert orjson.loads(tele["data"])["extra"] == {"rssi": -60}
    events = [r["type"] for r in gw.store.query("SELECT type FROM events ORDER BY id")]
    assert events == ["forced_open", "held_open"]
    assert gw.twins.get("AM-7").battery_pct == 88
    # The built-in rules fire on what the dialect produced.
    fired = {r["rule_id"] for r in gw.store.query("SELECT rule_id FROM alerts")}
    assert {"access.forced_open", "access.held_open"} <= fired


def test_registration_refuses_a_dialect_that_does_not_serve_the_kind():
    with pytest.raises(CodecKindError, match="does not decode locker"):
        validate_config({"id": "LK-9", "kind": "locker", "codec": "owntracks"})
    validate_config({"id": "OT-9", "kind": "wristband", "codec": "owntracks"})


def _alerts(gw) -> set[str]:
    return {r["rule_id"] for r in gw.store.query("SELECT rule_id FROM alerts")}


def test_owntracks_locations_transitions_and_will(make_gateway, publisher):
    gw = make_gateway([device("OT-yang", "wristband", codec="owntracks", grid="G-01",
                              resident_id="R-yang")])
    tst = int(T0)
    publisher.publish("owntracks/OT-yang/phone", orjson.dumps(
        {"_type": "location", "tid": "YD", "lat": 35.4152, "lon": 116.5871, "acc": 12,
         "alt": 41, "vel": 0, "batt": 12, "tst": tst}))
    publisher.publish("owntracks/OT-yang/phone/event", orjson.dumps(
        {"_type": "transition", "event": "leave", "desc": "Home", "lat": 35.4201,
         "lon": 116.5950, "acc": 25, "tst": tst + 30, "wtst": tst - 86400, "t": "c"}))
    publisher.publish("owntracks/OT-yang/phone", orjson.dumps(
        {"_type": "waypoints", "waypoints": []}))
    publisher.publish("owntracks/OT-yang/phone", orjson.dumps({"_type": "lwt", "tst": tst}))
    assert gw.pipeline.wait_processed(4, timeout=10)

    rows = gw.store.query("SELECT ts, data FROM telemetry ORDER BY ts")
    assert [r["ts"] for r in rows] == [T0, T0 + 30]  # `tst` seconds became the device time
    assert orjson.loads(rows[1]["data"])["extra"]["event"] == "leave"
    twin = gw.twins.get("OT-yang")
    assert (twin.lat, twin.lon, twin.battery_pct) == (35.4201, 116.595, 12)
    assert not twin.online  # the app's will
    assert "wristband.low_battery" in _alerts(gw)
    [dead] = gw.store.query("SELECT reason, device_id FROM dead_letters")
    assert (dead["reason"], dead["device_id"]) == ("schema_invalid", "OT-yang")


def test_a_4g_watch_sos_pages_and_its_fix_moves_the_twin(make_gateway, publisher):
    imei = "865028041234567"
    gw = make_gateway([device(imei, "wristband", codec="watch4g", grid="G-01",
                              resident_id="R-li")])
    publisher.publish(f"watch/{imei}/up", orjson.dumps(
        {"imei": imei, "cmd": "location", "sn": 11, "time": "2026-11-21 11:59:00",
         "lat": "35.414210", "lng": "116.587120", "acc": "20", "mode": "GPS", "bat": "85%"}))
    publisher.publish(f"watch/{imei}/up", orjson.dumps(
        {"imei": imei, "cmd": "alarm", "alarm": "SOS", "sn": 12, "time": "2026-11-21 12:00:00",
         "lat": 35414300, "lng": 116587200, "acc": 15, "mode": "GPS"}))
    publisher.publish(f"watch/{imei}/up", orjson.dumps(  # the watch resends: a duplicate
        {"imei": imei, "cmd": "alarm", "alarm": "SOS", "sn": 12, "time": "2026-11-21 12:00:00",
         "lat": 35414300, "lng": 116587200, "acc": 15, "mode": "GPS"}))
    publisher.publish("watch/865028049999999/up", orjson.dumps(
        {"imei": "865028049999999", "cmd": "link", "time": "2026-11-21 12:00:00"}))
    assert gw.pipeline.wait_processed(4, timeout=10)

    [sos] = gw.store.query("SELECT type, seq, data FROM events")
    assert (sos["type"], sos["seq"]) == ("sos", 12)
    assert orjson.loads(sos["data"])["location"]["lat"] == 35.4143
    assert "wristband.sos" in _alerts(gw)
    twin = gw.twins.get(imei)
    assert twin.battery_pct == 85 and twin.lat == 35.4143
    assert gw.metrics.value("scgw_messages_duplicate_total", kind="wristband") == 1
    [dead] = gw.store.query("SELECT reason FROM dead_letters")
    assert dead["reason"] == "unknown_device"


def test_zigbee2mqtt_door_contact_sos_button_and_availability(make_gateway, publisher):
    gw = make_gateway([device("z2m-b3-door_301", "access", codec="zigbee2mqtt", grid="G-01"),
                       device("z2m-b3-sos_302", "wristband", codec="zigbee2mqtt", grid="G-01",
                              resident_id="R-yang"),
                       device("z2m-b3-smoke_303", "smoke_detector", codec="zigbee2mqtt",
                              grid="G-01"),
                       device("WB-1001", "wristband", grid="G-01")])
    publisher.publish("zigbee2mqtt/z2m-b3/door_301", orjson.dumps(
        {"contact": False, "battery": 91, "linkquality": 132, "voltage": 2975}))
    publisher.publish("zigbee2mqtt/z2m-b3/sos_302", orjson.dumps(
        {"action": "emergency", "battery": 77, "linkquality": 90}))
    publisher.publish("zigbee2mqtt/z2m-b3/smoke_303", orjson.dumps(
        {"smoke": True, "battery": 88, "linkquality": 100}))
    publisher.publish("zigbee2mqtt/z2m-b3/door_301/availability", b'{"state":"offline"}',
                      retain=True)
    # A device of our own contract on a Zigbee2MQTT topic, and a name no hub can make.
    publisher.publish("zigbee2mqtt/z2m-b3/WB-1001", orjson.dumps({"contact": True}))
    publisher.publish("zigbee2mqtt/z2m/b3-door_301", orjson.dumps({"contact": True}))
    assert gw.pipeline.wait_processed(6, timeout=10)

    [door] = gw.store.query("SELECT device_id, ts, data FROM telemetry")
    data = orjson.loads(door["data"])
    assert (door["device_id"], data["door_open"], door["ts"]) == ("z2m-b3-door_301", True, T0)
    assert data["extra"] == {"linkquality": 132, "voltage": 2975}
    assert gw.twins.get("z2m-b3-door_301").battery_pct == 91
    assert not gw.twins.get("z2m-b3-door_301").online
    events = gw.store.query("SELECT device_id, type FROM events WHERE channel = 'event'"
                            " ORDER BY id")
    # (Two devices' urgent events: the one with fewer bytes to read goes first.)
    assert sorted((e["device_id"], e["type"]) for e in events) == [
        ("z2m-b3-smoke_303", "smoke_alarm"), ("z2m-b3-sos_302", "sos")]
    fired = _alerts(gw)
    assert "wristband.sos" in fired
    assert any(rule.startswith("smoke_detector.") for rule in fired), fired
    dead = [r["reason"] for r in gw.store.query("SELECT reason FROM dead_letters ORDER BY id")]
    assert dead == ["bad_topic", "bad_topic"]


def test_zigbee2mqtt_flag_buttons_page_and_a_test_press_is_no_fire(make_gateway, publisher):
    # Vendor round 7: an IAS SOS button's `sos: true` was stored as a reading, never paged
    # (nor from a child nobody registered), and the smoke sensor's test button paged a fire.
    gw = make_gateway([device("z2m-b3-sos_304", "wristband", codec="zigbee2mqtt", grid="G-01",
                              resident_id="R-yang"),
                       device("z2m-b3-smoke_303", "smoke_detector", codec="zigbee2mqtt",
                              grid="G-01")])
    publisher.publish("zigbee2mqtt/z2m-b3/sos_304", orjson.dumps({"sos": True, "battery": 95}))
    publisher.publish("zigbee2mqtt/z2m-b3/smoke_303", orjson.dumps(
        {"smoke": True, "test": True, "battery": 88}))
    publisher.publish("zigbee2mqtt/z2m-b3/sos_399", orjson.dumps({"emergency": True}))
    assert gw.pipeline.wait_processed(3, timeout=10)
    events = gw.store.query("SELECT device_id, type FROM events WHERE channel = 'event'"
                            " ORDER BY id")
    # (Two devices: an urgent-looking one may be taken first, each device in its order.)
    assert sorted((e["device_id"], e["type"]) for e in events) == [
        ("z2m-b3-smoke_303", "self_test"), ("z2m-b3-sos_304", "sos")]
    # The unregistered child's alarm is raised where its refusal is counted: wait for it.
    assert wait_for(lambda: "device.unregistered_alarm" in _alerts(gw), 10)
    fired = _alerts(gw)
    assert "wristband.sos" in fired
    assert not any(rule.startswith("smoke_detector.smoke_alarm") for rule in fired), fired


def test_samples_decode_without_a_gateway():
    from devices.vendors import builtin_codecs

    z2m = builtin_codecs().dialects["zigbee2mqtt"]
    out = decode_sample(z2m, "zigbee2mqtt/z2m-b3/door_301", {"contact": True}, kind="access")
    assert out.channel == "telemetry" and out.payload["door_open"] is False


def test_an_alarm_from_a_hub_child_nobody_registered_pages_the_control_room(make_gateway,
                                                                          publisher):
    # Vendor round 6: a smoke sensor paired on the hub before the vendor registered it sent
    # its alarm, and the control room got a dead letter — no alert, no ticket.
    gw = make_gateway(devices=[device("z2m-b3-door_301", "access", codec="zigbee2mqtt",
                                      grid="G-01")])
    publisher.publish("zigbee2mqtt/z2m-b3/0x00158d0004abcd12", orjson.dumps(
        {"smoke": True, "battery": 88, "linkquality": 100}))
    publisher.publish("zigbee2mqtt/z2m-b3/0x00158d0004abcd12", orjson.dumps(
        {"smoke": True, "battery": 88, "linkquality": 101}))
    publisher.publish("zigbee2mqtt/z2m-b3/0x00158d0004abcd99", orjson.dumps(
        {"smoke": False, "battery": 50}))  # a child's quiet reading raises nothing
    assert gw.pipeline.wait_processed(3, timeout=10)
    assert wait_for(lambda: [a["count"] for a in gw.store.query("SELECT count FROM alerts")]
                    == [2], 10)
    assert wait_for(lambda: len(gw.store.query("SELECT id FROM dead_letters")) == 3, 10)
    [alert] = gw.store.query("SELECT device_id, rule_id, severity, category, count, detail"
                             " FROM alerts")
    assert (alert["device_id"], alert["rule_id"], alert["severity"], alert["category"]) == (
        "hub:z2m-b3/fire_safety", "device.unregistered_alarm", "critical", "fire_safety")
    assert alert["count"] == 2
    detail = orjson.loads(alert["detail"])
    assert (detail["type"], detail["unregistered_device"]) == (
        "smoke_alarm", "z2m-b3-0x00158d0004abcd12")
    assert [r["reason"] for r in gw.store.query("SELECT reason FROM dead_letters")] == [
        "unknown_device"] * 3  # still refused: nothing is stored as a device nobody placed
    [ticket] = gw.store.query("SELECT priority FROM tickets")
    assert ticket["priority"] == "urgent"
    # A second child's fire counts on the same alert, and both stay named (red team round 7).
    publisher.publish("zigbee2mqtt/z2m-b3/0x00158d0004abcd77", orjson.dumps({"smoke": True}))
    assert wait_for(lambda: [a["count"] for a in gw.store.query("SELECT count FROM alerts")]
                    == [3], 10)
    [again] = gw.store.query("SELECT detail FROM alerts")
    assert orjson.loads(again["detail"])["unregistered_devices"] == [
        "z2m-b3-0x00158d0004abcd12", "z2m-b3-0x00158d0004abcd77"]
    # Another unregistered child's SOS is an alert of its own, not a repeat of the fire.
    publisher.publish("zigbee2mqtt/z2m-b3/0x00158d00040000aa", orjson.dumps(
        {"action": "emergency", "battery": 70}))
    assert wait_for(lambda: len(gw.store.query("SELECT id FROM alerts")) == 2, 10)
    assert sorted((a["device_id"], a["category"]) for a in gw.store.query(
        "SELECT device_id, category FROM alerts")) == [
        ("hub:z2m-b3/fire_safety", "fire_safety"), ("hub:z2m-b3/sos", "sos")]


CAMERA_PLATFORM = """\
dialect: hik_like
title: A camera platform pushing every event it has
kinds: [camera]
topics:
  - {name: alarm, pattern: "hik/{id}/alarm"}
messages:
  - name: alarm
    channel: event
    event:
      code: eventType
      table: {highAltitudeThrowing: falling_object}
      ignore: [VMD, videoloss, linedetection]
    fields:
      ts: {path: dateTime, convert: time, required: true}
      seq: activePostCount
      confidence: {path: confidence, convert: number}
examples:
  - name: motion
    topic: hik/CAM-H1/alarm
    payload: {eventType: VMD, dateTime: "2026-11-21T12:00:00+08:00", activePostCount: 1}
    reject: ignored
"""


def test_a_dialect_s_ignored_codes_are_counted_not_refused(tmp_path: Path, make_gateway,
                                                          publisher):
    # Vendor round 8: a platform's routine motion events (VMD every few seconds) were refused
    # as unknown_event_type and raised a device.refused alert and ticket for a camera that
    # works; a dialect could not say "these we do not map".
    folder = tmp_path / "dialects"
    folder.mkdir()
    (folder / "hik_like.yaml").write_text(CAMERA_PLATFORM, encoding="utf-8")
    gw = make_gateway([device("CAM-H1", "camera", codec="hik_like", grid="G-01")],
                      dialects={"folder": str(folder)})
    for n in range(1, 6):
        publisher.publish("hik/CAM-H1/alarm", orjson.dumps(
            {"eventType": "VMD", "dateTime": "2026-11-21T12:00:00+08:00",
             "activePostCount": n}))
    publisher.publish("hik/CAM-H1/alarm", orjson.dumps(
        {"eventType": "highAltitudeThrowing", "dateTime": "2026-11-21T12:00:01+08:00",
         "activePostCount": 6, "confidence": 0.93}))
    # (Waited for by what this test sent: a broker shared by the worker's tests may deliver
    # another test's retained message on a built-in dialect's topic too.)
    assert wait_for(lambda: gw.store.query("SELECT type FROM events WHERE device_id = 'CAM-H1'"
                                           " AND channel = 'event'"), 15)
    assert wait_for(lambda: gw.metrics.value("scgw_messages_ignored_total", kind="camera") == 5,
                    15)
    assert gw.store.query("SELECT reason FROM dead_letters WHERE topic LIKE 'hik/%'") == []
    assert [r["type"] for r in gw.store.query(
        "SELECT type FROM events WHERE device_id = 'CAM-H1' AND channel = 'event'")] == [
        "falling_object"]
    assert "device.refused" not in _alerts(gw)


def test_a_dialect_may_not_ignore_an_urgent_code(tmp_path: Path):
    from devices.dialects.errors import DialectError

    path = tmp_path / "hik_like.yaml"
    path.write_text(CAMERA_PLATFORM.replace("ignore: [VMD,", "ignore: [falling_object, VMD,"),
                    encoding="utf-8")
    with pytest.raises(DialectError, match="never ignored"):
        load_file(path)


def test_a_zigbee2mqtt_bridge_that_dies_takes_its_devices_offline(make_gateway, publisher):
    # Vendor round 9: a bridge that lost power (its will, `bridge/state` offline) cannot
    # publish its devices' availability; its smoke and leak sensors showed online for 25 h.
    gw = make_gateway([device("z2m-b9-smoke_1", "smoke_detector", codec="zigbee2mqtt",
                              grid="G-01"),
                       device("z2m-b9-leak_2", "leak_detector", codec="zigbee2mqtt",
                              grid="G-01"),
                       device("z2m-b8-smoke_1", "smoke_detector", codec="zigbee2mqtt",
                              grid="G-01")])
    for topic in ("zigbee2mqtt/z2m-b9/smoke_1", "zigbee2mqtt/z2m-b9/leak_2",
                  "zigbee2mqtt/z2m-b8/smoke_1"):
        publisher.publish(topic, orjson.dumps({"battery": 90, "linkquality": 100}))
    # (Each twin itself: the module's broker may deliver other tests' retained messages too.)
    assert wait_for(lambda: all(
        (twin := gw.twins.get(d)) is not None and twin.online
        for d in ("z2m-b9-smoke_1", "z2m-b9-leak_2", "z2m-b8-smoke_1")), 10)
    try:
        publisher.publish("zigbee2mqtt/z2m-b9/bridge/state", b'{"state":"offline"}',
                          retain=True)
        def stored() -> list[tuple[str, str]]:
            return [(r["device_id"], r["type"]) for r in gw.store.query(
                "SELECT device_id, type FROM events WHERE channel = 'status'"
                " ORDER BY device_id")]

        # (Waiting for the committed rows: the twins change in memory before the commit.)
        assert wait_for(lambda: len(stored()) >= 2, 10), stored()
        assert stored() == [("z2m-b9-leak_2", "offline"), ("z2m-b9-smoke_1", "offline")]
        assert not gw.twins.get("z2m-b9-smoke_1").online
        assert not gw.twins.get("z2m-b9-leak_2").online
        assert gw.twins.get("z2m-b8-smoke_1").online  # another hub's device
        assert gw.store.query("SELECT reason FROM dead_letters"
                              " WHERE topic LIKE 'zigbee2mqtt/z2m-b9/%'") == []
        # Back online: each device is online again with its own next report.
        publisher.publish("zigbee2mqtt/z2m-b9/bridge/state", b"online", retain=True)
        publisher.publish("zigbee2mqtt/z2m-b9/smoke_1", orjson.dumps({"battery": 90}))
        assert wait_for(lambda: gw.twins.get("z2m-b9-smoke_1").online, 10)
        assert not gw.twins.get("z2m-b9-leak_2").online
    finally:
        publisher.publish("zigbee2mqtt/z2m-b9/bridge/state", b"", retain=True)


def test_a_crash_looping_bridge_that_then_stays_dead_takes_its_devices_offline(
        make_gateway, publisher, clock):
    # Red team round 11: the will of a second crash within the minute was dropped for good,
    # and a lone elder's smoke sensor behind the dead bridge stayed online for 25 h.
    gw = make_gateway([device("z2m-b6-smoke_1", "smoke_detector", codec="zigbee2mqtt",
                              grid="G-01")])
    publisher.publish("zigbee2mqtt/z2m-b6/smoke_1", orjson.dumps({"battery": 90}))
    assert wait_for(lambda: (t := gw.twins.get("z2m-b6-smoke_1")) is not None and t.online, 10)
    state = "zigbee2mqtt/z2m-b6/bridge/state"
    try:
        publisher.publish(state, b'{"state":"offline"}', retain=True)  # crash 1
        assert wait_for(lambda: not gw.twins.get("z2m-b6-smoke_1").online, 10)
        publisher.publish(state, b'{"state":"online"}', retain=True)  # back
        publisher.publish("zigbee2mqtt/z2m-b6/smoke_1", orjson.dumps({"battery": 89}))
        assert wait_for(lambda: gw.twins.get("z2m-b6-smoke_1").online, 10)
        publisher.publish(state, b'{"state":"offline"}', retain=True)  # crash 2, for good
        assert wait_for(lambda: gw.hub_wills.dropped >= 1, 10)
        assert gw.twins.get("z2m-b6-smoke_1").online  # held back within the minute …
        clock.advance(65)  # … and handed out when it ends
        assert wait_for(lambda: not gw.twins.get("z2m-b6-smoke_1").online, 10)
    finally:
        publisher.publish(state, b"", retain=True)


def test_a_hub_s_will_repeated_is_handed_to_its_devices_once():
    # Red team round 10: one hub account publishing its will 5,000 times in 1.4 s became
    # 500,000 messages for its 100 children ahead of any budget; another family's SOS waited
    # 12-19 s. A will is handed out once per going offline, at most once a minute.
    children = [device(f"z2m-b7-s{i}", "smoke_detector", codec="zigbee2mqtt", grid="G-01")
                for i in range(100)]
    acked: list[RawMessage] = []
    wills = HubWills(builtin_codecs(), lambda: children, acked.extend)
    will = "zigbee2mqtt/z2m-b7/bridge/state"

    def send(payload: bytes, at: float, copies: int = 1) -> list[RawMessage]:
        return wills.expand([RawMessage(will, payload, received_at=at)] * copies)

    assert len(send(b'{"state":"offline"}', T0)) == 100
    assert send(b'{"state":"offline"}', T0 + 1, copies=5000) == []  # still offline
    assert send(b"online", T0 + 2) == []
    assert send(b"offline", T0 + 3) == []  # a crash loop: within the minute
    assert send(b"online", T0 + 70) == []
    assert len(send(b"offline", T0 + 71)) == 100  # offline again, a minute on
    assert len(acked) == 5005 and wills.dropped == 5001
    assert wills.due(T0 + 80) == []  # the will held at T0 + 3 was undone by `online`
    # A status that only mentions the word is no will (red team round 11: it was taken for
    # one, and the real will that followed for a repeat).
    assert send(b'{"state":"online","restart_reason":"recovered after offline"}', T0 + 79) == []
    assert send(b"online", T0 + 80) == [] and send(b"offline", T0 + 81) == []  # held …
    assert wills.due(T0 + 130) == []
    assert len(wills.due(T0 + 131)) == 100  # … until the minute since T0 + 71 ends
    assert wills.due(T0 + 140) == []  # once
    other = wills.expand([RawMessage("zigbee2mqtt/z2m-b7/s1", b"{}", received_at=T0)])
    assert [r.topic for r in other] == ["zigbee2mqtt/z2m-b7/s1"]  # not a will: as it came
