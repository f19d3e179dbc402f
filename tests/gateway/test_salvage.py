"""An urgent event whose payload breaks the contract is still stored, paged and confirmed,
with the fault named to the operator and the vendor; a non-urgent one stays a dead letter."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from devices.catalogue import CATALOGUE
from gateway.clock import ManualClock
from gateway.envelope import RawMessage
from gateway.service import Gateway
from gateway.settings import Settings
from tests.conftest import T0, device
from tests.gateway.test_confirmations import Listener
from tests.support.waiting import wait_for

pytestmark = pytest.mark.both_backends

MS = int(T0 * 1000)
# One device per kind that has urgent events, and each of its urgent types.
URGENT = [(kind.key, word) for kind in CATALOGUE.kinds.values() for word in kind.urgent]
DEVICE_OF = {kind: f"SV-{kind.replace('_', '-').upper()}"[:30] for kind, _ in URGENT}


def test_a_faulty_sos_pages_is_confirmed_and_names_its_fault(make_gateway, publisher,
                                                             mosquitto):
    gw = make_gateway()
    base = "scgw/v1/wristband/WB-1001"
    listener = Listener(mosquitto.port, [f"{base}/event/ack", f"{base}/errors"])
    try:
        # Three vendor mistakes at once: capitals, epoch seconds, a location without accuracy.
        sos = orjson.dumps({"ts": MS // 1000, "seq": 77, "type": "SOS",
                            "location": {"lat": 35.41, "lon": 116.58}})
        publisher.publish(f"{base}/event", sos)
        assert wait_for(lambda: len(listener.got) >= 2, 5), listener.got
        by_topic = dict(listener.got)
        ack = by_topic[f"{base}/event/ack"]
        assert (ack["seq"], ack["type"], ack["status"]) == (77, "sos", "stored")
        assert ack["ts"] == MS // 1000 * 1000  # the seconds read as seconds
        assert "location dropped" in ack["salvaged"]
        report = by_topic[f"{base}/errors"]
        # The refusal it escaped is the first fault found (the capitals); all are listed.
        assert (report["reason"], report["seq"], report["salvaged"]) == (
            "unknown_event_type", 77, True)

        alerts = gw.store.query("SELECT rule_id, state, detail FROM alerts")
        assert [(a["rule_id"], a["state"]) for a in alerts] == [("wristband.sos", "active")]
        problem = orjson.loads(alerts[0]["detail"])["payload_problem"]
        assert "epoch seconds" in problem and "location" in problem
        rows = gw.store.query("SELECT seq, data FROM events WHERE type = 'sos'")
        assert [r["seq"] for r in rows] == [77]
        assert orjson.loads(rows[0]["data"])["salvaged"]["reason"] == "unknown_event_type"
        assert gw.store.query("SELECT id FROM dead_letters") == []
        assert gw.metrics.value("scgw_messages_salvaged_total",
                                reason="unknown_event_type") == 1
        tickets = gw.store.query("SELECT category, priority FROM tickets")
        assert [(t["category"], t["priority"]) for t in tickets] == [("sos", "urgent")]

        # The band missed the confirmation and resends: confirmed again, stored once.
        publisher.publish(f"{base}/event", sos)

        def acks() -> list[dict]:
            return [body for topic, body in listener.got if topic.endswith("/event/ack")]

        assert wait_for(lambda: len(acks()) >= 2, 5), listener.got
        assert [a["status"] for a in acks()] == ["stored", "duplicate"]
        assert "location dropped" in acks()[1]["salvaged"]
        assert len(gw.store.query("SELECT id FROM events WHERE type = 'sos'")) == 1
    finally:
        listener.close()


@pytest.fixture
def gateway(tmp_path: Path, database_url: str) -> Iterator[Gateway]:
    gw = Gateway(Settings(broker={"url": "mqtt://127.0.0.1:1"},
                          database={"url": database_url}, log_json=False),
                 clock=ManualClock(T0))
    gw.registry.register([device(d, k, grid="G-01") for k, d in DEVICE_OF.items()])
    gw.start(connect=False)
    yield gw
    gw.stop()


FAULTS = {
    "unknown field": lambda body: {**body, "firmware": "2.1"},
    "ts without offset": lambda body: {**body, "ts": "2026-11-21T12:00:00"},
    "ts missing": lambda body: {k: v for k, v in body.items() if k != "ts"},
    "seq as text": lambda body: {**body, "seq": str(body["seq"])},
    "type in capitals": lambda body: {**body, "type": body["type"].upper()},
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_every_urgent_type_of_every_kind_survives_each_fault(gateway, fault):
    mutate = FAULTS[fault]
    batch = [RawMessage(f"scgw/v1/{kind}/{DEVICE_OF[kind]}/event",
                        orjson.dumps(mutate({"ts": MS, "seq": n, "type": word})),
                        received_at=T0)
             for n, (kind, word) in enumerate(URGENT, start=1)]
    gateway.pipeline.process_batch(batch)
    stored = {(r["device_id"], r["type"]) for r in gateway.store.query(
        "SELECT device_id, type FROM events WHERE channel = 'event'")}
    assert stored == {(DEVICE_OF[kind], word) for kind, word in URGENT}
    assert gateway.store.query("SELECT reason, detail FROM dead_letters") == []
    # Each one paged: an alert is open for every device that sent one.
    paged = {r["device_id"] for r in gateway.store.query("SELECT device_id FROM alerts")}
    assert paged == set(DEVICE_OF.values())


def test_a_faulty_event_that_is_not_urgent_is_still_refused(gateway):
    worn = {"ts": MS, "seq": 1, "type": "worn", "firmware": "2.1"}
    unlock = {"ts": MS, "seq": 2, "type": "unlock", "method": "card", "operator": "A-17"}
    gateway.pipeline.process_batch([
        RawMessage(f"scgw/v1/wristband/{DEVICE_OF['wristband']}/event", orjson.dumps(worn),
                   received_at=T0),
        RawMessage(f"scgw/v1/access/{DEVICE_OF['access']}/event", orjson.dumps(unlock),
                   received_at=T0)])
    assert sorted(r["reason"] for r in gateway.store.query(
        "SELECT reason FROM dead_letters")) == ["schema_invalid", "schema_invalid"]
    assert gateway.store.query("SELECT id FROM events WHERE channel = 'event'") == []
    # Only its time is read as urgent events' is (vendor round 10): a `ts` without an
    # offset is the time of receipt, the event kept and the repair said.
    late = {"ts": "2026-11-21T12:00:00", "seq": 3, "type": "unlock", "method": "card"}
    gateway.pipeline.process_batch([RawMessage(
        f"scgw/v1/access/{DEVICE_OF['access']}/event", orjson.dumps(late), received_at=T0)])
    [kept] = gateway.store.query("SELECT ts, data FROM events WHERE channel = 'event'")
    assert kept["ts"] == T0
    assert "time of receipt used instead" in orjson.loads(kept["data"])["salvaged"]["detail"]


def test_an_urgent_type_in_another_spelling_or_word_pages(gateway):
    # Vendor round 2: an alarm pole's `"sos"` or `"button-pressed"`, a smoke detector's
    # `"fire_alarm"`, a camera's `"high_altitude_throwing"` were refused with no confirmation
    # and no alert. Each kind declares the words firmware uses for its urgent types.
    # Vendor round 3: camelCase (`smokeAlarm`, `sosAlarm`) was still refused.
    said = {"alarm_pole": ["sos", "Button-Pressed", "button pressed"],
            "smoke_detector": ["fire_alarm", "smokeAlarm"], "gas_detector": ["Gas-Leak",
                                                                            "gasAlarm"],
            "camera": ["high_altitude_throwing"], "wristband": ["Emergency", "fall-down",
                                                                "sosAlarm"],
            "access": ["door_forced"]}
    raws = [RawMessage(f"scgw/v1/{kind}/{DEVICE_OF[kind]}/event", orjson.dumps(
        {"ts": MS, "seq": 100 + n, "type": word}), received_at=T0)
        for kind, words in said.items() for n, word in enumerate(words)]
    gateway.pipeline.process_batch(raws)
    rows = gateway.store.query("SELECT type, data FROM events WHERE channel = 'event'")
    assert sorted(r["type"] for r in rows) == sorted(
        ["button_pressed"] * 3 + ["smoke_alarm"] * 2 + ["gas_alarm"] * 2
        + ["falling_object", "sos", "fall", "sos", "forced_open"])
    assert all("read as" in orjson.loads(r["data"])["salvaged"]["detail"] for r in rows)
    assert gateway.store.query("SELECT id FROM dead_letters") == []
    # A word of the kind's own that is not urgent is kept under that word — never as an
    # urgent one (vendor round 4 re-check: a refused `FIRE_LANE_CLEARED` kept a lane
    # blocked); no word it knows stays refused.
    gateway.pipeline.process_batch([RawMessage(
        f"scgw/v1/alarm_pole/{DEVICE_OF['alarm_pole']}/event",
        orjson.dumps({"ts": MS, "seq": 200 + n, "type": word}), received_at=T0)
        for n, word in enumerate(["Tam-per", "dance"])])
    assert [r["reason"] for r in gateway.store.query("SELECT reason FROM dead_letters")] == [
        "unknown_event_type"]
    assert len(gateway.store.query("SELECT id FROM events WHERE type = 'tamper'")) == 1


def test_a_blocked_fire_lane_with_a_faulty_picture_is_kept_without_it(gateway):
    # Vendor round 2: a non-urgent `fire_lane_blocked` whose optional snapshot had MIME line
    # breaks, a `data:` prefix or was too long was refused whole: the lane never reported.
    topic = f"scgw/v1/camera/{DEVICE_OF['camera']}/event"
    pictures = ["/9j/AAAA\nBBBB", "data:image/jpeg;base64,/9j/AAAA", "/9j/" + "A" * 57_000]
    gateway.pipeline.process_batch([RawMessage(topic, orjson.dumps(
        {"ts": MS, "seq": 400 + n, "type": "fire_lane_blocked", "zone": "FL-1",
         "confidence": 0.9, "dwell_s": 130, "snapshot_jpeg_b64": picture}), received_at=T0)
        for n, picture in enumerate(pictures)])
    rows = gateway.store.query("SELECT type, data FROM events WHERE channel = 'event'")
    assert [r["type"] for r in rows] == ["fire_lane_blocked"] * 3
    for row in rows:
        data = orjson.loads(row["data"])
        assert "snapshot_jpeg_b64" not in data and data["zone"] == "FL-1"
        assert "snapshot_jpeg_b64 dropped" in data["salvaged"]["detail"]
    # Any other fault still refuses the event.
    gateway.pipeline.process_batch([RawMessage(topic, orjson.dumps(
        {"ts": MS, "seq": 410, "type": "fire_lane_blocked", "confidence": 0.9,
         "snapshot_jpeg_b64": "data:x"}), received_at=T0)])
    assert [r["reason"] for r in gateway.store.query("SELECT reason FROM dead_letters")] == [
        "schema_invalid"]


def test_any_event_from_a_clock_reset_to_its_default_is_taken_at_receipt(gateway):
    # Vendor round 2: a locker back from a power cut at 2000-01-01 with `seq` restarted sent
    # `tamper`: stored stale and muted; after the next power cut its `tamper` (same seq, same
    # default time, another detail) was swallowed as a resend.
    topic = f"scgw/v1/alarm_pole/{DEVICE_OF['alarm_pole']}/event"
    default = "2000-01-01T12:00:00+08:00"
    gateway.pipeline.process_batch([RawMessage(topic, orjson.dumps(
        {"ts": default, "seq": 1, "type": "tamper", "detail": "cover opened"}),
        received_at=T0)])
    gateway.pipeline.process_batch([RawMessage(topic, orjson.dumps(
        {"ts": default, "seq": 1, "type": "tamper", "detail": "cable cut"}),
        received_at=T0 + 60)])
    rows = gateway.store.query(
        "SELECT ts, stale, data FROM events WHERE channel = 'event' ORDER BY ts")
    assert [(r["ts"], r["stale"]) for r in rows] == [(T0, 0), (T0 + 60, 0)]
    assert all("clock looks unset" in orjson.loads(r["data"])["salvaged"]["detail"]
               for r in rows)


def test_a_confidence_in_percent_is_read_as_a_fraction(gateway):
    # Vendor round 2: `"confidence": 93` on a falling object was dropped and stood in as 0.0.
    gateway.pipeline.process_batch([RawMessage(
        f"scgw/v1/camera/{DEVICE_OF['camera']}/event", orjson.dumps(
            {"ts": MS, "seq": 300, "type": "falling_object", "confidence": 93, "floor": 9}),
        received_at=T0)])
    [row] = gateway.store.query("SELECT data FROM events WHERE channel = 'event'")
    data = orjson.loads(row["data"])
    assert data["confidence"] == 0.93 and "percentage" in data["salvaged"]["detail"]


def test_a_numbered_door_or_zone_is_read_as_its_text_never_as_the_default(gateway):
    # Vendor round 4: `"door": 2` was dropped and stored as the default "main" (the guards
    # were sent to the main door); `"zone": 3` became "unknown".
    topic = f"scgw/v1/access/{DEVICE_OF['access']}/event"
    gateway.pipeline.process_batch([
        RawMessage(topic, orjson.dumps({"ts": MS, "seq": 1, "type": "forced_open", "door": 2}),
                   received_at=T0),
        RawMessage(topic, orjson.dumps({"ts": MS + 1, "seq": 2, "type": "fence_intrusion",
                                        "zone": 3}), received_at=T0),
        RawMessage(topic, orjson.dumps({"ts": MS + 2, "seq": 3, "type": "forced_open",
                                        "door": {"id": 4}}), received_at=T0)])
    rows = gateway.store.query("SELECT data FROM events WHERE channel = 'event' ORDER BY id")
    said = [orjson.loads(r["data"]) for r in rows]
    assert (said[0]["door"], said[1]["zone"], said[2]["door"]) == ("2", "3", "unknown")
    assert "door 2 read as text" in said[0]["salvaged"]["detail"]


def test_an_sos_in_c_printf_numbers_or_broken_json_still_pages(gateway):
    # Red team round 2: `nan`, `-nan`, `inf` (printf of a GPS without a fix), a number of
    # 5,000 digits, a trailing comma, single quotes, a buffer cut short — each a dead letter
    # only, though the bytes plainly said "type": "sos".
    topic = f"scgw/v1/wristband/{DEVICE_OF['wristband']}/event"
    payloads = [
        b'{"ts": %d, "seq": 1, "type": "sos", "location": {"lat": nan, "lon": 116.5, '
        b'"accuracy_m": 5}}' % MS,
        b'{"ts": %d, "seq": 2, "type": "sos", "location": {"lat": -nan, "lon": 116.5}}' % MS,
        b'{"ts": %d, "seq": 3, "type": "fall", "confidence": inf}' % MS,
        b'{"ts": %d, "seq": 4, "type": "sos", "x": %s}' % (MS, b"9" * 5000),
        b'{"ts": %d, "seq": 5, "type": "sos",}' % MS,
        b"{'ts': %d, 'seq': 6, 'type': 'sos'}" % MS,
        b'{"ts": %d, "seq": 7, "type": "sos", "loc' % MS,
        b'{type: "fall", seq: 8}',
    ]
    gateway.pipeline.process_batch([RawMessage(topic, p, received_at=T0 + n)
                                    for n, p in enumerate(payloads)])
    assert gateway.store.query("SELECT id FROM dead_letters") == []
    rows = gateway.store.query("SELECT type, seq, data FROM events WHERE channel = 'event'")
    assert sorted(r["type"] for r in rows) == ["fall", "fall"] + ["sos"] * 6
    # What could be read was kept (the seq of the printf cases); the unreadable ones carry
    # only their type, at the time of receipt, and say so.
    assert {r["seq"] for r in rows} >= {1, 2, 3, 4, 5}  # a trailing comma is read past too
    assert sum("only its type" in r["data"] for r in rows) == 3


@pytest.mark.parametrize(("kind", "channel", "body", "urgent"), [
    ("wristband", "telemetry", '"sos":1,"ssid":"TP-LINK_\\ud83d"', "sos"),
    ("wristband", "telemetry", '"alarm":"sos","nick":"\\ud83d"', "sos"),
    ("wristband", "event", '"type":"sos","\\ud83d":1', "sos"),
    ("smoke_detector", "telemetry", '"alarm":1,"temp_c":NaN,"iccid":89860318760123456789',
     "smoke_alarm"),
    ("gas_detector", "telemetry", '"gas_alarm":1,"lel":NaN,"iccid":89860318760123456789',
     "gas_alarm"),
    ("wristband", "telemetry", '"sos":1,"iccid":89860318760123456789,', "sos"),
    ("wristband", "telemetry", '"sos":1,"iccid":-89860318760123456789', "sos"),
])
def test_an_alarm_beside_text_or_a_number_no_encoder_writes_pages(gateway, kind, channel,
                                                                  body, urgent):
    # Red team round 8: a lone surrogate (an emoji cut in an SSID) or an ICCID sent as a
    # number past 64 bits, read leniently, could not be written again: an internal_error
    # dead letter, no page, no confirmation — and the same again at every resend.
    payload = f'{{"ts":{MS},"seq":31,{body}}}'.encode()
    gateway.pipeline.process_batch([RawMessage(f"scgw/v1/{kind}/{DEVICE_OF[kind]}/{channel}",
                                               payload, received_at=T0)])
    assert gateway.store.query("SELECT reason FROM dead_letters") == []
    assert [r["type"] for r in gateway.store.query(
        "SELECT type FROM events WHERE channel = 'event'")] == [urgent]


@pytest.mark.parametrize("channel", ["event", "telemetry"])
@pytest.mark.parametrize("shape", [
    "nul padded", "nul padded fall", "type as a list", "type as an object", "double encoded",
    "utf-16", "utf-16-le", "utf-16-be", "utf-16 wide nul", "utf-16-le wide nul",
    "utf-16-be wide nul", "utf-16 one nul", "utf-16-le padded", "utf-16-le leading space",
    "utf-16-le json string", "utf-16-be leading newline", "utf-32", "utf-8 bom utf-16-le"])
def test_an_sos_in_a_shape_firmware_writes_pages(gateway, channel, shape):
    # Red team round 8: a C buffer's NUL padding, `"type": ["sos"]`, `{"name": "sos"}`, the
    # whole object as a JSON string (a cloud rule engine's), UTF-16 text — each SOS lost.
    body = {"ts": MS, "seq": 41, "type": "fall" if "fall" in shape else "sos"}
    if shape.startswith("nul padded"):
        body["type"] += "\u0000" * 5
    elif shape == "type as a list":
        body["type"] = ["sos"]
    elif shape == "type as an object":
        body["type"] = {"name": "sos"}
    payload = orjson.dumps(body)
    if shape == "double encoded":
        payload = orjson.dumps(payload.decode())
    elif shape.startswith(("utf-16", "utf-32", "utf-8 bom")):
        # Red team round 9: a wide terminator (`wcslen + 1`), a fixed buffer's padding, a
        # lone NUL byte, whitespace or a JSON string first without a mark, UTF-32, a UTF-8
        # mark before UTF-16 — each SOS lost.
        codec = shape.split()[-1] if shape.startswith("utf-8 bom") else shape.split()[0]
        text = payload.decode()
        if "json string" in shape:
            text = orjson.dumps(text).decode()
        elif "leading space" in shape:
            text = " " + text
        elif "leading newline" in shape:
            text = "\n" + text
        payload = text.encode(codec)
        if "wide nul" in shape:
            payload += b"\x00\x00"
        elif "one nul" in shape:
            payload += b"\x00"
        elif "padded" in shape:
            payload = payload.ljust(256, b"\x00")
        if shape.startswith("utf-8 bom"):
            payload = b"\xef\xbb\xbf" + payload
    topic = f"scgw/v1/wristband/{DEVICE_OF['wristband']}/{channel}"
    gateway.pipeline.process_batch([RawMessage(topic, payload, received_at=T0)])
    assert gateway.store.query("SELECT reason FROM dead_letters") == []
    meant = "fall" if "fall" in shape else "sos"
    assert [(r["type"], r["seq"]) for r in gateway.store.query(
        "SELECT type, seq FROM events WHERE channel = 'event'")] == [(meant, 41)]


def test_what_cannot_be_read_as_an_urgent_event_stays_a_dead_letter(gateway):
    topic = f"scgw/v1/wristband/{DEVICE_OF['wristband']}/event"
    # (`{"type": ["sos"]}` pages since red team round 8, as `{"event": ["sos"]}` did.)
    payloads = [b'["sos"]', b'{"type": "s0s", "ts": %d}' % MS,
                b'{"type": "worn", "note": "sos", ', b'sos']
    gateway.pipeline.process_batch([RawMessage(topic, p, received_at=T0) for p in payloads])
    assert len(gateway.store.query("SELECT id FROM dead_letters")) == len(payloads)
    # No SOS; only the control room's note that this band's events keep being refused.
    assert [r["rule_id"] for r in gateway.store.query("SELECT rule_id FROM alerts")] == [
        "device.refused"]


@pytest.mark.parametrize("body", [
    {"seq": 7, "type": "sos"},  # no ts
    {"seq": 7, "type": "sos", "ts": "2026-11-21T12:00:00"},  # no offset
    {"type": "sos"},  # neither seq nor ts
], ids=["no ts", "ts without offset", "no seq, no ts"])
def test_a_resend_of_an_sos_salvaged_with_its_receipt_time_is_a_duplicate(gateway, body):
    # The resend arrives later, so the receipt time that stands in for its `ts` differs: it
    # was stored a second time and confirmed "stored" again.
    topic = f"scgw/v1/wristband/{DEVICE_OF['wristband']}/event"
    payload = orjson.dumps(body)
    gateway.pipeline.process_batch([RawMessage(topic, payload, received_at=T0)])
    gateway.pipeline.process_batch([RawMessage(topic, payload, received_at=T0 + 5),
                                    RawMessage(topic, payload, received_at=T0 + 6)])
    assert len(gateway.store.query("SELECT id FROM events WHERE type = 'sos'")) == 1
    assert gateway.metrics.value("scgw_messages_duplicate_total", kind="wristband") == 2
    # Long after the window, the same bytes are a new press.
    gateway.pipeline.process_batch([RawMessage(topic, payload, received_at=T0 + 3600)])
    assert len(gateway.store.query("SELECT id FROM events WHERE type = 'sos'")) == 2


def test_a_band_rebooted_to_its_default_clock_pages_every_press(gateway):
    # Reboots reset the band's clock to 2000-01-01 and its `seq` to 1: two presses after two
    # reboots carry the same `seq`, `type` and `ts`. The second was a "duplicate" and never
    # paged. A resend of one press (the same bytes) must still be one event.
    topic = f"scgw/v1/wristband/{DEVICE_OF['wristband']}/event"
    default_clock = 946_684_800_000
    first = orjson.dumps({"ts": default_clock, "seq": 1, "type": "sos",
                          "location": {"lat": 35.41, "lon": 116.58, "accuracy_m": 10}})
    second = orjson.dumps({"ts": default_clock, "seq": 1, "type": "sos",
                           "location": {"lat": 35.42, "lon": 116.59, "accuracy_m": 12}})
    acks: list[dict] = []
    gateway.confirmations._publish = lambda t, body, qos: acks.append(orjson.loads(body))
    gateway.pipeline.process_batch([RawMessage(topic, first, received_at=T0)])
    gateway.pipeline.process_batch([RawMessage(topic, first, received_at=T0 + 2)])
    gateway.pipeline.process_batch([RawMessage(topic, second, received_at=T0 + 120)])
    rows = gateway.store.query("SELECT ts, data FROM events WHERE type = 'sos' ORDER BY id")
    assert len(rows) == 2
    # Stored at its time of receipt, with the device's clock named as the problem.
    assert [round(r["ts"]) for r in rows] == [round(T0), round(T0 + 120)]
    assert "clock looks unset" in orjson.loads(rows[1]["data"])["salvaged"]["detail"]
    event_acks = [a for a in acks if "status" in a]
    assert [a["status"] for a in event_acks] == ["stored", "duplicate", "stored"]
    assert {a["ts"] for a in event_acks} == {default_clock}  # what the band sent, echoed
    count = gateway.store.query("SELECT count FROM alerts WHERE rule_id = 'wristband.sos'")
    assert [r["count"] for r in count] == [2]  # both presses reached the open alert


@pytest.mark.parametrize(("clock", "taken_at_receipt"), [
    (4_294_967_295_000, True),  # 2106-02-07T06:28:15Z, a uint32 RTC's garbage value
    (2_147_483_647_000, True),  # 2038-01-19, the int32 one
    (MS - 10 * 86_400_000, False),  # a time saved ten days ago, restored at boot
])
def test_a_band_rebooted_to_a_fixed_clock_pages_its_next_press(gateway, clock,
                                                                 taken_at_receipt):
    # Red team round 3: the clock comes back at the same fixed value and `seq` restarts at 1;
    # the next press, from elsewhere, was confirmed "duplicate" and never stored or paged.
    topic = f"scgw/v1/wristband/{DEVICE_OF['wristband']}/event"
    first = orjson.dumps({"ts": clock, "seq": 1, "type": "sos",
                          "location": {"lat": 35.40, "lon": 116.58, "accuracy_m": 10}})
    second = orjson.dumps({"ts": clock, "seq": 1, "type": "sos",
                           "location": {"lat": 35.41, "lon": 116.59, "accuracy_m": 10}})
    acks: list[dict] = []
    gateway.confirmations._publish = lambda t, body, qos: acks.append(orjson.loads(body))
    gateway.pipeline.process_batch([RawMessage(topic, first, received_at=T0)])
    gateway.pipeline.process_batch([RawMessage(topic, first, received_at=T0 + 2)])  # resend
    gateway.pipeline.process_batch([RawMessage(topic, second, received_at=T0 + 300)])
    rows = gateway.store.query("SELECT ts, data FROM events WHERE type = 'sos' ORDER BY id")
    assert len(rows) == 2
    assert [orjson.loads(r["data"])["location"]["lat"] for r in rows] == [35.40, 35.41]
    if taken_at_receipt:
        assert [round(r["ts"]) for r in rows] == [round(T0), round(T0 + 300)]
        assert "days after receipt" in orjson.loads(rows[1]["data"])["salvaged"]["detail"]
    assert [a["status"] for a in acks if "status" in a] == ["stored", "duplicate", "stored"]
    count = gateway.store.query("SELECT count FROM alerts WHERE rule_id = 'wristband.sos'")
    assert [r["count"] for r in count] == [2]


ENCODING_SLIPS = {
    "NaN in the location": b'{"ts": %d, "seq": 1, "type": "sos", '
                           b'"location": {"lat": NaN, "lon": 116.5, "accuracy_m": 5}}' % MS,
    "Infinity": b'{"ts": %d, "seq": 1, "type": "sos", "battery_pct": Infinity}' % MS,
    "byte-order mark": b'\xef\xbb\xbf{"ts": %d, "seq": 1, "type": "sos"}' % MS,
    "GBK text": '{"ts": %d, "seq": 1, "type": "sos", "note": "老人摔倒"}'.encode("gbk") % MS,
    "lone surrogate": b'{"ts": %d, "seq": 1, "type": "sos", "note": "\\ud83d"}' % MS,
    "PascalCase keys": b'{"Ts": %d, "Seq": 1, "Type": "SOS"}' % MS,
    "type given twice": b'{"type": "sos", "ts": %d, "seq": 1, "type": "worn"}' % MS,
}


@pytest.mark.parametrize("slip", sorted(ENCODING_SLIPS))
def test_an_sos_with_an_encoding_slip_still_pages(gateway, slip):
    topic = f"scgw/v1/wristband/{DEVICE_OF['wristband']}/event"
    gateway.pipeline.process_batch([RawMessage(topic, ENCODING_SLIPS[slip], received_at=T0)])
    rows = gateway.store.query("SELECT seq, type, data FROM events WHERE channel = 'event'")
    assert [(r["seq"], r["type"]) for r in rows] == [(1, "sos")]
    assert "salvaged" in orjson.loads(rows[0]["data"])
    assert gateway.store.query("SELECT reason FROM dead_letters") == []
    assert [r["rule_id"] for r in gateway.store.query("SELECT rule_id FROM alerts")] == [
        "wristband.sos"]


def test_an_event_naming_its_type_twice_is_refused_when_neither_is_urgent(gateway):
    topic = f"scgw/v1/wristband/{DEVICE_OF['wristband']}/event"
    gateway.pipeline.process_batch([RawMessage(
        topic, b'{"type": "worn", "ts": %d, "seq": 1, "type": "removed"}' % MS,
        received_at=T0)])
    assert gateway.store.query("SELECT id FROM events") == []
    [letter] = gateway.store.query("SELECT reason, detail FROM dead_letters")
    assert letter["reason"] == "schema_invalid" and "type given 2 times" in letter["detail"]


def _falling_object(points: int, snapshot_chars: int, seq: int) -> bytes:
    track = [{"t": round(i * 0.04, 2), "x": 640.5 + i % 7, "y": 100.25 + i} for i in range(points)]
    return orjson.dumps({"ts": MS, "seq": seq, "type": "falling_object", "confidence": 0.93,
                         "floor": 12, "track": track,
                         "snapshot_jpeg_b64": "/9j/" + "A" * (snapshot_chars - 4)})


def test_an_urgent_event_over_the_size_limit_pages_without_its_attachments(gateway):
    # Each part within its documented limit (500 track points, a 56,000-character
    # snapshot), together over 64 KiB: the falling object was refused as oversized.
    topic = f"scgw/v1/camera/{DEVICE_OF['camera']}/event"
    payload = _falling_object(500, 56_000, seq=1)
    assert len(payload) > gateway.settings.limits.max_payload_bytes
    gateway.pipeline.process_batch([RawMessage(topic, payload, received_at=T0)])
    [row] = gateway.store.query("SELECT seq, type, data FROM events WHERE channel = 'event'")
    data = orjson.loads(row["data"])
    assert (row["seq"], row["type"]) == (1, "falling_object")
    assert "snapshot_jpeg_b64" not in data and len(data["track"]) == 500
    assert data["salvaged"]["reason"] == "oversized"
    assert "snapshot_jpeg_b64 dropped" in data["salvaged"]["detail"]
    assert [r["rule_id"] for r in gateway.store.query("SELECT rule_id FROM alerts")] == [
        "camera.falling_object"]
    # A 4 MP snapshot (300 KB in base64, under the broker's 320 KiB) pages too (vendor,
    # session 32: it was refused between 256 KiB and the broker's limit).
    gateway.pipeline.process_batch([
        RawMessage(topic, _falling_object(10, 300_000, seq=4), received_at=T0)])
    assert len(gateway.store.query("SELECT id FROM events WHERE channel = 'event'")) == 2
    # Far beyond anything the broker lets through, or not urgent: refused as before.
    gateway.pipeline.process_batch([
        RawMessage(topic, _falling_object(10, 1_100_000, seq=2), received_at=T0),
        RawMessage(f"scgw/v1/camera/{DEVICE_OF['camera']}/telemetry",
                   orjson.dumps({"ts": MS, "seq": 3, "fps": 25, "pad": "x" * 70_000}),
                   received_at=T0)])
    assert [r["reason"] for r in gateway.store.query("SELECT reason FROM dead_letters")] == [
        "oversized", "oversized"]


@pytest.mark.parametrize(("channel", "alarm"), [
    ("event", {"type": "\uff33\uff2f\uff33"}), ("telemetry", {"alarm": "sos"}),
    ("telemetry", {"sos": True})], ids=["full-width", "alarm-flag", "sos-flag"])
def test_an_sos_beside_a_wifi_scan_over_the_size_limit_pages(gateway, channel, alarm):
    # Red team round 6: beside a long Wi-Fi scan (86 KB), spellings the quick pattern does
    # not know were refused as oversized — no event, no confirmation.
    scan = [{"mac": f"a4:5e:60:{n >> 8:02x}:{n & 255:02x}:01", "rssi": -70} for n in range(2000)]
    payload = orjson.dumps({"ts": MS, "seq": 31, **alarm, "wifi": scan})
    assert len(payload) > gateway.settings.limits.max_payload_bytes
    gateway.pipeline.process_batch([RawMessage(
        f"scgw/v1/wristband/{DEVICE_OF['wristband']}/{channel}", payload, received_at=T0)])
    [row] = gateway.store.query("SELECT seq, type FROM events WHERE channel = 'event'")
    assert (row["seq"], row["type"]) == (31, "sos")
    assert [r["rule_id"] for r in gateway.store.query("SELECT rule_id FROM alerts")] == [
        "wristband.sos"]


def test_a_salvaged_sos_keeps_a_valid_location(gateway):
    topic = f"scgw/v1/wristband/{DEVICE_OF['wristband']}/event"
    payload = b'{"Ts": %d, "Seq": 1, "Type": "SOS", "battery_pct": NaN, ' \
              b'"location": {"lat": 35.41, "lon": 116.58, "accuracy_m": 8}}' % MS
    gateway.pipeline.process_batch([RawMessage(topic, payload, received_at=T0)])
    [row] = gateway.store.query("SELECT data FROM events WHERE channel = 'event'")
    data = orjson.loads(row["data"])
    assert (data["location"]["lat"], data["location"]["accuracy_m"]) == (35.41, 8.0)
    assert "battery_pct" not in data and "battery_pct dropped" in data["salvaged"]["detail"]


def test_a_snapshot_that_is_no_plain_base64_jpeg_is_dropped(gateway):
    # A `data:` URL or plain text was accepted and shown to no one (vendor's run).
    topic = f"scgw/v1/camera/{DEVICE_OF['camera']}/event"
    bad = "data:image/jpeg;base64,/9j/4AAQSkZJRg=="
    gateway.pipeline.process_batch([
        RawMessage(topic, orjson.dumps({"ts": MS, "seq": 1, "type": "fire_lane_blocked",
                                        "zone": "FL-1", "confidence": 0.9,
                                        "snapshot_jpeg_b64": bad}), received_at=T0),
        RawMessage(topic, orjson.dumps({"ts": MS, "seq": 2, "type": "falling_object",
                                        "confidence": 0.9, "snapshot_jpeg_b64": bad}),
                   received_at=T0)])
    # Never shown as a picture, and (vendor round 2) never the cause of losing the event:
    # both are kept without it, the fault reported.
    assert gateway.store.query("SELECT reason FROM dead_letters") == []
    rows = gateway.store.query("SELECT type, data FROM events WHERE channel = 'event'")
    assert sorted(r["type"] for r in rows) == ["falling_object", "fire_lane_blocked"]
    assert all("snapshot_jpeg_b64" not in orjson.loads(r["data"]) for r in rows)


def test_a_no_fix_placeholder_is_never_taken_for_a_place(gateway):
    # Vendor round 3: cheap GPS modules send 0, 0 (accuracy 0) without satellites; it replaced
    # the elder's last good fix and raised a false wandering alarm. A reading carrying it is
    # kept without it (refused whole, it lost its heart rate and steps: the recheck), the
    # device told; an SOS carrying it pages without it.
    band = DEVICE_OF["wristband"]
    good = {"lat": 35.4151, "lon": 116.5872, "accuracy_m": 8}
    none = {"lat": 0, "lon": 0, "accuracy_m": 0}
    gateway.pipeline.process_batch([RawMessage(
        f"scgw/v1/wristband/{band}/telemetry",
        orjson.dumps({"ts": MS - 60_000, "seq": 1, "location": good}), received_at=T0)])
    gateway.pipeline.process_batch([RawMessage(
        f"scgw/v1/wristband/{band}/telemetry",
        orjson.dumps({"ts": MS, "seq": 2, "heart_rate_bpm": 72, "location": none}),
        received_at=T0)])
    twin = gateway.twins.get(band)
    assert (twin.lat, twin.lon) == (good["lat"], good["lon"])
    assert gateway.store.query("SELECT reason FROM dead_letters") == []
    kept = orjson.loads(gateway.store.query(
        "SELECT data FROM telemetry WHERE seq = 2")[0]["data"])
    assert kept["heart_rate_bpm"] == 72 and "location" not in kept
    assert "read as no fix" in kept["salvaged"]["detail"]
    gateway.pipeline.process_batch([RawMessage(
        f"scgw/v1/wristband/{band}/event",
        orjson.dumps({"ts": MS, "seq": 3, "type": "sos", "location": none}), received_at=T0)])
    [sos] = gateway.store.query("SELECT data FROM events WHERE type = 'sos'")
    data = orjson.loads(sos["data"])
    assert "location" not in data and "without a fix" in data["salvaged"]["detail"]
    assert [r["rule_id"] for r in gateway.store.query("SELECT rule_id FROM alerts")] == [
        "wristband.sos"]


def test_an_sos_published_on_telemetry_still_pages(gateway):
    # Vendor round 3: refused with "type: Extra inputs are not permitted" — the SOS was lost
    # and nothing told the firmware that events go on `…/event`.
    band = DEVICE_OF["wristband"]
    acks: list[tuple[str, dict]] = []
    gateway.confirmations._publish = lambda t, body, qos: acks.append((t, orjson.loads(body)))
    gateway.pipeline.process_batch([RawMessage(
        f"scgw/v1/wristband/{band}/telemetry",
        orjson.dumps({"ts": MS, "seq": 9, "type": "SOS", "battery_pct": 40}), received_at=T0)])
    [sos] = gateway.store.query("SELECT channel, seq, data FROM events WHERE type = 'sos'")
    assert (sos["channel"], sos["seq"]) == ("event", 9)
    assert "events go on …/event" in orjson.loads(sos["data"])["salvaged"]["detail"]
    assert [r["rule_id"] for r in gateway.store.query("SELECT rule_id FROM alerts")] == [
        "wristband.sos"]
    confirmed = [body for topic, body in acks if topic.endswith("/event/ack")]
    assert [(c["type"], c["status"]) for c in confirmed] == [("sos", "stored")]
    # One-topic firmware flags its alarm in a field of its own: that is the event too.
    gateway.pipeline.process_batch([RawMessage(
        f"scgw/v1/wristband/{band}/telemetry",
        orjson.dumps({"ts": MS + 1000, "seq": 11, "alarm": "SOS", "battery_pct": 40}),
        received_at=T0)])
    sos_rows = gateway.store.query("SELECT data FROM events WHERE type = 'sos' ORDER BY id")
    assert len(sos_rows) == 2
    assert "'alarm' 'SOS' read as its type" in orjson.loads(
        sos_rows[1]["data"])["salvaged"]["detail"]
    # A reading that names no urgent type stays refused as before.
    gateway.pipeline.process_batch([RawMessage(
        f"scgw/v1/wristband/{band}/telemetry",
        orjson.dumps({"ts": MS, "seq": 10, "type": "worn"}), received_at=T0)])
    [letter] = gateway.store.query("SELECT reason FROM dead_letters")
    assert letter["reason"] == "schema_invalid"


@pytest.mark.parametrize("flag", [
    {"alarmType": "sos"}, {"sos": True}, {"sos": 1}, {"status": "SOS"}, {"alarm": ["sos"]},
    {"alarm": {"type": "sos"}},
    {"alarm": "sos",
     "wifi": [{"bssid": f"aa:bb:cc:dd:ee:{n:02x}", "rssi": -60} for n in range(80)]},
    # Red team round 4 re-check:
    {"alarms": [{"type": "sos"}]}, {"sos": "true"}, {"sos": "1"}, {"sos": 1.0}, {"isSos": True},
    {"sosFlag": 1}, {"alarm": {"name": "sos"}}, {"alarm": [*["x"] * 8, "sos"]},
    {"alarm": "一键报警"},
    # Red team round 4, last re-check: a vendor cloud's envelope.
    {"data": {"alarm": "sos"}}, {"msgType": "report", "data": {"type": "SOS", "steps": 10}},
    {"params": {"sosFlag": True}},
    # Red team round 5:
    {"alarm": {"sos": True}}, {"alarm_code": "SOS"}, {"params": {"alarm": "sos"}},
    {"payload": {"type": "sos"}}, {"alarm": "ＳＯＳ"}, {"alarm": "sos\u200b"},
    {"alarm": "S.O.S"}, {"alarm": "紧急呼叫"},
], ids=["camelCase key", "true", "1", "status", "list", "object", "5 KB reading",
        "list of objects", "text true", "text 1", "1.0", "isSos", "sosFlag", "name", "ninth",
        "Chinese", "nested", "nested type", "nested flag", "flag object", "alarm_code",
        "params", "payload", "full width", "zero width", "dots", "emergency call"])
def test_every_shape_of_an_alarm_flag_in_a_reading_pages(gateway, flag):
    # Red team round 4: these were refused (the documented `"alarm": "sos"` too, in a reading
    # over 4 KB: a watch's Wi-Fi scan for indoor fixes).
    gateway.pipeline.process_batch([RawMessage(
        f"scgw/v1/wristband/{DEVICE_OF['wristband']}/telemetry",
        orjson.dumps({"ts": MS, "seq": 12, "battery_pct": 40, **flag}), received_at=T0)])
    assert [r["rule_id"] for r in gateway.store.query("SELECT rule_id FROM alerts")] == [
        "wristband.sos"]


def test_a_trailing_nul_from_c_firmware_is_no_fault(gateway):
    # Vendor round 4: `strlen + 1` bytes refused every reading ("trailing characters").
    band = DEVICE_OF["wristband"]
    gateway.pipeline.process_batch([RawMessage(
        f"scgw/v1/wristband/{band}/telemetry",
        orjson.dumps({"ts": MS, "seq": 40, "heart_rate_bpm": 70}) + b"\x00", received_at=T0)])
    assert gateway.store.query("SELECT reason FROM dead_letters") == []
    assert gateway.twins.get(band).last_telemetry["heart_rate_bpm"] == 70
    gateway.pipeline.process_batch([RawMessage(  # an SOS too, as sent (nothing to salvage)
        f"scgw/v1/wristband/{band}/event", b'{"ts": %d, "seq": 1, "type": "sos"}\x00' % MS,
        received_at=T0)])
    [sos] = gateway.store.query("SELECT data FROM events WHERE type = 'sos'")
    assert "salvaged" not in orjson.loads(sos["data"])


@pytest.mark.parametrize(("kind", "flag", "rule"), [
    ("smoke_detector", {"alarm": 1}, "smoke_detector.smoke_alarm"),
    ("smoke_detector", {"alarm": True}, "smoke_detector.smoke_alarm"),
    ("smoke_detector", {"smoke_state": 1}, "smoke_detector.smoke_alarm"),
    ("gas_detector", {"alarm": "1"}, "gas_detector.gas_alarm"),
    ("alarm_pole", {"alarm": 1}, "alarm_pole.button_pressed"),
])
def test_an_alarm_flag_of_an_nbiot_object_model_pages(gateway, kind, flag, rule):
    # Vendor round 5: `"alarm": 1` — what every NB-IoT platform's object model reports — was
    # refused on a smoke or gas detector while `"smoke": 1` paged.
    gateway.pipeline.process_batch([RawMessage(
        f"scgw/v1/{kind}/{DEVICE_OF[kind]}/telemetry",
        orjson.dumps({"ts": MS, "seq": 14, **flag}), received_at=T0)])
    assert [r["rule_id"] for r in gateway.store.query("SELECT rule_id FROM alerts")] == [rule]


@pytest.mark.parametrize("body", [{"alarm": "sos"}, {"data": {"alarm": "sos"}},
                                  {"data": {"type": "sos"}}], ids=["flag", "nested", "type"])
def test_an_alarm_flag_on_the_event_channel_pages_too(gateway, body):
    # An event without `type` that flags the SOS in a field, or in an envelope, was refused.
    gateway.pipeline.process_batch([RawMessage(
        f"scgw/v1/wristband/{DEVICE_OF['wristband']}/event",
        orjson.dumps({"ts": MS, "seq": 13, **body}), received_at=T0)])
    assert [r["rule_id"] for r in gateway.store.query("SELECT rule_id FROM alerts")] == [
        "wristband.sos"]


_SMOKE = {"ts": MS, "seq": 41, "type": "smoke_alarm", "room": "kitchen"}


@pytest.mark.parametrize("envelope", [
    {"deviceId": "d1", "IMEI": "868120345678901", "messageType": "dataReport",
     "timestamp": MS, "payload": {"serviceId": "alarm",
                                  "serviceData": {"alarm_type": 1, "smoke_state": 1}}},
    {"deviceId": "d1", "timestamp": MS,
     "payload": {"APPdata": base64.b64encode(orjson.dumps(_SMOKE)).decode()}},
    {"msg": {"ds_id": "alarm", "at": MS, "value": orjson.dumps(_SMOKE).hex()}},
    {"msg": {"ds_id": "alarm", "at": MS, "value": orjson.dumps(_SMOKE).decode()}},
    {"method": "thing.event.SmokeAlarm.post", "params": {"value": {"alarm": 1}, "time": MS}},
], ids=["ctwing-profile", "ctwing-base64", "onenet-hex", "onenet-json-text", "aliyun-method"])
def test_a_smoke_alarm_in_a_carrier_platforms_envelope_pages(gateway, envelope):
    # Vendor round 6: a vendor cloud republishing CTWing, OneNET and Aliyun pushes as they
    # came had every smoke alarm refused ("type: Field required") — none paged.
    gateway.pipeline.process_batch([RawMessage(
        f"scgw/v1/smoke_detector/{DEVICE_OF['smoke_detector']}/event",
        orjson.dumps(envelope), received_at=T0)])
    assert [r["rule_id"] for r in gateway.store.query("SELECT rule_id FROM alerts")] == [
        "smoke_detector.smoke_alarm"]


@pytest.mark.parametrize("body", [{"status": "alarm.cleared"}, {"event": "smoke.alarm.end"},
                                  {"method": "thing.event.SmokeAlarm.cleared"},
                                  {"status": "alarm.test.ok"}])
def test_a_dotted_word_saying_the_alarm_is_over_pages_nothing(gateway, body):
    # Red team round 6 re-check: each opened a critical fire alert and a ticket.
    gateway.pipeline.process_batch([RawMessage(
        f"scgw/v1/smoke_detector/{DEVICE_OF['smoke_detector']}/event",
        orjson.dumps({"ts": MS, "seq": 61, **body}), received_at=T0)])
    assert gateway.store.query("SELECT rule_id FROM alerts") == []


def test_an_envelope_saying_the_alarm_is_over_pages_nothing(gateway):
    gateway.pipeline.process_batch([RawMessage(
        f"scgw/v1/smoke_detector/{DEVICE_OF['smoke_detector']}/event", orjson.dumps(
            {"deviceId": "d1", "payload": {"serviceId": "alarm", "serviceData": {
                "alarm_type": 0, "smoke_state": 0}}}), received_at=T0)])
    assert gateway.store.query("SELECT rule_id FROM alerts") == []


def test_the_readings_beside_an_alarm_flag_are_kept_as_a_reading(gateway):
    # Vendor round 5 (V5-N7, again in round 6): `{"alarm": 1, "battery_pct": …}` paged, and
    # the battery in the same report was dropped — the twin kept the previous one.
    detector = DEVICE_OF["smoke_detector"]
    gateway.pipeline.process_batch([RawMessage(
        f"scgw/v1/smoke_detector/{detector}/telemetry", orjson.dumps(
            {"ts": MS, "seq": 15, "alarm": 1, "battery_pct": 23, "signal_dbm": -97}),
        received_at=T0)])
    assert [r["rule_id"] for r in gateway.store.query("SELECT rule_id FROM alerts")] == [
        "smoke_detector.smoke_alarm"]
    [reading] = gateway.store.query("SELECT seq, data FROM telemetry WHERE device_id = ?",
                                    (detector,))
    assert reading["seq"] == 15 and orjson.loads(reading["data"])["battery_pct"] == 23
    assert gateway.twins.get(detector).battery_pct == 23
    assert gateway.store.query("SELECT reason FROM dead_letters") == []


def test_a_flag_saying_no_alarm_is_no_alarm(gateway):
    gateway.pipeline.process_batch([RawMessage(
        f"scgw/v1/wristband/{DEVICE_OF['wristband']}/telemetry",
        orjson.dumps({"ts": MS, "seq": 12, "battery_pct": 40, "sos": False, "fall": 0,
                      "status": "normal"}), received_at=T0)])
    assert gateway.store.query("SELECT rule_id FROM alerts") == []


@pytest.mark.parametrize("channel", ["events", "Event", "alarm", "sos/up"])
def test_an_sos_on_a_channel_that_is_none_of_ours_still_pages(gateway, channel):
    # Found writing the refused-device alert: an SOS on a misspelt channel (`…/events`) was
    # dead-lettered as `bad_topic` and never paged, although the broker lets a device write
    # anywhere under its own prefix.
    band = DEVICE_OF["wristband"]
    acks: list[tuple[str, dict]] = []
    gateway.confirmations._publish = lambda t, body, qos: acks.append((t, orjson.loads(body)))
    gateway.pipeline.process_batch([RawMessage(
        f"scgw/v1/wristband/{band}/{channel}",
        orjson.dumps({"ts": MS, "seq": 9, "type": "sos"}), received_at=T0)])
    [sos] = gateway.store.query("SELECT channel, seq, data FROM events WHERE type = 'sos'")
    assert (sos["channel"], sos["seq"]) == ("event", 9)
    assert f"sent on …/{channel}" in orjson.loads(sos["data"])["salvaged"]["detail"]
    assert [r["rule_id"] for r in gateway.store.query("SELECT rule_id FROM alerts")] == [
        "wristband.sos"]
    confirmed = [body for topic, body in acks if topic.endswith("/event/ack")]
    assert [(c["type"], c["status"]) for c in confirmed] == [("sos", "stored")]
    # Anything else there stays refused as before, and so does another device's prefix.
    gateway.pipeline.process_batch([
        RawMessage(f"scgw/v1/wristband/{band}/{channel}",
                   orjson.dumps({"ts": MS, "seq": 10, "type": "worn"}), received_at=T0),
        RawMessage(f"scgw/v1/wristband/NOT-REGISTERED/{channel}",
                   orjson.dumps({"ts": MS, "seq": 1, "type": "sos"}), received_at=T0)])
    assert [r["reason"] for r in gateway.store.query(
        "SELECT reason FROM dead_letters ORDER BY id")] == ["bad_topic", "bad_topic"]
    assert len(gateway.store.query("SELECT id FROM alerts")) == 1


@pytest.mark.parametrize("seq", [1, None])
@pytest.mark.parametrize("clock", [MS - 10 * 86_400_000, MS - 2 * 86_400_000])
def test_the_same_bytes_after_the_resend_window_are_a_new_press(gateway, clock, seq):
    # Red team round 3b: a band back from a reboot to the same fixed clock, pressed again
    # where it was before (no position, or the same one) sends the very same bytes: matched
    # as a resend however late, it was never stored or paged. A resend comes within minutes.
    topic = f"scgw/v1/wristband/{DEVICE_OF['wristband']}/event"
    press = orjson.dumps({"ts": clock, "type": "sos", **({"seq": seq} if seq else {})})
    acks: list[dict] = []
    gateway.confirmations._publish = lambda t, body, qos: acks.append(orjson.loads(body))
    for after in (0, 30, 590, 1300, 1330):
        gateway.pipeline.process_batch([RawMessage(topic, press, received_at=T0 + after)])
    assert [a["status"] for a in acks if "status" in a] == [
        "stored", "duplicate", "duplicate", "stored", "duplicate"]
    assert len(gateway.store.query("SELECT id FROM events WHERE type = 'sos'")) == 2


@pytest.mark.parametrize("seq", [7, None])
@pytest.mark.parametrize("age_s", [0, 90])
def test_a_press_from_a_right_clock_resent_through_a_long_outage_is_one_press(gateway, seq,
                                                                              age_s):
    # Vendor round 4: the confirmation was lost and the band kept resending through a
    # 30-minute outage; past the 10-minute window the same bytes were stored as a new press
    # and re-escalated the alert an operator had acknowledged. Its clock was right when the
    # first copy came, so the same bytes are the same press — for a day.
    # A clock 90 s slow is right too (vendor round 4 re-check); and a resend re-serialised
    # with other spacing is the same.
    topic = f"scgw/v1/wristband/{DEVICE_OF['wristband']}/event"
    body = {"ts": MS - age_s * 1000, "type": "sos", **({"seq": seq} if seq else {})}
    acks: list[dict] = []
    gateway.confirmations._publish = lambda t, body, qos: acks.append(orjson.loads(body))
    for n, after in enumerate((1, 1800, 3600, 25 * 3600 + age_s)):
        press = orjson.dumps(body) if n % 2 == 0 else json.dumps(body, indent=1).encode()
        gateway.pipeline.process_batch([RawMessage(topic, press, received_at=T0 + after)])
    assert [a["status"] for a in acks if "status" in a] == [
        "stored", "duplicate", "duplicate", "stored"]


@pytest.mark.parametrize("behind_s", [3 * 3600, 20 * 3600])
@pytest.mark.parametrize("type_", ["sos", "fall"])
def test_a_press_after_a_reboot_to_a_saved_clock_pages_again(gateway, behind_s, type_):
    # Red team round 5: a band that restores a clock saved hours ago and restarts its `seq`
    # sends its next press with the same `seq` and `ts` as the last. Matched as a resend for
    # a day (its time looked "real"), the second SOS was told "duplicate" and paged nobody.
    topic = f"scgw/v1/wristband/{DEVICE_OF['wristband']}/event"
    press = orjson.dumps({"ts": MS - behind_s * 1000, "seq": 1, "type": type_})
    acks: list[dict] = []
    gateway.confirmations._publish = lambda t, body, qos: acks.append(orjson.loads(body))
    for after in (0, 30, 620):
        gateway.pipeline.process_batch([RawMessage(topic, press, received_at=T0 + after)])
    assert [a["status"] for a in acks if "status" in a] == ["stored", "duplicate", "stored"]
    assert len(gateway.store.query("SELECT id FROM events WHERE type = ?", (type_,))) == 2


def test_not_measured_placeholders_are_left_out_and_the_reading_kept(gateway):
    # Vendor round 3: bands that measure SpO2 or blood pressure every few hours send 0 in
    # between; each such reading was refused whole, its position and `worn` with it.
    band = DEVICE_OF["wristband"]
    reports: list[dict] = []
    gateway.confirmations._publish = lambda t, body, qos: reports.append(orjson.loads(body))
    fix = {"lat": 35.4151, "lon": 116.5872, "accuracy_m": 8}
    gateway.pipeline.process_batch([RawMessage(
        f"scgw/v1/wristband/{band}/telemetry", orjson.dumps(
            {"ts": MS, "seq": 1, "heart_rate_bpm": 0, "spo2_pct": 0, "systolic_mmhg": 0,
             "diastolic_mmhg": 0, "steps": -1, "worn": False, "location": fix}),
        received_at=T0)])
    [row] = gateway.store.query("SELECT data FROM telemetry")
    data = orjson.loads(row["data"])
    assert data["location"] == {**fix, "source": "gps"} and data["worn"] is False
    assert not {"heart_rate_bpm", "spo2_pct", "systolic_mmhg", "steps"} & data.keys()
    assert "read as not measured" in data["salvaged"]["detail"]
    twin = gateway.twins.get(band)
    assert (twin.lat, twin.lon) == (fix["lat"], fix["lon"])
    [report] = [r for r in reports if r.get("salvaged")]
    assert "heart_rate_bpm 0 read as not measured" in report["detail"]
    # Anything else out of range is refused as before: 120 % is no placeholder.
    gateway.pipeline.process_batch([RawMessage(
        f"scgw/v1/wristband/{band}/telemetry", orjson.dumps(
            {"ts": MS + 1000, "seq": 2, "battery_pct": 120, "location": fix}),
        received_at=T0)])
    assert [r["reason"] for r in gateway.store.query("SELECT reason FROM dead_letters")] == [
        "out_of_range"]


def test_an_alarm_naming_another_registered_device_tells_the_operator_to_check(gateway):
    # Vendor round 6: a cloud forwarding detector B's alarm on detector A's login paged it at
    # A's home, and nothing said the payload named B.
    mine, other = DEVICE_OF["smoke_detector"], DEVICE_OF["gas_detector"]
    told: list[tuple[str, dict]] = []
    gateway.confirmations._publish = lambda t, body, qos: told.append((t, orjson.loads(body)))
    gateway.pipeline.process_batch([RawMessage(
        f"scgw/v1/smoke_detector/{mine}/event", orjson.dumps(
            {"deviceId": other, "ts": MS, "seq": 51, "type": "smoke_alarm"}),
        received_at=T0)])
    [alert] = gateway.store.query("SELECT detail FROM alerts WHERE device_id = ?", (mine,))
    detail = orjson.loads(alert["detail"])["payload_claim"]
    assert f"the payload names device {other!r} (at " in detail
    # Red team round 11: the sender was told too, on its `…/event/ack` and `…/errors` —
    # whether an id is registered, of any vendor, and where. The device hears nothing of it,
    # nor does its stored message (which its vendor may read).
    assert told and all(other not in orjson.dumps(body).decode() for _, body in told)
    [row] = gateway.store.query("SELECT data FROM events WHERE type = 'smoke_alarm'")
    assert other not in row["data"].replace(f'"{other}"', "")  # its own deviceId field aside
    # Vendor round 10: the hint was in a field only, and the brigade went to the login's flat.
    # Whoever is sent reads first that it may be another flat, and which.
    [ticket] = gateway.store.query("SELECT description FROM tickets")
    assert ticket["description"].startswith(f"【请核实地点】报文所指设备 {other}（")
    assert f"设备 {mine}" in ticket["description"]
    # A band's own IMEI in its SOS is no other device: no such note.
    gateway.pipeline.process_batch([RawMessage(
        f"scgw/v1/wristband/{DEVICE_OF['wristband']}/event", orjson.dumps(
            {"imei": "868120345678901", "ts": MS, "seq": 52, "type": "sos"}),
        received_at=T0)])
    [sos] = gateway.store.query("SELECT data FROM events WHERE type = 'sos'")
    assert "names device" not in orjson.loads(sos["data"])["salvaged"]["detail"]


@pytest.mark.parametrize("said", [
    "跌倒确认", "摔倒确认", "跌倒已确认", "fall_confirm", "FALL_CONFIRM", "fall_no_response",
    "跌倒无响应", "fall_timeout", "跌倒预警超时", "fall_warning_timeout", "fall_not_cancelled",
    "跌倒未取消", "fall_uncancelled"])
def test_a_fall_the_band_is_sure_of_in_its_own_words_pages(said):
    # Red team round 11: what a countdown band sends when its wearer did not answer was
    # refused as an unknown event type — never confirmed, never paged.
    assert _flagged("wristband", {"type": said}) == "fall"


@pytest.mark.parametrize(("said", "meant"), [
    ("非平层困人", "trapped"), ("平层困人", "trapped"), ("停电困人", "trapped"),
    ("轿厢困人", "trapped"), ("困人（停电）", "trapped"), ("trapped_passenger", "trapped"),
    ("五方通话", "emergency_call"), ("五方对讲", "emergency_call"),
    ("轿厢呼救", "emergency_call"), ("intercom", "emergency_call")])
def test_a_lift_monitor_s_words_for_an_entrapment_or_the_intercom_page(said, meant):
    # Vendor round 11: how lift-monitoring platforms class an entrapment, and the guide's own
    # 五方通话, were refused — and three made a "device fault" ticket for a car with people in.
    assert _flagged("elevator", {"type": said, "floor": 12}) == meant


@pytest.mark.parametrize("said", ["坠床", "fall_from_bed", "跌落床下", "掉床", "离床跌倒"])
def test_a_bed_device_s_fall_out_of_bed_pages(said):
    # Vendor round 11: a sleep belt's 坠床 (fell out of bed) was refused, never paged.
    assert _flagged("radar", {"type": said, "room": "卧室"}) == "fall"


def test_an_nvr_s_fire_lane_words_plate_and_ftp_picture_are_read(gateway):
    # Vendor round 11: 消防通道占用 and fireEscapeDetection were refused (three made a "device
    # fault"), 消防通道恢复 too (the lane stayed blocked), `plateNo` or an NVR's `ftp://`
    # picture link refused a blocked lane whole.
    cam = DEVICE_OF["camera"]
    sent = [{"type": "消防通道占用", "zone": "FL-7", "confidence": 0.9, "plateNo": "鲁H12345",
             "snapshot_ref": "ftp://10.0.0.5/pic/1.jpg"},
            {"type": "消防通道恢复", "zone": "FL-7"},
            {"type": "fireEscapeDetection", "zone": "FL-8", "confidence": 0.8}]
    gateway.pipeline.process_batch([RawMessage(
        f"scgw/v1/camera/{cam}/event", orjson.dumps({"ts": MS + n, "seq": 700 + n, **body}),
        received_at=T0) for n, body in enumerate(sent)])
    rows = gateway.store.query("SELECT type, data FROM events WHERE device_id = ? AND seq >= 700"
                               " ORDER BY seq", (cam,))
    assert [r["type"] for r in rows] == ["fire_lane_blocked", "fire_lane_cleared",
                                         "fire_lane_blocked"]
    first = orjson.loads(rows[0]["data"])
    assert (first["plate"], first["snapshot_ref"]) == ("鲁H12345", "ftp://10.0.0.5/pic/1.jpg")


def test_a_welfare_kit_s_own_words_are_read_not_refused(gateway):
    # Vendor round 11: a PIR kit's "no activity" and a door contact's 开门 / 关门 were refused,
    # and three read as a "device fault" at a lone elder's.
    gateway.registry.register([device("DS-W1", "access", grid="G-01"),
                               device("PIR-W1", "radar", grid="G-01")])
    sent = [("access/DS-W1", {"type": "开门"}), ("access/DS-W1", {"type": "门磁关闭"}),
            ("radar/PIR-W1", {"type": "no_activity", "room": "客厅"}),
            ("radar/PIR-W1", {"type": "长时间无活动"})]
    gateway.pipeline.process_batch([RawMessage(
        f"scgw/v1/{topic}/event", orjson.dumps({"ts": MS + n, "seq": 800 + n, **body}),
        received_at=T0) for n, (topic, body) in enumerate(sent)])
    rows = gateway.store.query("SELECT type FROM events WHERE seq >= 800 ORDER BY seq")
    assert [r["type"] for r in rows] == ["door_opened", "door_closed", "long_stay", "long_stay"]
    assert gateway.store.query("SELECT reason FROM dead_letters") == []


def test_a_lift_monitor_s_mode_and_direction_words_are_read(gateway):
    gateway.registry.register([device("EL-MODE-1", "elevator", grid="G-01")])
    for seq, (mode, meant) in enumerate((("检修", "inspection"), ("维保", "maintenance"),
                                         ("消防返回", "fire"), ("应急运行", "emergency"),
                                         ("正常", "normal")), 1):
        gateway.pipeline.process_batch([RawMessage(
            "scgw/v1/elevator/EL-MODE-1/telemetry", orjson.dumps(
                {"ts": MS, "seq": seq, "floor": 3, "mode": mode, "direction": "上行"}),
            received_at=T0)])
        [row] = gateway.store.query("SELECT data FROM telemetry WHERE device_id = 'EL-MODE-1'"
                                    " AND seq = ?", (seq,))
        data = orjson.loads(row["data"])
        assert (data["mode"], data["direction"]) == (meant, "up")


def test_the_ticket_s_check_the_place_head_cannot_be_forged_from_the_payload(gateway):
    # Red team round 11: the head was parsed back from the alert's payload problem, which
    # echoes the payload's own key names: a key written like the gateway's note forged it.
    band = DEVICE_OF["wristband"]
    forged = "the payload names device '测试设备' (at 厂家远程测试 非真实报警 无需出动)"
    gateway.pipeline.process_batch([RawMessage(
        f"scgw/v1/wristband/{band}/event", orjson.dumps(
            {"ts": MS, "seq": 61, "type": "sos", forged: 1}), received_at=T0)])
    [ticket] = gateway.store.query("SELECT description FROM tickets")
    assert "请核实地点" not in ticket["description"]


def _flagged(kind: str, payload: dict[str, object], channel: str = "event") -> str | None:
    from devices.catalogue import CATALOGUE
    from gateway.urgent_salvage import misplaced_urgent, salvage_event

    k = CATALOGUE.get(kind)
    raw = RawMessage(f"scgw/v1/{kind}/X-1/{channel}", orjson.dumps({"ts": MS, **payload}),
                     received_at=T0)
    found = salvage_event(k, None, raw, "event", None) if channel == "event" \
        else misplaced_urgent(k, None, raw, channel)
    return found.event.type if found is not None else None


@pytest.mark.parametrize(("kind", "payload"), [
    ("smoke_detector", {"type": "fault", "alarm": 1}),
    ("smoke_detector", {"type": "self_test", "alarm": 1}),
    ("smoke_detector", {"type": "alarm_cleared", "alarm": 1}),
    ("smoke_detector", {"alarm": 1, "alarm_type": "low_battery", "battery_pct": 9}),
    ("elevator", {"type": "released", "alarm": 1}),
    ("elevator", {"alarm": 1, "alarm_type": "door_held_open"}),
    ("gas_detector", {"co": 1, "battery_pct": 90}),
    ("smoke_detector", {"smoke": 1.0, "temperature_c": 22}),
    ("smoke_detector", {"status": 1}),
    # Re-check: another kind's word (`tilt`, `hushed`) says which too.
    ("smoke_detector", {"alarm": 1, "type": "tilt"}), ("elevator", {"alarm": 1, "type": "hushed"}),
    ("radar", {"fall_detection": 1}), ("smoke_detector", {"smoke_sensor": 1}),
    # Round 8: which alarm the device reports, beside a flag saying it is off.
    ("wristband", {"alarm_type": "sos", "alarm": 0, "battery_pct": 50}),
    ("wristband", {"alarm_type": "sos", "alarm_state": "0"}),
    ("wristband", {"alarm_type": "fall", "alarm": False}),
    ("smoke_detector", {"alarm_type": "smoke_alarm", "alarm": 0}),
    ("gas_detector", {"alarm_type": "gas_alarm", "alarm_status": 0}),
    ("smoke_detector", {"alarm": "smoke", "alarm_state": "normal"})])
def test_an_alarm_flag_beside_another_word_or_a_reading_of_one_is_no_alarm(kind, payload):
    # Red team round 7: an object model's `alarm: 1` beside a fault, a self-test or the
    # end of an entrapment paged critical; so did 1 ppm of CO and a smoke reading of 1.0.
    assert _flagged(kind, payload) is None
    assert _flagged(kind, payload, "telemetry") is None


DAY_MS = 86_400_000


@pytest.mark.parametrize(("kind", "payload"), [
    ("smoke_detector", {"battery_pct": 90, "alarm_history": [
        {"ts": MS - 3 * DAY_MS, "type": "smoke_alarm", "cleared": True}]}),
    ("smoke_detector", {"alarm_log": [{"ts": MS - DAY_MS, "type": "smoke_alarm"}]}),
    ("smoke_detector", {"last_alarm": {"ts": MS - 40 * DAY_MS, "type": "smoke_alarm"}}),
    ("smoke_detector", {"history": [{"type": "smoke_alarm"}, {"type": "alarm_cleared"}]}),
    ("smoke_detector", {"type": "heartbeat", "alarm_history": [{"type": "smoke_alarm"}]}),
    ("gas_detector", {"alarm_records": [{"ts": MS - 5 * DAY_MS, "type": "gas_alarm"}]}),
    ("wristband", {"sos_history": [{"ts": MS - 2 * DAY_MS, "type": "sos"}]}),
    ("elevator", {"fault_log": [{"ts": MS - 9 * DAY_MS, "type": "trapped"}]})])
def test_a_log_of_earlier_alarms_in_a_report_is_no_alarm_now(kind, payload):
    # Red team round 8: a heartbeat listing past alarms paged each as a new fire, gas leak,
    # SOS or entrapment — every time it repeated its log.
    assert _flagged(kind, payload) is None
    assert _flagged(kind, payload, "telemetry") is None


def test_an_alarm_in_an_envelope_or_a_queue_still_pages():
    assert _flagged("smoke_detector", {"data": {"type": "smoke_alarm"}}, "telemetry") == (
        "smoke_alarm")
    assert _flagged("wristband", {"alarms": [{"type": "sos"}]}, "telemetry") == "sos"
    assert _flagged("wristband", {"payload": {"last": 3, "type": "sos"}}, "telemetry") == "sos"


@pytest.mark.parametrize(("kind", "payload", "meant"), [
    ("smoke_detector", {"alarm": 1}, "smoke_alarm"),
    ("smoke_detector", {"alarm_state": 1, "battery_pct": 80}, "smoke_alarm"),
    ("smoke_detector", {"alarm_status": "1"}, "smoke_alarm"),
    ("smoke_detector", {"warning": 1}, "smoke_alarm"),
    ("smoke_detector", {"alarm": 1, "alarm_type": "smoke"}, "smoke_alarm"),
    ("gas_detector", {"co": True}, "gas_alarm"),
    ("elevator", {"alarm": 1}, "emergency_call"),
    # Re-check: a leak with the valve's shut-off; Aliyun's standard alarm property.
    ("gas_detector", {"alarm": 1, "event": "valve_closed", "co": 120}, "gas_alarm"),
    ("smoke_detector", {"SmokeSensorState": 1}, "smoke_alarm")])
def test_an_alarm_flag_in_an_object_model_s_spellings_pages(kind, payload, meant):
    # Red team round 7: `alarm_state`, `alarm_status` and `warning` set to 1 were refused.
    assert _flagged(kind, payload, "telemetry") == meant


@pytest.mark.parametrize(("kind", "word", "meant"), [
    ("wristband", "求救", "sos"), ("wristband", "一键求救", "sos"), ("wristband", "摔倒", "fall"),
    ("smoke_detector", "火警", "smoke_alarm"), ("access", "撬门", "forced_open"),
    ("elevator", "困人", "trapped")])
def test_an_urgent_word_in_gbk_pages_and_reads_its_text(gateway, kind, word, meant):
    # Vendor round 7: old firmware's GBK text was refused as malformed JSON, and the SOS,
    # fall, fire, break-in or entrapment it named was lost; the rest of its text read ����.
    gateway.pipeline.process_batch([RawMessage(
        f"scgw/v1/{kind}/{DEVICE_OF[kind]}/event",
        f'{{"ts": {MS}, "seq": 1, "type": "{word}", "note": "三号楼"}}'.encode("gbk"),
        received_at=T0)])
    [row] = gateway.store.query("SELECT type, data FROM events WHERE channel = 'event'")
    data = orjson.loads(row["data"])
    assert row["type"] == meant and "GBK" in data["salvaged"]["detail"]
    assert gateway.store.query("SELECT reason FROM dead_letters") == []


def test_a_reading_in_gbk_is_kept_with_its_text(gateway):
    # Vendor round 6 and 7: a radar's readings with a Chinese room name in GBK were refused.
    device_id = DEVICE_OF["radar"]
    gateway.pipeline.process_batch([RawMessage(
        f"scgw/v1/radar/{device_id}/event",
        f'{{"ts": {MS}, "seq": 2, "type": "left", "room": "卫生间"}}'.encode("gbk"),
        received_at=T0)])
    [row] = gateway.store.query("SELECT type, data FROM events WHERE channel = 'event'")
    assert row["type"] == "left" and orjson.loads(row["data"])["room"] == "卫生间"


@pytest.mark.parametrize(("word", "meant"), [
    ("摘下", "removed"), ("佩戴", "worn"), ("低电量", "low_battery"),
    ("battery_low", "low_battery")])
def test_a_band_s_chinese_words_for_its_other_events_are_read(gateway, word, meant):
    # Vendor round 7: 摘下, 佩戴 and 低电量 were refused even in UTF-8.
    gateway.pipeline.process_batch([RawMessage(
        f"scgw/v1/wristband/{DEVICE_OF['wristband']}/event",
        orjson.dumps({"ts": MS, "seq": 3, "type": word,
                      **({"battery_pct": 9} if meant == "low_battery" else {})}),
        received_at=T0)])
    assert [r["type"] for r in gateway.store.query("SELECT type FROM events")] == [meant]


def test_utf8_with_a_stray_byte_stays_utf8(gateway):
    # Red team round 7 re-check: one stray byte in UTF-8 text made the whole payload read as
    # GBK, its `求救` garbled, and the SOS was refused.
    gateway.pipeline.process_batch([RawMessage(
        f"scgw/v1/wristband/{DEVICE_OF['wristband']}/event",
        b'{"ts": %d, "seq": 4, "type": "\xe6\xb1\x82\xe6\x95\x91", "t": "36.5\xb0C"}' % MS,
        received_at=T0)])
    assert [r["type"] for r in gateway.store.query("SELECT type FROM events")] == ["sos"]


def test_a_clean_repeat_takes_the_payload_problem_off_the_alert(gateway):
    # Vendor round 9: the alert kept an old "faulty payload" note after a clean report
    # re-paged it; the note follows the latest event.
    topic = f"scgw/v1/wristband/{DEVICE_OF['wristband']}/event"
    faulty = orjson.dumps({"ts": MS, "seq": 51, "type": "SOS"})
    clean = orjson.dumps({"ts": MS + 1000, "seq": 52, "type": "sos"})
    gateway.pipeline.process_batch([RawMessage(topic, faulty, received_at=T0)])

    def detail() -> dict:
        [row] = gateway.store.query(
            "SELECT detail FROM alerts WHERE rule_id = 'wristband.sos'")
        return orjson.loads(row["detail"])

    assert "payload_problem" in detail()
    gateway.pipeline.process_batch([RawMessage(topic, clean, received_at=T0 + 1)])
    assert "payload_problem" not in detail()


@pytest.mark.parametrize(("kind", "said", "meant"), [
    # Vendor round 12: each refused, never paged, however many aliases each round added —
    # an event word the kind does not know that holds one of its urgent stems is that event.
    ("charging_pile", "火灾报警", "smoke_alarm"), ("charging_pile", "明火报警", "smoke_alarm"),
    ("charging_pile", "电池热失控", "smoke_alarm"),
    ("charging_pile", "thermal_runaway", "smoke_alarm"),
    ("smoke_detector", "烟雾浓度超标", "smoke_alarm"),
    ("smoke_detector", "烟感触发", "smoke_alarm"),
    ("smoke_detector", "烟雾报警触发", "smoke_alarm"),
    ("smoke_detector", "检测到烟雾", "smoke_alarm"),
    ("smoke_detector", "smoke_concentration_alarm", "smoke_alarm"),
    ("smoke_detector", "高温报警", "smoke_alarm"), ("smoke_detector", "heat_alarm", "smoke_alarm"),
    ("camera", "高空坠物", "falling_object"), ("camera", "抛洒物", "falling_object"),
    ("camera", "throw_detected", "falling_object"), ("camera", "HighThrow", "falling_object"),
    ("alarm_pole", "求助按钮按下", "button_pressed"), ("alarm_pole", "报警按钮", "button_pressed"),
    ("radar", "卫生间跌倒", "fall"), ("radar", "倒地不起", "fall"), ("radar", "长时间躺地", "fall"),
    ("radar", "跌倒后未起身", "fall"), ("radar", "异常躺卧", "fall"),
    ("gas_detector", "可燃气体浓度超标", "gas_alarm"), ("elevator", "轿厢内有人被困", "trapped"),
    ("access", "有人翻越围墙", "fence_intrusion"), ("wristband", "老人摔跤", "fall"),
])
def test_an_unknown_word_holding_an_urgent_stem_pages(kind, said, meant):
    assert _flagged(kind, {"type": said}) == meant


@pytest.mark.parametrize(("kind", "said"), [
    # … but not one saying the alarm is over, a test or a fault, a report of a reading, a
    # warning the kind has a word of its own for, or a weak stem with no word of alarm.
    ("radar", "跌倒解除"), ("radar", "已起身"), ("radar", "fall_recovered"), ("radar", "躺卧"),
    ("smoke_detector", "烟感自检"), ("smoke_detector", "烟雾浓度上报"),
    ("smoke_detector", "smoke_sensor_fault"), ("smoke_detector", "fire_test"),
    ("camera", "frame_drop"), ("camera", "throw_test"), ("wristband", "疑似跌倒"),
    ("wristband", "跌倒取消"), ("gas_detector", "gas_level"), ("gas_detector", "燃气表读数"),
])
def test_a_word_holding_a_stem_that_is_no_alarm_is_not_read_as_one(kind, said):
    assert _flagged(kind, {"type": said}) is None


@pytest.mark.parametrize("word", [
    # Red team round 12: a calm token compared against (`above normal`, `not a test`, `cannot
    # recover`) muted the alarm flag beside it.
    "gas_above_normal", "above_normal", "higher_than_normal", "out_of_normal_range",
    "over_normal", "浓度超出正常范围", "燃气浓度超过正常值", "偏离正常", "不是测试", "not_a_test",
    "no_test_real_alarm", "无法恢复", "gas_leak_restore_failed",
])
def test_a_calm_word_compared_against_does_not_mute_the_alarm_flag(word):
    for kind in ("gas_detector", "smoke_detector"):
        meant = "gas_alarm" if kind == "gas_detector" else "smoke_alarm"
        assert _flagged(kind, {"alarm": 1, "alarm_type": word}) == meant, (kind, word)
        assert _flagged(kind, {"alarm": 1, "alarm_type": word}, "telemetry") == meant


@pytest.mark.parametrize("word", ["自检", "SELF_TEST", "lowBattery", "恢复正常", "烟感自检"])
def test_a_calm_word_still_says_the_flag_is_no_alarm(word):
    assert _flagged("smoke_detector", {"alarm": 1, "alarm_type": word}) is None


@pytest.mark.parametrize(("kind", "said", "meant"), [
    ("camera", "object_drop", "falling_object"), ("camera", "drop_detect", "falling_object"),
    ("alarm_pole", "call_request", "button_pressed"), ("alarm_pole", "呼叫中心", "button_pressed"),
    ("radar", "lying_on_floor", "fall"),
])
def test_more_vendor_words_of_round_12_page(kind, said, meant):
    assert _flagged(kind, {"type": said}) == meant


def test_a_pile_heartbeat_s_integer_smoke_flag_is_its_alarm_and_keeps_the_reading():
    # Vendor round 12: `"smoke": 1` in a pile's heartbeat refused the whole heartbeat (95 °C
    # lost) and paged nothing; an integer 1 is the sensor's state (`1.0` stays a measure).
    body = {"power_w": 2100, "ports_in_use": 7, "temperature_c": 95, "smoke": 1}
    assert _flagged("charging_pile", body, "telemetry") == "smoke_alarm"
    assert _flagged("smoke_detector", {"smoke": 1.0, "temperature_c": 22}, "telemetry") is None


def test_a_bathroom_radar_s_posture_words_and_a_shed_camera_s_charging_words_are_read(gateway):
    # Vendor round 12: `posture: "躺"` refused a lone elder's heartbeat (a sign of life lost),
    # and a shed camera's 飞线充电 — which the guide sent here — was refused, three making a
    # "device fault".
    gateway.registry.register([device("RD-P1", "radar", grid="G-01"),
                               device("CAM-S1", "camera", grid="G-01")])
    sent = [("radar/RD-P1/telemetry", {"presence": True, "posture": p})
            for p in ("躺", "坐", "站立", "lie", "squatting")]
    sent += [("camera/CAM-S1/event", {"type": "飞线充电", "zone": "车棚", "confidence": 0.9}),
             ("camera/CAM-S1/event", {"type": "ebike_detected", "charging": True})]
    gateway.pipeline.process_batch([RawMessage(
        f"scgw/v1/{topic}", orjson.dumps({"ts": MS + n, "seq": 800 + n, **body}),
        received_at=T0) for n, (topic, body) in enumerate(sent)])
    postures = [orjson.loads(r["data"])["posture"] for r in gateway.store.query(
        "SELECT data FROM telemetry WHERE device_id = 'RD-P1' ORDER BY seq")]
    assert postures == ["lying", "sitting", "standing", "lying", "unknown"]
    events = gateway.store.query(
        "SELECT type, data FROM events WHERE device_id = 'CAM-S1' ORDER BY seq")
    assert [e["type"] for e in events] == ["ebike_detected", "ebike_detected"]
    assert orjson.loads(events[1]["data"])["charging"] is True


@pytest.mark.parametrize("word", ["smoke_alarm_muted", "烟雾报警(已消音)", "报警消音", "消音中",
                                  "muted", "hush", "alarm_silenced", "silenced"])
def test_a_detector_still_in_alarm_with_its_sounder_silenced_pages(word):
    # Red team round 12: the hush button silences the beeper, not the fire; a gateway that
    # missed the first alarm message never paged it.
    assert _flagged("smoke_detector", {"alarm": 1, "alarm_type": word}) == "smoke_alarm"


@pytest.mark.parametrize(("word", "meant"), [
    ("sos_low_battery", "sos"), ("SOS低电", "sos"), ("low_battery_sos", "sos"),
    ("heartbeat_sos", "sos"), ("心跳(SOS)", "sos"), ("sos_tamper", "sos"), ("sos_fault", "sos"),
    ("fall_low_battery", "fall"), ("跌倒报警 低电", "fall"),
])
def test_an_sos_with_a_state_beside_it_in_its_word_pages(word, meant):
    # Red team round 12: a band whose battery is low when the elder presses SOS, and whose
    # firmware joins its states into one word, was never paged (flag or type alike).
    assert _flagged("wristband", {"alarm": 1, "alarm_type": word}) == meant
    assert _flagged("wristband", {"alarm": 1, "alarm_type": word}, "telemetry") == meant
    assert _flagged("wristband", {"type": word}) == meant


@pytest.mark.parametrize(("kind", "word"), [
    ("wristband", "sos_test"), ("wristband", "SOS测试"), ("wristband", "跌倒恢复"),
    ("wristband", "low_battery_alarm"), ("smoke_detector", "smoke_low_battery"),
    ("smoke_detector", "低电报警"), ("alarm_pole", "low_battery_alarm"),
    ("gas_detector", "gas_sensor_fault"),
])
def test_a_test_an_end_or_a_detector_s_own_state_stays_no_alarm(kind, word):
    assert _flagged(kind, {"alarm": 1, "alarm_type": word}) is None


@pytest.mark.parametrize("word", ["温度报警", "端口过温", "插座过温", "充电口温度过高"])
def test_a_pile_s_own_socket_temperature_words_are_its_over_temperature(gateway, word):
    # Vendor round 12: each refused the over-temperature warning that comes before a fire.
    gateway.registry.register([device("CP-W1", "charging_pile", grid="G-01")])
    gateway.pipeline.process_batch([RawMessage("scgw/v1/charging_pile/CP-W1/event", orjson.dumps(
        {"ts": MS, "seq": 900, "type": word, "port": 3, "temperature_c": 92}), received_at=T0)])
    [row] = gateway.store.query("SELECT type FROM events WHERE device_id = 'CP-W1'")
    assert row["type"] == "over_temperature"


@pytest.mark.parametrize(("kind", "word", "meant"), [
    ("smoke_detector", "烟雾报警低电", "smoke_alarm"),
    ("gas_detector", "燃气报警低电", "gas_alarm"),
    ("smoke_detector", "烟雾报警 心跳", "smoke_alarm"),
    ("alarm_pole", "一键报警低电", "button_pressed"),
    ("smoke_detector", "烟雾报警器低电", None), ("smoke_detector", "烟雾报警测试", None),
])
def test_a_detector_s_alarm_word_with_a_state_beside_it_pages(kind, word, meant):
    # Red team round 12 re-check: `烟雾报警低电` (the alarm, the battery low) was lost; the
    # device's battery (`烟雾报警器低电`) and a test stay no alarm.
    assert _flagged(kind, {"alarm": 1, "alarm_type": word}) == meant
