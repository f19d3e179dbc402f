"""The alarm-pole, detector and water-meter contracts: closed vocabularies, urgent events, strict
types and ranges, commands — judged like ingest judges them (dead-letter reasons)."""

from __future__ import annotations

import orjson
import pytest
from pydantic import ValidationError

from devices.catalogue import CATALOGUE
from devices.codec import JsonCodec
from devices.errors import PayloadError

JSON = JsonCodec()
TS = 1795233480000
NEW = ("alarm_pole", "smoke_detector", "gas_detector", "water_meter")
DETECTOR_COMMON = {"alarm_cleared", "hushed", "self_test", "fault", "low_battery", "removed"}


def _decode(kind: str, channel: str, payload: str):
    return JSON.decode(CATALOGUE.get(kind), channel, payload.encode())  # type: ignore[arg-type]


def _reason(kind: str, channel: str, payload: str) -> str:
    with pytest.raises(PayloadError) as err:
        _decode(kind, channel, payload)
    return err.value.reason


def test_each_kind_has_the_vocabulary_and_urgent_events_of_the_issue():
    vocab = {k: set(CATALOGUE.kinds[k].vocabulary()) for k in NEW}
    assert vocab == {
        "alarm_pole": {"button_pressed", "snapshot", "call_connected", "call_ended", "tamper",
                       "fault", "tilt", "leakage", "lamp_failure", "power_failure",
                       "power_restored"},
        "smoke_detector": {"smoke_alarm"} | DETECTOR_COMMON,
        "gas_detector": {"gas_alarm", "valve_closed", "valve_fault"} | DETECTOR_COMMON,
        "water_meter": {"tamper", "low_battery", "valve_fault", "burst", "fault"},
    }
    urgent = {k: CATALOGUE.kinds[k].urgent for k in NEW}
    assert urgent == {"alarm_pole": ("button_pressed",), "smoke_detector": ("smoke_alarm",),
                      "gas_detector": ("gas_alarm",), "water_meter": ()}


@pytest.mark.parametrize(("kind", "payload"), [
    ("alarm_pole", '{"ts": %d, "mains_v": 221.5, "battery_pct": 100, "network": "4g"}'),
    ("alarm_pole", '{"ts": %d, "seq": 1, "type": "button_pressed", "camera_id": "CAM-3001"}'),
    ("smoke_detector", '{"ts": %d, "type": "smoke_alarm", "room": "kitchen"}'),
    ("gas_detector", '{"ts": %d, "lel_pct": 0.4}'),
    ("gas_detector", '{"ts": %d, "type": "gas_alarm", "gas": "lpg", "valve_closed": true}'),
    ("water_meter", '{"ts": %d, "total_l": 183431.5, "flow_l_min": 0, "valve": "closed"}'),
])
def test_contract_payloads_are_accepted(kind, payload):
    channel = "event" if '"type"' in payload else "telemetry"
    assert _decode(kind, channel, payload % TS).ts is not None


