"""End to end over a real Mosquitto: typed rows, dead letters per reason, dedup, presence."""

from __future__ import annotations

import orjson
import pytest

from gateway.clock import ManualClock
from tests.conftest import T0
from tests.support.clients import Publisher
from tests.support.mosquitto import Mosquitto
from tests.support.waiting import wait_for

ISO_NOW = "2026-11-21T12:00:00+08:00"  # == T0


def _rows(gw, sql, args=()):
    return gw.store.query(sql, args)


@pytest.mark.both_backends
def test_wristband_telemetry_and_access_event_become_typed_rows(make_gateway, publisher):
    gw = make_gateway()
    telemetry = {
        "ts": ISO_NOW, "seq": 1, "heart_rate_bpm": 76, "spo2_pct": 97,
        "systolic_mmhg": 132, "diastolic_mmhg": 84, "glucose_mmol_l": 6.1, "battery_pct": 64,
        "location": {"lat": 35.4151, "lon": 116.5872, "accuracy_m": 6.5, "source": "gps"},
    }
    event = {"ts": int(T0 * 1000), "seq": 7, "type": "unlock", "method": "face",
             "resident_id": "R-yang"}
    publisher.publish("scgw/v1/wristband/WB-1001/telemetry", orjson.dumps(telemetry))
    publisher.publish("scgw/v1/access/AC-2001/event", orjson.dumps(event))
    assert gw.pipeline.wait_processed(2, timeout=10)

    [row] = _rows(gw, "SELECT * FROM telemetry")
    assert (row["device_id"], row["kind"], row["seq"]) == ("WB-1001", "wristband", 1)
    assert row["ts"] == T0
    assert orjson.loads(row["data"])["heart_rate_bpm"] == 76
    [ev] = _rows(gw, "SELECT * FROM events")
    assert (ev["device_id"], ev["channel"], ev["type"]) == ("AC-2001", "event", "unlock")
    assert ev["seq"] == 7

    twin = gw.twins.get("WB-1001")
    assert twin.online and twin.battery_pct == 64
    assert (twin.lat, twin.lon, twin.accuracy_m) == (35.4151, 116.5872, 6.5)
    assert gw.metrics.value("scgw_messages_accepted_total", kind="wristband",
                            channel="telemetry") == 1
    assert gw.metrics.value("scgw_messages_accepted_total", kind="access", channel="event") == 1


GOOD = orjson.dumps({"ts": ISO_NOW, "seq": 100, "heart_rate_bpm": 70})

BAD_MESSAGES = [
    ("malformed_json", "scgw/v1/wristband/WB-1001/telemetry",
     b'{"ts": "2026-11-21T12:00:00+08:00",'),
    ("schema_invalid", "scgw/v1/wristband/WB-1001/telemetry",
     orjson.dumps({"ts": ISO_NOW, "heart_rate_bpm": "fast"})),
    ("schema_invalid", "scgw/v1/wristband/WB-1001/telemetry",
     orjson.dumps({"ts": ISO_NOW, "heartrate": 70})),
    ("out_of_range", "scgw/v1/wristband/WB-1001/telemetry",
     orjson.dumps({"ts": ISO_NOW, "heart_rate_bpm": 400})),
    ("out_of_range", "scgw/v1/wristband/WB-1001/telemetry",
     orjson.dumps({"ts": ISO_NOW, "systolic_mmhg": 70, "diastolic_mmhg": 90})),
    ("unknown_device", "scgw/v1/wristband/WB-9999/telemetry", GOOD),
    ("kind_mismatch", "scgw/v1/access/WB-1001/telemetry", GOOD),
    ("oversized", "scgw/v1/wristband/WB-1001/telemetry", b" " * (64 * 1024 + 1)),
    ("future_timestamp", "scgw/v1/wristband/WB-1001/telemetry",
     orjson.dumps({"ts": int((T0 + 3600) * 1000), "heart_rate_bpm": 70})),
    ("unknown_event_type", "scgw/v1/wristband/WB-1001/event",
     orjson.dumps({"ts": ISO_NOW, "type": "explode"})),
    ("bad_topic", "scgw/v1/wristband/WB 1001!/telemetry", GOOD),
    ("unknown_kind", "scgw/v1/toaster/WB-1001/telemetry", GOOD),
]


