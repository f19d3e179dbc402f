"""A message that carries a queue of readings or events (an array, a wrapped list, one object
per line) is judged element by element: every SOS in it is stored, paged and confirmed
(vendor round 5: `[low_battery, sos]` was refused whole, the SOS never paged)."""

from __future__ import annotations

import orjson
import pytest

from gateway.batches import PARTS_MAX
from tests.conftest import STANDARD_DEVICES, T0, device
from tests.gateway.test_confirmations import Listener
from tests.support.waiting import wait_for

MS = int(T0 * 1000)
BAND = "scgw/v1/wristband/WB-1001"


def test_a_queue_of_events_pages_and_confirms_each_urgent_one(make_gateway, publisher,
                                                             mosquitto):
    gw = make_gateway()
    listener = Listener(mosquitto.port, [f"{BAND}/event/ack"])
    try:
        publisher.publish(f"{BAND}/event", orjson.dumps([
            {"ts": MS - 60_000, "seq": 1, "type": "low_battery", "battery_pct": 9},
            {"ts": MS - 30_000, "seq": 2, "type": "sos"},
            {"ts": MS - 20_000, "seq": 3, "type": "fall"}]))
        assert wait_for(lambda: len(listener.got) >= 2, 10), listener.got
        confirmed = sorted((body["seq"], body["type"], body["status"])
                           for _, body in listener.got)
    finally:
        listener.close()
    assert confirmed == [(2, "sos", "stored"), (3, "fall", "stored")]
    rows = gw.store.query("SELECT seq, type, ts FROM events WHERE device_id = 'WB-1001'"
                          " ORDER BY seq")
    assert [(r["seq"], r["type"]) for r in rows] == [(1, "low_battery"), (2, "sos"),
                                                     (3, "fall")]
    assert rows[1]["ts"] == (MS - 30_000) / 1000  # each keeps its own time
    assert {r["rule_id"] for r in gw.store.query("SELECT rule_id FROM alerts")} >= {
        "wristband.sos", "wristband.fall"}
    assert gw.store.query("SELECT reason FROM dead_letters") == []
    # The whole queue resent (its confirmation lost): every element a duplicate.
    publisher.publish(f"{BAND}/event", orjson.dumps([
        {"ts": MS - 60_000, "seq": 1, "type": "low_battery", "battery_pct": 9},
        {"ts": MS - 30_000, "seq": 2, "type": "sos"},
        {"ts": MS - 20_000, "seq": 3, "type": "fall"}]))
    assert gw.pipeline.wait_processed(2, 10)
    assert len(gw.store.query("SELECT id FROM events WHERE device_id = 'WB-1001'")) == 3


@pytest.mark.parametrize("shape", ["wrapped", "lines"])
def test_wrapped_and_line_by_line_readings_are_each_stored(make_gateway, publisher, shape):
    gw = make_gateway()
    readings = [{"seq": n, "heart_rate_bpm": 70 + n} for n in range(1, 4)]
    if shape == "wrapped":  # the wrapper's `ts` is each element's; its other fields go
        payload = orjson.dumps({"imei": "860000000000001", "ts": MS, "records": readings})
    else:
        payload = b"\n".join(orjson.dumps({"ts": MS + r["seq"], **r}) for r in readings)
    publisher.publish(f"{BAND}/telemetry", payload)
    assert gw.pipeline.wait_processed(1, 10)
    rows = gw.store.query("SELECT seq, data FROM telemetry ORDER BY seq")
    assert [(r["seq"], orjson.loads(r["data"])["heart_rate_bpm"]) for r in rows] == [
        (1, 71), (2, 72), (3, 73)]
    assert gw.store.query("SELECT reason FROM dead_letters") == []


