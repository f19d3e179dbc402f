"""A reading or event whose values have one plain reading in our form is kept with the
repairs named (devices/repair.py): a numbered zone, a floor written "12F", a percentage
confidence, numbers in text, an LBS fix, a link called "lte", a track point with a box.
Vendor round 4 found each refused whole; a refused clear kept a fire lane blocked."""

from __future__ import annotations

import orjson

from tests.conftest import T0, device
from tests.gateway.test_confirmations import Listener
from tests.support.waiting import wait_for

MS = int(T0 * 1000)
CAM = "scgw/v1/camera/CAM-3001"


def _events(gw, device_id: str) -> list[dict]:
    # By the device's own order: urgent events come on two sessions (the main one and the
    # event lane), and which copy is stored first is the broker's timing.
    return [orjson.loads(r["data"]) for r in gw.store.query(
        "SELECT data FROM events WHERE device_id = ? ORDER BY seq, id", (device_id,))]


def test_a_numbered_zone_blocks_and_its_numbered_clear_clears_the_lane(make_gateway, publisher,
                                                                       mosquitto):
    gw = make_gateway()
    listener = Listener(mosquitto.port, [f"{CAM}/errors"])
    try:
        publisher.publish(f"{CAM}/event", orjson.dumps(
            {"ts": MS, "seq": 1, "type": "fire_lane_blocked", "zone": 2, "confidence": 93}))
        publisher.publish(f"{CAM}/event", orjson.dumps(
            {"ts": MS + 60_000, "seq": 2, "type": "fire_lane_cleared", "zone": 2,
             "duration_s": 240}))
        assert gw.pipeline.wait_processed(2, 10)
        assert wait_for(lambda: len(listener.got) >= 2, 5), listener.got
        reports = [body for _, body in listener.got]
    finally:
        listener.close()
    assert gw.store.query("SELECT reason FROM dead_letters") == []
    blocked, cleared = _events(gw, "CAM-3001")
    assert (blocked["zone"], blocked["confidence"]) == ("2", 0.93)
    assert (cleared["zone"], cleared["dwell_s"]) == ("2", 240)
    [alert] = gw.store.query("SELECT state FROM alerts WHERE rule_id LIKE 'camera.fire_lane%'")
    assert alert["state"] == "cleared"
    # The vendor is told what was read another way, so the firmware can still be fixed.
    assert all(r["salvaged"] is True for r in reports)
    assert "zone 2 read as text" in reports[0]["detail"]
    assert "confidence 93 read as a percentage" in reports[0]["detail"]
    assert "dwell_s read from its other name" in reports[1]["detail"]


def test_a_throw_with_a_written_floor_and_boxed_track_points_keeps_them(make_gateway,
                                                                        publisher):
    gw = make_gateway()
    track = [{"t": 0.0, "x": 640, "y": 120, "w": 12, "h": 14},
             {"t": 0.4, "x": 642, "y": 300, "w": 12, "h": 15}]
    for seq, floor in enumerate(("12F", "12层", "B2"), start=1):
        publisher.publish(f"{CAM}/event", orjson.dumps(
            {"ts": MS + seq, "seq": seq, "type": "falling_object", "floor": floor,
             "confidence": 0.91, "track": track}))
    assert gw.pipeline.wait_processed(3, 10)
    events = _events(gw, "CAM-3001")
    assert [e["floor"] for e in events] == [12, 12, -2]
    assert events[0]["track"] == [{"t": 0.0, "x": 640, "y": 120}, {"t": 0.4, "x": 642, "y": 300}]
    assert "track: w, h ignored" in events[0]["salvaged"]["detail"]