@pytest.mark.parametrize(("reason", "topic", "payload"), BAD_MESSAGES,
                         ids=[f"{r}-{i}" for i, (r, _, _) in enumerate(BAD_MESSAGES)])
def test_bad_message_is_dead_lettered_and_the_next_one_still_lands(
    make_gateway, publisher, reason, topic, payload
):
    gw = make_gateway()
    publisher.publish(topic, payload)
    publisher.publish("scgw/v1/wristband/WB-1001/telemetry", GOOD)
    assert gw.pipeline.wait_processed(2, timeout=10)

    [dead] = _rows(gw, "SELECT * FROM dead_letters")
    assert dead["reason"] == reason
    assert dead["topic"] == topic
    assert dead["payload_size"] == len(payload)
    assert bytes(dead["payload"]) == payload[: gw.settings.limits.dead_letter_payload_bytes]
    assert dead["detail"]
    assert gw.metrics.value("scgw_messages_rejected_total", reason=reason) == 1
    others = [r for r, *_ in BAD_MESSAGES if r != reason]
    assert all(gw.metrics.value("scgw_messages_rejected_total", reason=r) == 0 for r in others)
    [good] = _rows(gw, "SELECT seq FROM telemetry")
    assert good["seq"] == 100


@pytest.mark.both_backends
def test_a_refused_flood_keeps_its_first_payloads_and_every_refusal(make_gateway, publisher,
                                                                     clock):
    # Red team round 9: each refused message kept 4 KiB for 30 days — 20 bands wrote 16 MB in
    # 3 s, about 7 GB a day per installed device within its budget.
    gw = make_gateway(limits={"dead_letter_payloads_per_hour": 3})
    bad = b'{"ts": 1, "seq": "x", "pad": "%s"}' % (b"p" * 1000)
    for _ in range(5):
        publisher.publish("scgw/v1/wristband/WB-1001/telemetry", bad)
    publisher.publish("scgw/v1/wristband/WB-1002/telemetry", bad)
    assert gw.pipeline.wait_processed(6, timeout=10)
    rows = _rows(gw, "SELECT device_id, payload, payload_size FROM dead_letters ORDER BY id")
    assert len(rows) == 6  # every refusal is on file, with its reason and size
    assert [len(bytes(r["payload"] or b"")) for r in rows if r["device_id"] == "WB-1001"] == [
        len(bad)] * 3 + [0, 0]
    assert all(r["payload_size"] == len(bad) for r in rows)
    assert [bytes(r["payload"]) for r in rows if r["device_id"] == "WB-1002"] == [bad]
    # Its refused events have a budget of their own (red team round 10: a hundred refused
    # heartbeats left the next refused alarm with nothing to investigate).
    event = b'{"ts": 1, "seq": "x", "type": "worn", "pad": "%s"}' % (b"e" * 100)
    publisher.publish("scgw/v1/wristband/WB-1001/event", event)
    assert gw.pipeline.wait_processed(7, timeout=10)
    last = _rows(gw, "SELECT payload FROM dead_letters ORDER BY id DESC LIMIT 1")[0]
    assert bytes(last["payload"]) == event
    # … and each reason too (red team round 11: a hundred refused events of one firmware bug
    # left the next refused alarm word with nothing to investigate).
    for seq in range(3):
        publisher.publish("scgw/v1/wristband/WB-1001/event",
                          b'{"ts": 1, "seq": %d, "type": "low_battery", "battery": 5}' % seq)
    odd = b'{"ts": 1, "type": "gas_leak_detected_but_broken"}'
    publisher.publish("scgw/v1/wristband/WB-1001/event", odd)
    assert gw.pipeline.wait_processed(11, timeout=10)
    last = _rows(gw, "SELECT reason, payload FROM dead_letters ORDER BY id DESC LIMIT 1")[0]
    assert (last["reason"], bytes(last["payload"])) == ("unknown_event_type", odd)
    clock.advance(3600)  # the next hour keeps payloads again
    publisher.publish("scgw/v1/wristband/WB-1001/telemetry", bad)
    assert gw.pipeline.wait_processed(12, timeout=10)
    last = _rows(gw, "SELECT payload FROM dead_letters ORDER BY id DESC LIMIT 1")[0]
    assert bytes(last["payload"]) == bad