def test_a_bad_element_is_refused_alone_and_too_many_are_read_up_to_the_limit(make_gateway,
                                                                             publisher):
    gw = make_gateway()
    publisher.publish(f"{BAND}/telemetry", orjson.dumps([
        {"ts": MS, "seq": 1, "heart_rate_bpm": 72}, {"ts": MS, "seq": 2, "battery_pct": 120}]))
    publisher.publish(f"{BAND}/telemetry", orjson.dumps(
        [{"ts": MS + n, "seq": 10 + n, "heart_rate_bpm": 70} for n in range(PARTS_MAX + 2)]))
    assert gw.pipeline.wait_processed(2, 10)
    assert len(gw.store.query("SELECT seq FROM telemetry")) == 1 + PARTS_MAX
    letters = gw.store.query("SELECT reason, detail, device_id, payload FROM dead_letters"
                             " ORDER BY id")
    assert [(r["reason"], orjson.loads(bytes(r["payload"]))) for r in letters[:1]] == [
        ("out_of_range", {"ts": MS, "seq": 2, "battery_pct": 120})]
    # What was left unread is said to the device's vendor (its dead letters, its errors).
    assert (letters[1]["reason"], letters[1]["device_id"]) == ("schema_invalid", "WB-1001")
    assert f"2 readings or events beyond the first {PARTS_MAX}" in letters[1]["detail"]


def test_queues_in_the_shapes_vendor_clouds_send(make_gateway, publisher, mosquitto):
    # Vendor round 5 re-check: a wrapper with a message type of its own, lists under
    # `dataList`/`history`/`alarms`, a null in the queue — each lost the SOS in it.
    make_gateway()
    listener = Listener(mosquitto.port, [f"{BAND}/event/ack"])
    try:
        for seq, payload in enumerate([
                {"type": "report", "msgId": 7, "dataList": [{"ts": MS, "type": "sos"}]},
                {"history": [None, {"ts": MS + 1, "type": "fall"}]},
                {"ts": MS + 2, "alarms": [{"type": "sos"}]}], start=1):
            payload = {**payload}
            key = next(k for k, v in payload.items() if isinstance(v, list))
            payload[key] = [e if e is None else {**e, "seq": seq} for e in payload[key]]
            publisher.publish(f"{BAND}/event", orjson.dumps(payload))
        assert wait_for(lambda: len(listener.got) >= 3, 10), listener.got
        confirmed = sorted((b["seq"], b["type"], b["status"]) for _, b in listener.got)
    finally:
        listener.close()
    assert confirmed == [(1, "sos", "stored"), (2, "fall", "stored"), (3, "sos", "stored")]


def test_an_sos_with_a_list_of_its_own_is_an_sos_and_a_wrapper_of_another_device_refused(
        make_gateway, publisher):
    gw = make_gateway()
    publisher.publish(f"{BAND}/event", orjson.dumps(
        {"ts": MS, "seq": 1, "type": "sos", "data": [{"cell": 4601}]}))
    # A cloud bridge publishing another band's queue on this band's login.
    publisher.publish(f"{BAND}/telemetry", orjson.dumps(
        {"imei": "WB-1002", "records": [{"ts": MS, "seq": 2, "heart_rate_bpm": 80}]}))
    assert gw.pipeline.wait_processed(2, 10)
    assert [r["type"] for r in gw.store.query("SELECT type FROM events")] == ["sos"]
    assert gw.store.query("SELECT id FROM telemetry") == []
    [letter] = gw.store.query("SELECT reason, device_id, detail FROM dead_letters")
    assert (letter["reason"], letter["device_id"]) == ("schema_invalid", "WB-1001")
    assert "names another device" in letter["detail"]


def test_an_oversized_queue_is_refused_unread_and_a_late_sos_in_a_long_one_is_read(
        make_gateway, publisher):
    # Red team round 5 re-check: a 320 KB queue was parsed whole inside the write
    # transaction (past the 64 KiB limit), and an SOS past the 100th element was lost.
    from gateway import batches
    from gateway.envelope import RawMessage

    big = RawMessage(f"{BAND}/telemetry", b"\n".join(
        orjson.dumps({"ts": MS + n, "seq": n}) for n in range(40_000)))
    assert len(big.payload) > 65_536
    assert batches.parts(big, None, 65_536) is None
    # It counts against its device's budget by its bytes (red team round 7: 58 KB messages
    # that counted as one each held the writer 85 ms apiece).
    assert batches.size(big, 65_536) >= len(big.payload) // 16_384
    gw = make_gateway()
    readings = [{"seq": n, "worn": True} for n in range(PARTS_MAX + 200)]
    publisher.publish(f"{BAND}/event", orjson.dumps(
        {"ts": MS, "records": [*readings, {"seq": 99_999, "type": "sos"}]}))
    assert gw.pipeline.wait_processed(1, 10)
    assert [r["seq"] for r in gw.store.query("SELECT seq FROM events WHERE type = 'sos'")] == [
        99_999]
    [letter] = gw.store.query("SELECT detail FROM dead_letters WHERE reason = 'schema_invalid'"
                              " AND detail LIKE '%beyond the first%'")
    assert letter["detail"].startswith("200 readings or events beyond the first")


