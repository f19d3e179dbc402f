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
from gateway.decode import REJECT_REASONS

WB = CATALOGUE.get("wristband")
JSON = get_codec("json")


def test_every_kind_declares_a_closed_vocabulary_of_events():
    vocab = {k.key: set(k.vocabulary()) for k in DECLARED}
    assert vocab == {
        "wristband": {"sos", "fall", "removed", "worn", "low_battery"},
        "access": {"unlock", "denied", "forced_open", "held_open", "fence_intrusion"},
        "camera": {"falling_object", "fire_lane_blocked", "fire_lane_cleared"},
        "locker": {"parcel_deposited", "parcel_picked_up", "door_open_timeout", "tamper",
                   "tool_borrowed", "tool_returned"},
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
        (b'{"ts": 1795233600000, "systolic_mmhg": 120}', "schema_invalid"),
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
    assert JSON.decode(WB, "status", b'{"state": "online"}').state == "online"
    with pytest.raises(PayloadError):
        JSON.decode(WB, "status", b"sleeping")


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
    subs = topics.subscriptions()
    assert "scgw/v1/+/+/cmd/ack" in subs and "scgw/v1/+/+/cmd" not in subs


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