def test_numbers_in_text_and_an_lbs_fix_move_the_elder_on_the_map(make_gateway, publisher):
    gw = make_gateway()
    publisher.publish("scgw/v1/wristband/WB-1001/telemetry", orjson.dumps(
        {"ts": MS, "seq": 1, "heart_rate_bpm": "71", "battery_pct": "64", "worn": "true",
         "location": {"lat": "35.4151", "lon": "116.5872", "accuracy_m": 550,
                      "source": "LBS"}}))
    assert gw.pipeline.wait_processed(1, 10)
    assert gw.store.query("SELECT reason FROM dead_letters") == []
    twin = gw.twins.get("WB-1001")
    assert (twin.lat, twin.lon, twin.battery_pct) == (35.4151, 116.5872, 64)
    [row] = gw.store.query("SELECT data FROM telemetry")
    data = orjson.loads(row["data"])
    assert (data["heart_rate_bpm"], data["worn"], data["location"]["source"]) == (71, True, "cell")


def test_a_pole_on_lte_and_a_presence_flag_keep_it_online(make_gateway, publisher):
    gw = make_gateway(devices=[device("AP-5001", "alarm_pole", site="jining-renmin",
                                      grid="G-01")])
    pole = "scgw/v1/alarm_pole/AP-5001"
    publisher.publish(f"{pole}/status", b'{"online": true}')
    publisher.publish(f"{pole}/telemetry", orjson.dumps(
        {"ts": MS, "seq": 1, "mains_v": 221.5, "network": "LTE", "signal_dbm": "-71"}))
    assert gw.pipeline.wait_processed(2, 10)
    assert gw.store.query("SELECT reason FROM dead_letters") == []
    [row] = gw.store.query("SELECT data FROM telemetry")
    assert orjson.loads(row["data"])["network"] == "4g"
    assert gw.twins.get("AP-5001").online is True


def test_what_has_no_plain_reading_is_still_refused(make_gateway, publisher):
    gw = make_gateway()
    bodies = [
        # A typo must not vanish silently: unknown fields stay refused.
        ("wristband/WB-1001/telemetry", {"ts": MS, "seq": 1, "heartrate": 71}),
        # A word is no number, and a floor "roof" is no floor.
        ("wristband/WB-1001/telemetry", {"ts": MS, "seq": 2, "heart_rate_bpm": "fast"}),
        ("camera/CAM-3001/event", {"ts": MS, "seq": 3, "type": "fire_lane_blocked",
                                   "zone": "FL-1", "confidence": 0.9, "dwell_s": "long"}),
        # Out of range after the repair is still out of range.
        ("wristband/WB-1001/telemetry", {"ts": MS, "seq": 4, "battery_pct": "120"}),
    ]
    for topic, body in bodies:
        publisher.publish(f"scgw/v1/{topic}", orjson.dumps(body))
    assert gw.pipeline.wait_processed(len(bodies), 10)
    reasons = [r["reason"] for r in gw.store.query("SELECT reason FROM dead_letters ORDER BY id")]
    assert reasons == ["schema_invalid", "schema_invalid", "schema_invalid", "schema_invalid"]


def test_a_cap_with_a_chinese_date_a_low_gauge_and_off_its_bracket_is_seen(make_gateway,
                                                                           publisher):
    # Vendor round 5: `2030年5月1日` refused the cap's whole daily report, and a gauge at
    # 0.62 MPa or `in_place: false` in it raised nothing (only events were watched).
    gw = make_gateway(devices=[device("EX-5", "extinguisher", site="jining-renmin",
                                      building="5", grid="G-01")])
    publisher.publish("scgw/v1/extinguisher/EX-5/telemetry", orjson.dumps(
        {"ts": MS, "seq": 1, "pressure_mpa": 0.62, "in_place": False,
         "expires_on": "2030年5月1日", "signal_dbm": -85.5, "battery_v": 3.02}))
    assert gw.pipeline.wait_processed(1, 10)
    assert gw.store.query("SELECT reason FROM dead_letters") == []
    [row] = gw.store.query("SELECT data FROM telemetry")
    data = orjson.loads(row["data"])
    assert (data["expires_on"], data["signal_dbm"], data["battery_v"]) == (
        "2030-05-01", -85.5, 3.02)
    rules = {r["rule_id"] for r in gw.store.query("SELECT rule_id FROM alerts")}
    assert {"extinguisher.pressure_reading_low", "extinguisher.reported_off_bracket"} <= rules
    assert "extinguisher.low_battery" not in rules  # volts are not a percentage