def test_an_sos_in_the_middle_of_an_oversized_queue_is_read():
    # Red team round 7: of a queue over the limit only the first and last 1,000 elements were
    # read, and an SOS at the 1,200th of 2,500 was lost.
    from gateway import batches
    from gateway.envelope import RawMessage

    queue = [{"ts": MS + n, "seq": n, "worn": True, "steps": n} for n in range(2_500)]
    queue[1_200] = {"ts": MS, "seq": 1_200, "type": "sos"}
    raw = RawMessage(f"{BAND}/event", orjson.dumps(queue))
    assert len(raw.payload) > 65_536
    found = batches.parts(raw, None, 65_536)
    assert found is not None
    assert [orjson.loads(p.payload)["seq"] for p in found.parts] == [1_200]


def test_a_queue_over_the_size_limit_still_pages_its_sos(make_gateway, publisher, mosquitto):
    # Red team round 6: 760 queued readings and an SOS (66 KB) were refused whole as
    # oversized — the SOS never stored, paged or confirmed.
    gw = make_gateway()
    queue = [{"ts": MS - 600_000 + n, "seq": n, "type": "low_battery", "battery_pct": 9,
              "note": "x" * 40} for n in range(1, 900)]
    queue.append({"ts": MS, "seq": 5000, "type": "sos"})
    payload = orjson.dumps(queue)
    assert len(payload) > gw.settings.limits.max_payload_bytes
    listener = Listener(mosquitto.port, [f"{BAND}/event/ack"])
    try:
        publisher.publish(f"{BAND}/event", payload)
        assert wait_for(lambda: listener.got, 10)
        assert [(b["seq"], b["status"]) for _, b in listener.got] == [(5000, "stored")]
    finally:
        listener.close()
    assert [r["type"] for r in gw.store.query("SELECT type FROM events")] == ["sos"]
    assert gw.store.query("SELECT rule_id FROM alerts WHERE rule_id = 'wristband.sos'")
    [letter] = gw.store.query("SELECT reason, device_id, detail FROM dead_letters")
    assert (letter["reason"], letter["device_id"]) == ("schema_invalid", "WB-1001")
    assert "only the 1 urgent events of its 900" in letter["detail"]


