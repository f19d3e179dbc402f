"""Device models and codecs: ranges, reasons, vendor dialects, topics."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from devices import topics
from devices.catalogue import CATALOGUE, DECLARED
from devices.errors import DecodeError, PayloadError, TopicError
from devices.vendors import get_codec
from gateway.rejections import REJECT_REASONS

WB = CATALOGUE.get("wristband")
JSON = get_codec("json")


def test_every_kind_declares_a_closed_vocabulary_of_events():
    vocab = {k.key: set(k.vocabulary()) for k in DECLARED
             if k.key in ("wristband", "access", "camera", "locker")}
    assert vocab == {
        "wristband": {"sos", "fall", "fall_warning", "fall_cancelled", "removed", "worn",
                      "low_battery"},
        "access": {"unlock", "door_opened", "door_closed", "locked", "low_battery", "denied",
                   "forced_open", "held_open", "fence_intrusion", "fence_restored", "armed",
                   "disarmed", "duress", "tamper", "fault", "stranger", "blacklisted",
                   "tailgating"},
        "camera": {"falling_object", "fire_lane_blocked", "fire_lane_cleared",
                   "ebike_detected", "ebike_left"},
        "locker": {"parcel_deposited", "parcel_picked_up", "parcel_returned",
                   "door_open_timeout", "tamper", "fault", "low_battery", "tool_borrowed",
                   "tool_returned"},
    }


@pytest.mark.parametrize("ts", ["2026-11-21T12:00:00+08:00", "2026-11-21T04:00:00Z",
                                1795233600000])
def test_timestamps_in_rfc3339_or_epoch_ms_mean_the_same_instant(ts):
    payload = f'{{"ts": {ts!r}}}'.replace("'", '"').encode()
    decoded = JSON.decode(WB, "telemetry", payload)
    assert decoded.ts == datetime(2026, 11, 21, 4, tzinfo=UTC)


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b'{"ts": "2026-11-21T12:00:00"}', "schema_invalid"),  # no offset: ambiguous
        (b'{"ts": 1795233600}', "out_of_range"),  # seconds, not ms
        (b'{"ts": true}', "schema_invalid"),
        (b'{"ts": 1795233600000, "spo2_pct": 49}', "out_of_range"),
        (b'{"ts": 1795233600000, "location": {"lat": 91, "lon": 0, "accuracy_m": 5}}',
         "out_of_range"),
        (b'{"ts": 1795233600000, "systolic_mmhg": 120.5}', "schema_invalid"),
        (b'{"ts": 1795233600000, "battery_pct": 101}', "out_of_range"),
        (b'\xff\xfe', "malformed_json"),
        (b'"just a string"', "schema_invalid"),
    ],
)
def test_wristband_telemetry_rejections_carry_their_reason(payload, reason):
    with pytest.raises(PayloadError) as info:
        JSON.decode(WB, "telemetry", payload)
    assert info.value.reason == reason


def test_status_accepts_bare_words_and_objects():
    assert JSON.decode(WB, "status", b"offline").state == "offline"
    assert JSON.decode(WB, "status", b' online\n').state == "online"
    assert JSON.decode(WB, "status", b"ONLINE").state == "online"  # firmware shouting
    assert JSON.decode(WB, "status", b'{"state": "online"}').state == "online"
    with pytest.raises(PayloadError):
        JSON.decode(WB, "status", b"sleeping")
    # Vendor round 2: a will naming why (`reason`), `"Online"` in JSON, a broken `ts` — the
    # device's presence is what matters; the rest is ignored.
    will = JSON.decode(WB, "status", b'{"state": "offline", "reason": "power", "ts": "x"}')
    assert (will.state, will.ts) == ("offline", None)
    assert JSON.decode(WB, "status", b'{"State": "Online", "seq": 3}').seq == 3
    for refused in (b'{"state": "sleeping"}', b'{"reason": "power"}', b'["online"]'):
        with pytest.raises(PayloadError):
            JSON.decode(WB, "status", refused)


def test_door_controllers_report_the_ways_chinese_readers_open():
    access = CATALOGUE.kinds["access"]
    for method in ("fingerprint", "id_card", "bluetooth", "nfc", "face"):
        event = JSON.decode(access, "event", orjson.dumps(
            {"ts": 1795233600000, "type": "unlock", "method": method}))
        assert event.method == method


def test_hx_band_dialect_maps_onto_our_models():
    hx = get_codec("hx_band")
    t = hx.decode(WB, "telemetry", b'{"t": 1795233600, "n": 3, "hr": 70, "bp": "128/82",'
                                   b' "pos": [116.587, 35.415, 8], "bat": 55}')
    assert (t.heart_rate_bpm, t.systolic_mmhg, t.diastolic_mmhg, t.battery_pct) == (70, 128, 82, 55)
    assert (t.location.lat, t.location.lon, t.seq) == (35.415, 116.587, 3)
    e = hx.decode(WB, "event", b'{"t": 1795233600, "alarm": "FALL"}')
    assert e.type == "fall"
    with pytest.raises(PayloadError) as info:
        hx.decode(WB, "event", b'{"t": 1795233600, "alarm": "DANCE"}')
    assert info.value.reason == "unknown_event_type"
    with pytest.raises(PayloadError) as info:
        hx.decode(WB, "telemetry", b'{"t": 1795233600, "hr": 400}')
    assert info.value.reason == "out_of_range"


def test_topics_parse_and_build():
    assert topics.parse("scgw/v1/locker/LK-1/cmd/ack") == ("locker", "LK-1", "cmd_ack")
    assert topics.topic("camera", "C1", "event") == "scgw/v1/camera/C1/event"
    for bad in ("scgw/v2/locker/LK-1/event", "scgw/v1/locker/LK 1/event",
                "scgw/v1/locker/LK-1/cmd", "other/v1/a/b/event", "scgw/v1/locker"):
        with pytest.raises(TopicError):
            topics.parse(bad)
    assert topics.subscriptions() == ["scgw/v1/+/+/#"]  # misspelt channels are seen too
    assert topics.is_outbound("scgw/v1/wristband/WB-1/event/ack")
    assert not topics.is_outbound("scgw/v1/wristband/WB-1/event")


@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_escape_as_anything_but_decode_errors(data):
    for kind in DECLARED:
        for channel in ("telemetry", "event", "status", "cmd_ack"):
            with contextlib.suppress(DecodeError):
                JSON.decode(kind, channel, data)


@given(st.dictionaries(st.sampled_from(["ts", "seq", "heart_rate_bpm", "spo2_pct", "steps",
                                        "worn", "location", "type"]),
                       st.one_of(st.integers(), st.floats(), st.text(max_size=5), st.none(),
                                 st.booleans())))
def test_arbitrary_objects_are_accepted_or_refused_with_a_known_reason(obj):
    try:
        payload = orjson.dumps(obj)
    except (TypeError, orjson.JSONEncodeError):
        return
    try:
        JSON.decode(WB, "telemetry", payload)
    except PayloadError as exc:
        assert exc.reason in REJECT_REASONS


STRICT_CASES = [
    # (kind, channel, payload, reason): the v1 contract takes JSON types as they are.
    ("wristband", "telemetry", {"heart_rate_bpm": "71"}, "schema_invalid"),
    ("wristband", "telemetry", {"worn": "yes"}, "schema_invalid"),
    ("wristband", "telemetry", {"seq": "5"}, "schema_invalid"),
    ("wristband", "telemetry", {"seq": 5.0}, "schema_invalid"),
    ("wristband", "telemetry", {"steps": True}, "schema_invalid"),
    ("wristband", "telemetry", {"spo2_pct": "NaN"}, "schema_invalid"),
    ("access", "event", {"type": "held_open", "open_s": "200"}, "schema_invalid"),
    ("locker", "telemetry", {"temperature_c": "21.5"}, "schema_invalid"),
]
# Values of the right type that cannot be right (vendor round 2): an empty label would make
# every parcel or door the same one; more compartments in use than the bank has; a dwell
# beyond a week is milliseconds or a counter never reset.
IMPOSSIBLE_CASES = [
    ("locker", "event", {"type": "parcel_deposited", "compartment": "", "parcel_id": "P1"},
     "compartment"),
    ("locker", "event", {"type": "parcel_picked_up", "compartment": "L-3", "parcel_id": ""},
     "parcel_id"),
    ("locker", "event", {"type": "tool_borrowed", "compartment": "T-1", "tool": ""}, "tool"),
    ("access", "event", {"type": "unlock", "method": "card", "door": ""}, "door"),
    ("locker", "telemetry", {"compartments_total": 10, "compartments_occupied": 48},
     "compartments_occupied 48 exceeds compartments_total 10"),
    ("camera", "event", {"type": "fire_lane_blocked", "zone": "FL-1", "confidence": 0.9,
                         "dwell_s": 700_000}, "dwell_s"),
    ("camera", "event", {"type": "fire_lane_cleared", "zone": ""}, "zone"),
]


@pytest.mark.parametrize(("kind", "channel", "fields", "named"), IMPOSSIBLE_CASES)
def test_impossible_values_are_refused_naming_the_field(kind, channel, fields, named):
    body = orjson.dumps({"ts": 1795233600000, **fields})
    with pytest.raises(PayloadError) as err:
        JSON.decode(CATALOGUE.get(kind), channel, body)
    assert err.value.reason in ("schema_invalid", "out_of_range")
    assert named in str(err.value)


@pytest.mark.parametrize(("kind", "channel", "fields", "reason"), STRICT_CASES)
def test_strings_are_not_numbers_and_words_are_not_booleans(kind, channel, fields, reason):
    body = orjson.dumps({"ts": 1795233600000, **fields})
    with pytest.raises(PayloadError) as err:
        JSON.decode(CATALOGUE.get(kind), channel, body)
    assert err.value.reason == reason


@pytest.mark.parametrize(("channel", "text"), [
    ("telemetry", '{"ts": 1795233600000, "spo2_pct": NaN}'),
    ("telemetry", '{"ts": 1795233600000, "body_temp_c": Infinity}'),
    ("telemetry", '{"ts": NaN}'),
    ("event", '{"ts": 1795233600000, "type": "fire_lane_blocked", "zone": "FL-1",'
              ' "confidence": 0.9, "dwell_s": Infinity}'),
    ("event", '{"ts": 1795233600000, "type": "falling_object", "confidence": 0.9,'
              ' "track": [{"t": NaN, "x": 1, "y": 2}]}'),
    ("cmd_ack", '{"id": "c1", "ok": true, "ts": 1795233600000, "result": {"v": [1, -Infinity]}}'),
    # Beyond 64 bits: the store's JSON could not hold it (it was stored and dead-lettered).
    ("cmd_ack", '{"id": "c1", "ok": true, "ts": 1795233600000,'
                ' "result": {"n": 1180591620717411303424}}'),
])
def test_nan_and_infinity_are_refused_everywhere(channel, text):
    kind = CATALOGUE.get("camera" if "zone" in text or "track" in text else "wristband")
    with pytest.raises(PayloadError) as err:
        JSON.decode(kind, channel, text.encode())
    assert err.value.reason == "schema_invalid"


@pytest.mark.parametrize("ts", ["0", 0, "1999-12-31T23:59:59Z", "0001-01-01T00:00:00+14:00",
                                "9999-12-31T23:59:59-14:00", "2200-01-01T00:00:00Z",
                                946_684_799_999, 10**20, "-1", "1e30", 1e300])
def test_every_datetime_edge_is_a_clean_out_of_range(ts):
    body = f'{{"ts": {ts}}}' if isinstance(ts, int | float) else orjson.dumps({"ts": ts})
    with pytest.raises(PayloadError) as err:
        JSON.decode(WB, "telemetry", body.encode() if isinstance(body, str) else body)
    assert err.value.reason == "out_of_range"


@pytest.mark.parametrize("ts", ["2026-11-21T12:00:00", "yesterday", "1795233600000", True, None,
                                [], {}])
def test_timestamps_without_offset_or_as_text_numbers_are_schema_errors(ts):
    with pytest.raises(PayloadError) as err:
        JSON.decode(WB, "telemetry", orjson.dumps({"ts": ts}))
    assert err.value.reason == "schema_invalid"


def _json_number(value: float) -> str:
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    return repr(value)


@given(st.one_of(st.integers(min_value=-(10**400), max_value=10**400),
                 st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=40)))
def test_no_timestamp_value_escapes_as_anything_but_a_refusal_reason(ts):
    if isinstance(ts, str):
        text = orjson.dumps(ts).decode()
    else:
        text = repr(ts) if isinstance(ts, int) else _json_number(ts)
    try:
        JSON.decode(WB, "telemetry", f'{{"ts": {text}}}'.encode())
    except PayloadError as err:
        assert err.reason in ("schema_invalid", "out_of_range", "malformed_json")


@pytest.mark.parametrize(("fields", "hint"), [
    ({"battery_pct": 3900}, "looks like millivolts"),
    ({"location": {"lat": 3524.9, "lon": 116.58, "accuracy_m": 5}},
     "35°24.9′ is 35.415000 degrees"),
    ({"body_temp_c": 365}, "365 → 36.5"),
    ({"ts": 1795233600000000}, "looks like epoch microseconds"),
])
def test_a_unit_mistake_is_named_in_its_refusal(fields, hint):
    # Vendor round 3: millivolts, NMEA degrees-minutes, tenths of a degree and microseconds
    # got a generic "less than or equal to …" that left the firmware engineer guessing.
    body = orjson.dumps({"ts": 1795233600000, **fields})
    with pytest.raises(PayloadError) as err:
        JSON.decode(WB, "telemetry", body)
    assert err.value.reason == "out_of_range" and hint in str(err.value)


def test_what_firmware_writes_for_presence_network_and_an_ack_is_read():
    # Vendor round 4: a status as a JSON string or under `status`, a pole's `"4G"`, and acks
    # saying `ok: 1`, `"true"` or `code: 0` were refused (the last ended as timeouts).
    from devices.codec import JsonCodec
    from devices.salvage import salvage_ack
    codec, pole = JsonCodec(), CATALOGUE.kinds["alarm_pole"]
    assert codec.decode(pole, "status", b'"online"').state == "online"
    assert codec.decode(pole, "status", b'{"status": "OFFLINE"}').state == "offline"
    assert codec.decode(pole, "telemetry", b'{"ts": 1795233600000, "network": "4G"}'
                        ).network == "4g"
    said = {p: salvage_ack(p, 1795233600.0) for p in (
        b'{"id": "c1", "ok": 1, "ts": 1795233600000}',
        b'{"id": "c1", "ok": "true", "ts": 1795233600000}',
        b'{"id": "c1", "code": 0, "ts": 1795233600000}',
        b'{"id": "c1", "code": 3, "ts": 1795233600000}',
        b'{"id": "c1", "ok": "maybe", "ts": 1795233600000}')}
    assert [r[0].ok if r else None for r in said.values()] == [True, True, True, False, None]