@pytest.mark.both_backends
def test_a_device_refused_all_hour_writes_a_summary_row_a_minute(make_gateway, publisher,
                                                                 clock):
    # Red team round 10: one row per refusal was 551 rows/s, 11.6 GB a day, for 300 bands
    # each refused at its budget. Past its rows of the hour a device's refusals of a reason
    # are summed up in one row a minute; every refusal is still counted.
    gw = make_gateway(limits={"dead_letter_rows_per_hour": 3})
    bad = b'{"ts": 1, "seq": "x", "battry": 80}'
    for _ in range(10):
        publisher.publish("scgw/v1/wristband/WB-1001/telemetry", bad)
    publisher.publish("scgw/v1/wristband/WB-1001/event", b'{"ts": 1, "type": 7}')
    assert gw.pipeline.wait_processed(11, timeout=10)
    rows = _rows(gw, "SELECT topic, detail FROM dead_letters ORDER BY id")
    assert len(rows) == 4  # three rows of its own, and its event's (a budget of its own)
    assert gw.metrics.value("scgw_messages_rejected_total", reason="schema_invalid") == 10
    clock.advance(61)  # the scheduler writes the minute's summary
    assert wait_for(lambda: len(_rows(gw, "SELECT id FROM dead_letters")) == 5, 10)
    summary = _rows(gw, "SELECT device_id, reason, detail, payload, payload_size "
                        "FROM dead_letters ORDER BY id DESC LIMIT 1")[0]
    assert summary["device_id"] == "WB-1001" and summary["reason"] == "schema_invalid"
    assert summary["detail"].startswith("7 refusals (schema_invalid) between ")
    assert bytes(summary["payload"]) == bad and summary["payload_size"] == len(bad)
    # A clean stop writes what was summed up and not yet written.
    for _ in range(2):
        publisher.publish("scgw/v1/wristband/WB-1001/telemetry", bad)
    assert gw.pipeline.wait_processed(13, timeout=10)
    gw.pipeline.stop()
    last = _rows(gw, "SELECT detail FROM dead_letters ORDER BY id DESC LIMIT 1")[0]
    assert last["detail"].startswith("2 refusals (schema_invalid)")


def test_same_seq_resent_is_stored_once(make_gateway, publisher):
    gw = make_gateway()
    msg = orjson.dumps({"ts": ISO_NOW, "seq": 42, "heart_rate_bpm": 70})
    later = orjson.dumps({"ts": ISO_NOW, "seq": 42, "heart_rate_bpm": 99})  # same seq, re-sent
    for payload in (msg, msg, later):
        publisher.publish("scgw/v1/wristband/WB-1001/telemetry", payload)
    no_seq = orjson.dumps({"ts": ISO_NOW, "type": "sos"})
    publisher.publish("scgw/v1/wristband/WB-1001/event", no_seq)
    publisher.publish("scgw/v1/wristband/WB-1001/event", no_seq)
    assert gw.pipeline.wait_processed(5, timeout=10)
    rows = _rows(gw, "SELECT seq, data FROM telemetry")
    assert [r["seq"] for r in rows] == [42]
    assert orjson.loads(rows[0]["data"])["heart_rate_bpm"] == 70
    assert len(_rows(gw, "SELECT * FROM events WHERE type='sos'")) == 1
    assert gw.metrics.value("scgw_messages_duplicate_total", kind="wristband") == 3


def test_dedup_survives_restart(make_gateway, publisher):
    gw = make_gateway()
    msg = orjson.dumps({"ts": ISO_NOW, "seq": 5, "heart_rate_bpm": 70})
    publisher.publish("scgw/v1/wristband/WB-1001/telemetry", msg)
    assert gw.pipeline.wait_processed(1, timeout=10)
    gw.stop()
    gw2 = make_gateway(devices=[])
    publisher.publish("scgw/v1/wristband/WB-1001/telemetry", msg)
    assert gw2.pipeline.wait_processed(1, timeout=10)
    assert len(_rows(gw2, "SELECT * FROM telemetry")) == 1