@pytest.mark.parametrize(("kind", "channel", "payload", "reason"), [
    # Strict JSON types: a number is a number, a boolean a boolean.
    ("gas_detector", "telemetry", '{"ts": %d, "lel_pct": "25"}', "schema_invalid"),
    ("gas_detector", "event", '{"ts": %d, "type": "gas_alarm", "valve_closed": "yes"}',
     "schema_invalid"),
    ("water_meter", "telemetry", '{"ts": %d, "total_l": NaN}', "schema_invalid"),  # no NaN
    # Ranges.
    ("alarm_pole", "telemetry", '{"ts": %d, "mains_v": 400}', "out_of_range"),
    ("gas_detector", "telemetry", '{"ts": %d, "lel_pct": 120}', "out_of_range"),
    ("water_meter", "telemetry", '{"ts": %d, "total_l": -1}', "out_of_range"),
    ("water_meter", "telemetry", '{"ts": %d, "flow_l_min": 5000}', "out_of_range"),
    # Closed words.
    ("water_meter", "telemetry", '{"ts": %d, "valve": "half"}', "schema_invalid"),
    ("alarm_pole", "telemetry", '{"ts": %d, "network": "lora"}', "schema_invalid"),
    ("smoke_detector", "event", '{"ts": %d, "type": "gas_alarm"}', "unknown_event_type"),
    ("water_meter", "event", '{"ts": %d, "type": "leak"}', "unknown_event_type"),
    # Required fields, unknown fields.
    ("smoke_detector", "event", '{"ts": %d, "type": "self_test"}', "schema_invalid"),
    ("gas_detector", "event", '{"ts": %d, "type": "low_battery"}', "schema_invalid"),
    ("alarm_pole", "event", '{"ts": %d, "type": "call_ended"}', "schema_invalid"),
    ("alarm_pole", "event", '{"ts": %d, "type": "button_pressed", "camera": "C"}',
     "schema_invalid"),
    ("alarm_pole", "event", '{"ts": %d, "type": "button_pressed", "camera_id": "no spaces"}',
     "schema_invalid"),
    ("smoke_detector", "event", '{"ts": %d, "type": "smoke_alarm", "room": "%s"}',
     "schema_invalid"),
    # A link operators may open fetches a picture, nothing else (vendor round 2).
    ("alarm_pole", "event", '{"ts": %d, "type": "button_pressed", '
     '"snapshot_ref": "javascript:alert(document.cookie)"}', "schema_invalid"),
    ("alarm_pole", "event", '{"ts": %d, "type": "button_pressed", '
     '"snapshot_ref": "data:text/html,<script>x</script>"}', "schema_invalid"),
])
def test_what_the_contract_refuses_is_dead_lettered_with_its_reason(kind, channel, payload,
                                                                   reason):
    body = payload % ((TS, "k" * 33) if "%s" in payload else TS)
    assert _reason(kind, channel, body) == reason


def test_an_urgent_event_schema_requires_its_type():
    from gateway.schemas import payload_schemas

    schemas = payload_schemas()
    for kind in NEW:
        assert "type" not in schemas[f"{kind}.telemetry.json"].get("required", [])
        variants = schemas[f"{kind}.event.json"]["$defs"].values()
        assert all("type" in v.get("required", []) for v in variants if "properties" in v
                   and "type" in v["properties"])


def test_commands_are_declared_with_checked_arguments_and_short_lives():
    pole, gas, meter = (CATALOGUE.kinds[k] for k in ("alarm_pole", "gas_detector",
                                                     "water_meter"))
    assert pole.commands == ("sound_siren",)
    assert gas.commands == ("self_test", "close_valve")
    assert CATALOGUE.kinds["smoke_detector"].commands == ("self_test",)
    siren = pole.command("sound_siren")
    assert siren is not None and siren.args(duration_s=60).duration_s == 60
    with pytest.raises(ValidationError):
        siren.args(duration_s=3600)
    valve = meter.command("set_valve")
    assert valve is not None and valve.args(state="closed").state == "closed"
    with pytest.raises(ValidationError):
        valve.args(state="half")
    # A siren is worth nothing minutes late; a valve may wait for a battery meter to wake.
    assert siren.max_ttl_s <= 120 and valve.ttl_s >= 300


@pytest.mark.parametrize(("said", "day"), [
    (1805040000000, "2027-03-15"),  # 2027-03-14 16:00 UTC: midnight in China
    ("1805040000", "2027-03-15"), (1804982400000, "2027-03-14"), ("2027-03-15", "2027-03-15")])
def test_an_expiry_sent_as_epoch_is_a_date_of_china_s_calendar(said, day):
    # Vendor round 10: 2027-03-15 00:00 Beijing time, as epoch ms, was read as the UTC date.
    payload = orjson.dumps({"ts": TS, "expires_on": said}).decode()
    reading = _decode("extinguisher", "telemetry", payload)
    assert reading.expires_on.isoformat() == day
