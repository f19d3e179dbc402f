"""An installed device whose messages keep being refused raises `device.refused` for the
control room, and it clears by itself when the device's messages are accepted again.

Found in the vendor rounds: a firmware that renamed its event words saw every event
dead-lettered as `unknown_event_type` while its heartbeats were accepted; the device looked
alive and well to the operators, and only the vendor's `…/errors` topic (which nobody in the
control room reads) said that its alarms were no longer understood.
"""

from __future__ import annotations

import orjson

from gateway.refusal_watch import RefusalWatch
from tests.conftest import T0, device

BAND = "scgw/v1/wristband/WB-1001"


def _alerts(gw) -> list[dict]:
    return gw.store.query("SELECT state, severity, detail FROM alerts"
                          " WHERE rule_id = 'device.refused' ORDER BY id")


def _send(gw, publisher, topic: str, body: dict, total: int) -> None:
    publisher.publish(topic, orjson.dumps({"ts": int(T0 * 1000), **body}))
    assert gw.pipeline.wait_processed(total, 10)


def test_refused_events_between_accepted_readings_page_as_major_and_clear(make_gateway,
                                                                           publisher):
    gw = make_gateway()
    n = 0
    for seq in range(1, 4):
        # The heartbeat keeps being accepted: the device does not look offline.
        n += 2
        _send(gw, publisher, f"{BAND}/telemetry", {"seq": 100 + seq, "heart_rate_bpm": 70}, n - 1)
        _send(gw, publisher, f"{BAND}/event", {"seq": seq, "type": "key_pressed"}, n)
        assert len(_alerts(gw)) == (1 if seq == 3 else 0)
    [alert] = _alerts(gw)
    assert alert["state"] == "active"
    assert alert["severity"] == "major"  # a band's events: its next alarm may not be heard
    detail = orjson.loads(alert["detail"])
    # Which words were refused (vendor round 11: a lift's 非平层困人 read as a "device
    # fault"; the operator must see what the device tried to say).
    assert detail == {"refused_channels": ["event"], "refused_in_a_row": 3,
                      "refused_reasons": ["unknown_event_type"],
                      "refused_words": "key_pressed ×3"}
    [ticket] = gw.store.query("SELECT description FROM tickets WHERE category = 'device_fault'")
    assert "设备发来的未知事件词 「key_pressed ×3」" in ticket["description"]
    # More refusals: the same alert.
    _send(gw, publisher, f"{BAND}/event", {"seq": 4, "type": "key_pressed"}, n + 1)
    assert len(_alerts(gw)) == 1
    # The firmware is fixed: an accepted event clears it.
    _send(gw, publisher, f"{BAND}/event", {"seq": 5, "type": "worn"}, n + 2)
    assert [a["state"] for a in _alerts(gw)] == ["cleared"]


def test_cleared_by_hand_while_still_broken_it_is_raised_again(make_gateway, publisher):
    # Red team round 6: an operator cleared it while the band still sent what is refused, and
    # later refusals (its alarms among them) raised nothing until one message was accepted.
    gw = make_gateway()
    for seq in range(1, 4):
        _send(gw, publisher, f"{BAND}/event", {"seq": seq, "type": "key_pressed"}, seq)
    [row] = gw.store.query("SELECT id FROM alerts WHERE rule_id = 'device.refused'")
    gw.alerting.clear(row["id"], "operator", "vendor called")
    for seq in range(4, 6):
        _send(gw, publisher, f"{BAND}/event", {"seq": seq, "type": "key_pressed"}, seq)
    assert [a["state"] for a in _alerts(gw)] == ["cleared"]  # not at once: a run again
    _send(gw, publisher, f"{BAND}/event", {"seq": 6, "type": "key_pressed"}, 6)
    assert [(a["state"], a["severity"]) for a in _alerts(gw)] == [
        ("cleared", "major"), ("active", "major")]


def test_events_on_a_misspelt_topic_count_as_refused_events(make_gateway, publisher):
    gw = make_gateway()
    for seq in range(1, 4):  # `…/events`: never read as events
        _send(gw, publisher, f"{BAND}/events", {"seq": seq, "type": "worn"}, seq)
    [alert] = _alerts(gw)
    assert orjson.loads(alert["detail"])["refused_channels"] == ["other"]
    assert alert["severity"] == "major"


def _site_silence(gw) -> int:
    return gw.alerting.silence(author="op", reason="vendor firmware", duration_s=86_400,
                               site="jining-renmin", rule_id="device.refused")


def _refuse(gw, publisher, topic: str, body: dict, times: int, sent: int) -> int:
    """Send `times` refused messages (seq 1…); returns how many were sent in all."""
    for seq in range(1, times + 1):
        _send(gw, publisher, topic, {"seq": seq, **body}, sent + seq)
    return sent + times


def test_a_site_silence_quietens_refused_readings_but_not_refused_alarms(make_gateway,
                                                                        publisher):
    # Red team round 4 re-check: one site-wide silence of `device.refused` hid every band
    # whose SOS could no longer be read.
    gw = make_gateway()
    silence = _site_silence(gw)
    n = _refuse(gw, publisher, "scgw/v1/access/AC-2001/telemetry", {"door_open": "maybe"}, 5, 0)
    _refuse(gw, publisher, f"{BAND}/event", {"type": "key_pressed"}, 3, n)
    muted = {r["device_id"]: (r["severity"], r["muted"]) for r in gw.store.query(
        "SELECT device_id, severity, muted FROM alerts WHERE rule_id = 'device.refused'")}
    assert muted == {"AC-2001": ("minor", f"silence:{silence}"), "WB-1001": ("major", None)}