def test_a_detectors_hush_is_a_word_of_its_own(make_gateway, publisher):
    # Vendor round 5: 消音 had no word; three hushes read as a faulty device.
    gw = make_gateway(devices=[device("SD-5", "smoke_detector", site="jining-renmin",
                                      building="5", grid="G-01")])
    for seq in range(1, 4):
        publisher.publish("scgw/v1/smoke_detector/SD-5/event", orjson.dumps(
            {"ts": MS + seq, "seq": seq, "type": "HUSHED"}))
    assert gw.pipeline.wait_processed(3, 10)
    assert gw.store.query("SELECT reason FROM dead_letters") == []
    assert gw.store.query("SELECT rule_id FROM alerts") == []


def test_a_two_level_co_alarm_keeps_its_gas_level_and_ppm(make_gateway, publisher):
    # Vendor round 5: ppm, CH4/CO and the alarm level of a GB 15322 detector were dropped.
    gw = make_gateway(devices=[device("GD-5", "gas_detector", site="jining-renmin",
                                      building="5", grid="G-01")])
    publisher.publish("scgw/v1/gas_detector/GD-5/event", orjson.dumps(
        {"ts": MS, "seq": 1, "type": "高报", "gas": "一氧化碳", "ppm": 300, "room": "kitchen"}))
    publisher.publish("scgw/v1/gas_detector/GD-5/telemetry", orjson.dumps(
        {"ts": MS + 1, "seq": 2, "co_ppm": 35}))
    assert gw.pipeline.wait_processed(2, 10)
    [alert] = gw.store.query("SELECT rule_id, detail FROM alerts")
    assert alert["rule_id"].startswith("gas_detector.gas_alarm")
    [event] = gw.store.query("SELECT data FROM events WHERE type = 'gas_alarm'")
    data = orjson.loads(event["data"])
    assert (data["gas"], data["ppm"], data["level"]) == ("co", 300, "high")
    [reading] = gw.store.query("SELECT data FROM telemetry")
    assert orjson.loads(reading["data"])["ppm"] == 35


def test_a_detectors_other_words_and_a_quiet_alarm_flag_are_read(make_gateway, publisher):
    # Vendor round 5 re-check: `"alarm": false` refused every normal report (the detector
    # never showed online); `报警解除`, `mute`, `smoke_alarm_cleared`, `防拆` were refused.
    gw = make_gateway(devices=[device("SD-6", "smoke_detector", site="jining-renmin",
                                      building="5", grid="G-01")])
    sd = "scgw/v1/smoke_detector/SD-6"
    publisher.publish(f"{sd}/telemetry", orjson.dumps(
        {"ts": MS, "seq": 1, "alarm": False, "battery_pct": 80}))
    for seq, word in enumerate(("报警解除", "mute", "smoke_alarm_cleared", "防拆"), start=2):
        publisher.publish(f"{sd}/event", orjson.dumps({"ts": MS + seq, "seq": seq,
                                                       "type": word}))
    assert gw.pipeline.wait_processed(5, 10)
    assert gw.store.query("SELECT reason FROM dead_letters") == []
    assert [r["type"] for r in gw.store.query("SELECT type FROM events ORDER BY seq")] == [
        "alarm_cleared", "hushed", "alarm_cleared", "removed"]
    assert gw.twins.get("SD-6").battery_pct == 80
    assert [r["rule_id"] for r in gw.store.query("SELECT rule_id FROM alerts")] == [
        "smoke_detector.removed"]