def test_a_name_in_a_queue_is_heeded_only_for_its_owners_devices(make_gateway, publisher):
    # Red team round 6: another vendor registered this band's IMEI as a device id of its own,
    # and every queue naming that IMEI was refused whole — its SOS lost.
    from gateway.storage.credentials import CredentialRepository

    gw = make_gateway(devices=[*STANDARD_DEVICES, device("868120345678901", "wristband"),
                               device("WB-2001", "wristband")])
    owners = CredentialRepository(gw.store)
    owners.created("WB-1001", "acme", T0)
    owners.created("WB-1002", "acme", T0)
    owners.created("868120345678901", "evil", T0)
    publisher.publish(f"{BAND}/event", orjson.dumps(
        {"imei": "868120345678901", "dataList": [
            {"ts": MS, "seq": 1, "type": "low_battery", "battery_pct": 9},
            {"ts": MS, "seq": 2, "type": "sos"}]}))
    # Naming a sibling of the same owner: a cloud publishing WB-1002's queue on WB-1001's
    # login. Its readings are refused (they would be stored as the wrong band's); its SOS is
    # not lost (kept as the sender's, whose login the broker checked).
    publisher.publish(f"{BAND}/event", orjson.dumps(
        {"imei": "WB-1002", "dataList": [
            {"ts": MS, "seq": 3, "type": "low_battery", "battery_pct": 8},
            {"ts": MS, "seq": 4, "type": "sos"}]}))
    assert gw.pipeline.wait_processed(2, 10)
    rows = gw.store.query("SELECT seq, type FROM events WHERE device_id = 'WB-1001'"
                          " ORDER BY seq")
    assert [(r["seq"], r["type"]) for r in rows] == [(1, "low_battery"), (2, "sos"),
                                                     (4, "sos")]
    # Red team round 7: it paged as this band's elder without a word of the name. The note
    # is for staff, on the alert (red team round 11: on the stored message and the device's
    # confirmation it told any login where another device was).
    [sos] = gw.store.query("SELECT detail FROM alerts WHERE device_id = 'WB-1001'"
                           " AND rule_id = 'wristband.sos'")
    assert "names device 'WB-1002'" in orjson.loads(sos["detail"])["payload_claim"]
    [letter] = gw.store.query("SELECT device_id, detail FROM dead_letters")
    assert letter["device_id"] == "WB-1001"
    assert "names another device" in letter["detail"] and "1 urgent events were kept" in \
        letter["detail"]
    # A band staff registered (no vendor account) is not the squatter's either: its queue
    # naming the squatted IMEI is its own, readings and all.
    publisher.publish("scgw/v1/wristband/WB-2001/event",
                      orjson.dumps({"imei": "868120345678901", "dataList": [
                          {"ts": MS, "seq": 5, "type": "low_battery", "battery_pct": 7}]}))
    assert gw.pipeline.wait_processed(3, 10)
    rows = gw.store.query("SELECT seq, type FROM events WHERE device_id = 'WB-2001'")
    assert [(r["seq"], r["type"]) for r in rows] == [(5, "low_battery")]
    assert len(gw.store.query("SELECT 1 FROM dead_letters")) == 1


def test_an_alarm_flag_past_the_first_thousand_is_read():
    # Red team round 6: `"alarm": "sos"` and `"sos": true` past the limit were dropped unread
    # (a `type` spelling was kept).
    from gateway import batches
    from gateway.envelope import RawMessage

    queue = [{"ts": MS, "seq": n, "worn": True} for n in range(PARTS_MAX + 50)]
    queue += [{"ts": MS, "seq": 90_001, "alarm": "SOS"}, {"ts": MS, "seq": 90_002, "sos": True},
              {"ts": MS, "seq": 90_003, "sos": False}]
    got = batches.parts(RawMessage(f"{BAND}/telemetry", orjson.dumps(queue)), None, 1 << 20)
    late = [orjson.loads(p.payload)["seq"] for p in got.parts[PARTS_MAX:]]
    assert late == [90_001, 90_002]


@pytest.mark.parametrize("key", ["alarms", "data", "events"])
def test_a_reading_that_lists_its_alarm_is_one_message_with_its_place_and_seq(
        make_gateway, publisher, mosquitto, key):
    # Red team round 6: split as a queue, the SOS lost its location and its `seq` (confirmed
    # with `seq: null`, so the band kept resending it).
    gw = make_gateway()
    fix = {"lat": 35.4151, "lon": 116.5853, "accuracy_m": 12}
    listener = Listener(mosquitto.port, [f"{BAND}/event/ack"])
    try:
        publisher.publish(f"{BAND}/telemetry", orjson.dumps(
            {"ts": MS, "seq": 77, "location": fix, key: [{"type": "sos"}]}))
        assert wait_for(lambda: listener.got, 10)
        assert [(b["seq"], b["type"]) for _, b in listener.got] == [(77, "sos")]
    finally:
        listener.close()
    [sos] = gw.store.query("SELECT seq, data FROM events WHERE type = 'sos'")
    assert sos["seq"] == 77 and orjson.loads(sos["data"])["location"]["lat"] == 35.4151


def test_an_element_s_type_is_read_wherever_it_stands():
    # Red team round 7 re-check: `type: trapped` after an element's 64th key was dropped.
    from gateway import batches
    from gateway.envelope import RawMessage

    queue = [{"ts": MS + n, "seq": n, "worn": True, "steps": n} for n in range(2_500)]
    queue[700] = {**{f"f{k}": k for k in range(70)}, "ts": MS, "seq": 700, "type": "sos"}
    found = batches.parts(RawMessage(f"{BAND}/event", orjson.dumps(queue)), None, 65_536)
    assert found is not None and [orjson.loads(p.payload)["seq"] for p in found.parts] == [700]