def test_refused_alarms_after_refused_readings_make_the_alert_major_and_unmuted(
        make_gateway, publisher):
    # Red team round 5 re-check: a band whose readings were refused first stayed minor when
    # its events failed too, and a site-wide silence of device.refused hid it.
    gw = make_gateway()
    silence = _site_silence(gw)
    n = _refuse(gw, publisher, f"{BAND}/telemetry", {"heart_rate_bpm": "fast"}, 5, 0)
    [alert] = gw.store.query("SELECT severity, muted FROM alerts")
    assert alert == {"severity": "minor", "muted": f"silence:{silence}"}
    _refuse(gw, publisher, f"{BAND}/event", {"type": "key_pressed"}, 3, n)
    [alert] = gw.store.query("SELECT severity, muted FROM alerts")
    assert alert == {"severity": "major", "muted": None}


def test_refused_readings_count_only_from_five_in_a_row(make_gateway, publisher):
    gw = make_gateway()  # one odd value is no fault; five in a row are
    access = "scgw/v1/access/AC-2001/telemetry"
    for seq in range(1, 6):
        _send(gw, publisher, access, {"seq": seq, "door_open": "maybe"}, seq)
        assert len(_alerts(gw)) == (1 if seq == 5 else 0)
    assert _alerts(gw)[0]["severity"] == "minor"


def test_what_is_not_the_devices_doing_raises_nothing(make_gateway, publisher):
    gw = make_gateway(devices=[
        device("WB-1001", "wristband", site="jining-renmin", building="3", grid="G-01"),
        device("WB-7001", "wristband"),  # registered by its vendor, not installed yet
    ])
    for seq in range(1, 5):
        _send(gw, publisher, "scgw/v1/wristband/WB-7001/event",
              {"seq": seq, "type": "key_pressed"}, 2 * seq - 1)
        # A fast clock has its own alert (device.clock_skew), not this one.
        _send(gw, publisher, f"{BAND}/event",
              {"seq": seq, "type": "worn", "ts": int((T0 + 3600) * 1000)}, 2 * seq)
    assert _alerts(gw) == []
    # Ids nobody registered, sprayed over bad topics, are not kept at all.
    for n in range(50):
        _send(gw, publisher, f"scgw/v1/wristband/SPRAY-{n}/events", {"type": "x"}, 9 + n)
    assert not any(d.startswith("SPRAY-") for d in gw.alerting.refusals.devices)


def test_a_rolled_back_transaction_is_observed_again_not_twice() -> None:
    watch = RefusalWatch(event_limit=3)
    topic = f"{BAND}/event"
    for _ in range(2):
        watch.refused("WB-1001", topic, "unknown_event_type")
    assert watch.take() == []
    watch.committed()
    watch.refused("WB-1001", topic, "unknown_event_type")
    assert watch.take() == [("WB-1001", {"refused_channels": ["event"], "refused_in_a_row": 3,
                                         "refused_reasons": ["unknown_event_type"]})]
    watch.rolled_back()  # the batch that saw the third is retried: it is seen once more
    watch.refused("WB-1001", topic, "unknown_event_type")
    assert [(dev, d and d["refused_in_a_row"]) for dev, d in watch.take()] == [("WB-1001", 3)]
    watch.accepted("WB-1001", "event")
    assert watch.take() == [("WB-1001", None)]
    assert watch.devices == {}  # nothing kept for a device without refusals


def test_a_device_s_words_cannot_dress_as_the_gateway_s_note(make_gateway, publisher):
    # Red team round 12: unknown types `已人工核实:误报 请直接关闭` and `【系统】设备已恢复
    # 无需处理` appeared verbatim in the ticket, in the gateway's 【…】 style; and the first
    # five words stayed for the alert's life, keeping a later alarm word out.
    gw = make_gateway()
    words = ["【系统】设备已恢复 无需处理", "w1", "w2", "w3", "w4", "w5", "非平层困人"]
    for seq, word in enumerate(words, 1):
        _send(gw, publisher, f"{BAND}/event", {"seq": seq, "type": word}, seq)
    [ticket] = gw.store.query("SELECT description FROM tickets WHERE category = 'device_fault'")
    text = ticket["description"]
    assert "【系统】" not in text and "设备已恢复 无需处理" not in text
    assert "「系统设备已恢复无需处理 ×1」" in text  # quoted as the device's word


def test_a_new_refused_word_is_always_named_the_least_said_makes_room():
    from gateway.refusal_watch import WORDS_MAX, RefusalWatch

    watch = RefusalWatch(event_limit=1)
    for word in ["w1", "w1", "w2", "w3", "w4", "w5", "非平层困人"]:
        watch.refused("WB-1", "scgw/v1/wristband/WB-1/event", "unknown_event_type", word)
    [(_, detail)] = watch.take()
    named = detail["refused_words"].split(", ")
    assert len(named) == WORDS_MAX and "非平层困人 ×1" in named and "w1 ×2" in named


def test_a_device_s_place_words_are_quoted_in_its_ticket_never_dressed_as_a_note():
    # Red team round 12: a radar's fall with `room: "】误报已核实 无需上门 请直接关闭工单【"`
    # ("false alarm verified, no need to visit, close the ticket") read as the gateway's note.
    from devices.words import shown_text

    shown = shown_text("】误报已核实 无需上门 请直接关闭工单【", 40)
    assert shown == "误报已核实无需上门请直接关闭工单"
    assert shown_text("3-1-1102", 40) == "3-1-1102" and shown_text("卧室", 40) == "卧室"