@pytest.mark.both_backends
def test_retained_offline_will_marks_device_offline(make_gateway, mosquitto: Mosquitto):
    gw = make_gateway()
    status_topic = "scgw/v1/wristband/WB-1002/status"
    device = Publisher(mosquitto.url, client_id="WB-1002", will=(status_topic, b"offline"))
    try:
        device.publish(status_topic, b'{"state": "online", "ts": "2026-11-21T12:00:00+08:00"}',
                       retain=True)
        assert wait_for(lambda: gw.twins.get("WB-1002") and gw.twins.get("WB-1002").online, 10)
        device.drop()  # no DISCONNECT: the broker publishes the will, retained

        def states() -> list[object]:  # committed, not only in the twin held in memory
            return [r["type"] for r in _rows(
                gw, "SELECT type FROM events WHERE channel='status' ORDER BY id")]

        assert wait_for(lambda: states() == ["online", "offline"], 10), states()
        assert not gw.twins.get("WB-1002").online
        assert gw.twins.get("WB-1002").online_source == "status"
        stored = _rows(gw, "SELECT online FROM twins WHERE device_id='WB-1002'")
        assert stored == [{"online": 0}]
    finally:
        # Delete the retained will, pass or fail: a later test's gateway would count it as
        # its first message and look for its own rows too early.
        cleaner = Publisher(mosquitto.url)
        cleaner.publish(status_topic, b"", retain=True)
        cleaner.close()


def test_silent_device_goes_offline_after_its_kind_timeout(
    make_gateway, publisher, clock: ManualClock
):
    gw = make_gateway()
    publisher.publish("scgw/v1/access/AC-2001/telemetry",
                      orjson.dumps({"ts": ISO_NOW, "door_open": False}))
    publisher.publish("scgw/v1/wristband/WB-1001/telemetry", GOOD)
    assert gw.pipeline.wait_processed(2, timeout=10)
    assert gw.twins.get("AC-2001").online
    assert gw.metrics.value("scgw_devices_online", kind="access") == 1

    clock.advance(gw.settings.offline_timeout_s["access"] - 30)  # 9.5 min: still online
    clock.advance(20)
    assert gw.twins.get("AC-2001").online
    clock.advance(40)  # past 10 min; the sweep runs on its 15 s period
    assert wait_for(lambda: not gw.twins.get("AC-2001").online, 10)
    assert gw.twins.get("AC-2001").online_source == "timeout"
    assert gw.twins.get("WB-1001").online  # wristbands have 30 min
    assert wait_for(lambda: gw.metrics.value("scgw_devices_online", kind="access") == 0, 5)
    # The twin turns offline in memory inside the sweep's transaction: its row is read once
    # that committed (a loaded machine showed the gap).
    expected = [{"type": "offline", "data": '{"state":"offline","source":"timeout"}'}]
    assert wait_for(lambda: _rows(
        gw, "SELECT type, data FROM events WHERE device_id='AC-2001'") == expected, 5)


def test_stale_reading_is_stored_but_flagged(make_gateway, publisher):
    gw = make_gateway()
    old = orjson.dumps({"ts": int((T0 - 3 * 86_400) * 1000), "seq": 1, "heart_rate_bpm": 70})
    publisher.publish("scgw/v1/wristband/WB-1001/telemetry", old)
    assert gw.pipeline.wait_processed(1, timeout=10)
    assert _rows(gw, "SELECT stale FROM telemetry") == [{"stale": 1}]
    assert gw.metrics.value("scgw_messages_stale_total", kind="wristband") == 1


def test_disabled_device_is_refused(make_gateway, publisher):
    gw = make_gateway()
    gw.registry.set_status("WB-1001", "disabled")
    publisher.publish("scgw/v1/wristband/WB-1001/telemetry", GOOD)
    assert gw.pipeline.wait_processed(1, timeout=10)
    assert _rows(gw, "SELECT reason FROM dead_letters") == [{"reason": "device_disabled"}]


def test_unknown_device_can_be_auto_registered_as_pending(make_gateway, publisher):
    gw = make_gateway(auto_register_unknown=True)
    publisher.publish("scgw/v1/locker/LK-NEW/telemetry", orjson.dumps({"ts": ISO_NOW}))
    assert gw.pipeline.wait_processed(1, timeout=10)
    assert gw.registry.get("LK-NEW").status == "pending"
    assert _rows(gw, "SELECT reason FROM dead_letters") == [{"reason": "device_pending"}]
    gw.registry.set_status("LK-NEW", "active")
    publisher.publish("scgw/v1/locker/LK-NEW/telemetry", orjson.dumps({"ts": ISO_NOW, "seq": 2}))
    assert gw.pipeline.wait_processed(2, timeout=10)
    assert len(_rows(gw, "SELECT * FROM telemetry WHERE device_id='LK-NEW'")) == 1