def test_repairs_are_bounded_in_size():
    # Red team round 5 re-check: each candidate repair validates again, and 64 KB camera
    # events with long tracks cost 147 ms each: an uninstalled camera held an SOS 13 s.
    from devices.catalogue import CATALOGUE
    from devices.repair import REPAIR_MAX_BYTES, repaired

    cam = CATALOGUE.get("camera")
    point = {"t": 0.0, "x": 1, "y": 2, "w": 3, "h": 4}
    short = orjson.dumps({"ts": MS, "type": "falling_object", "confidence": 0.9,
                          "track": [point] * 10})
    assert repaired(cam, "event", short) is not None  # a box on ten points: left out
    long = orjson.dumps({"ts": MS, "type": "falling_object", "confidence": 0.9,
                         "track": [point] * 400})
    assert repaired(cam, "event", long) is None  # not worth a validation per point
    big = orjson.dumps({"ts": MS, "type": "fire_lane_blocked", "zone": 2, "confidence": 0.9,
                        "object": "x" * 10, "pad": "y" * REPAIR_MAX_BYTES})
    assert repaired(cam, "event", big) is None


def test_an_extinguishers_other_words_are_read():
    # Vendor round 5 re-check: `pressure_drop`, `empty` were refused.
    from devices.catalogue import CATALOGUE
    from devices.repair import repaired

    cap = CATALOGUE.get("extinguisher")
    read = {word: orjson.loads(repaired(cap, "event", orjson.dumps(
        {"ts": MS, "type": word}))[0])["type"] for word in ("pressure_drop", "empty", "离位")}
    assert read == {"pressure_drop": "low_pressure", "empty": "low_pressure", "离位": "removed"}


def test_an_event_from_a_clock_never_set_is_kept_and_alerts(make_gateway, publisher):
    # Vendor round 10: a DIY leak sensor sent epoch seconds, a local time without offset, or
    # no `ts` at all: each leak was refused, and three made a minor "device fault" at a lone
    # elder's home instead of a leak alert (its SOS button, urgent, was salvaged and paged).
    gw = make_gateway(devices=[device("LD-9", "leak_detector", site="jining-renmin",
                                      building="5", grid="G-01")])
    topic = "scgw/v1/leak_detector/LD-9/event"
    sent = [{"ts": MS // 1000, "seq": 1, "type": "leak"},
            {"ts": "2026-11-21 12:00:00", "seq": 2, "type": "leak"},
            {"type": "leak", "room": "kitchen"}]
    for body in sent:
        publisher.publish(topic, orjson.dumps(body))
    assert gw.pipeline.wait_processed(3, 10)
    publisher.publish(topic, orjson.dumps(sent[2]))  # the same bytes again: a resend
    assert gw.pipeline.wait_processed(4, 10)
    assert gw.store.query("SELECT reason FROM dead_letters") == []
    rows = gw.store.query("SELECT ts, data FROM events WHERE type = 'leak' ORDER BY id")
    assert len(rows) == 3
    notes = [orjson.loads(r["data"])["salvaged"]["detail"] for r in rows]
    assert "ts read as epoch seconds" in notes[0] and rows[0]["ts"] == MS / 1000
    assert all("time of receipt used instead" in note for note in notes[1:])
    [alert] = gw.store.query("SELECT rule_id, count FROM alerts")
    assert (alert["rule_id"], alert["count"]) == ("leak_detector.leak", 3)
    # A reading keeps its contract: a reading's time is what it says (a backlog), refused.
    publisher.publish("scgw/v1/leak_detector/LD-9/telemetry", orjson.dumps(
        {"ts": "2026-11-21 12:00:00", "seq": 4, "water_detected": True}))
    assert gw.pipeline.wait_processed(5, 10)
    assert [r["reason"] for r in gw.store.query("SELECT reason FROM dead_letters")] == [
        "schema_invalid"]
