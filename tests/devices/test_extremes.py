"""Fields that declare a danger direction (devices/extremes.py): a value past the bound that
way is repaired to the bound, noted; past the other bound, or on a field that declares
nothing, it stays refused (red team round 12, R12-4/R12-5)."""

from __future__ import annotations

import orjson
import pytest

from devices.catalogue import CATALOGUE
from devices.extremes import DANGER, DISPLAY, _declared
from devices.repair import repaired

TS = 1795233600000


def _repair(kind: str, channel: str, **fields):
    found = repaired(CATALOGUE.get(kind), channel, orjson.dumps({"ts": TS, **fields}))
    return (orjson.loads(found[0]), found[1]) if found is not None else None


def test_every_declared_danger_has_a_bound_that_way_and_display_words_inside_the_range():
    declared = 0
    for kind in CATALOGUE.kinds.values():
        for model in (kind.telemetry, *kind.events):
            for name, info in model.model_fields.items():
                extra = info.json_schema_extra
                if not isinstance(extra, dict) or DANGER not in extra:
                    continue
                declared += 1
                direction, low, high, words = _declared(model, name)
                assert high is not None or direction == "low", (model.__name__, name)
                assert low is not None or direction == "high", (model.__name__, name)
                for value in words.values():
                    assert low <= value <= high, (model.__name__, name, extra[DISPLAY])
    assert declared >= 10


@pytest.mark.parametrize(("kind", "channel", "fields", "kept"), [
    ("charging_pile", "telemetry", {"temperature_c": 250}, {"temperature_c": 200}),
    ("charging_pile", "telemetry", {"temperature_c": "300"}, {"temperature_c": 200}),
    ("charging_pile", "event", {"type": "over_temperature", "temperature_c": 260},
     {"temperature_c": 200}),
    ("wristband", "telemetry", {"glucose_mmol_l": 0.8}, {"glucose_mmol_l": 1.0}),
    ("wristband", "telemetry", {"glucose_mmol_l": " Hi "}, {"glucose_mmol_l": 33.3}),
    ("wristband", "telemetry", {"spo2_pct": 35}, {"spo2_pct": 50}),
    ("wristband", "telemetry", {"heart_rate_bpm": 12}, {"heart_rate_bpm": 20}),
    ("wristband", "telemetry", {"systolic_mmhg": 40, "diastolic_mmhg": 30},
     {"systolic_mmhg": 50, "diastolic_mmhg": 30}),
    ("gas_detector", "telemetry", {"lel_pct": 999}, {"lel_pct": 100}),
    ("gas_detector", "telemetry", {"co_ppm": 2_000_000}, {"ppm": 1_000_000}),
    ("gas_detector", "event", {"type": "gas_alarm", "lel_pct": 150}, {"lel_pct": 100}),
    ("smoke_detector", "telemetry", {"temperature_c": 130}, {"temperature_c": 120}),
])
def test_a_value_past_its_dangerous_bound_is_kept_at_the_bound(kind, channel, fields, kept):
    found = _repair(kind, channel, **fields)
    assert found is not None
    data, notes = found
    assert {k: data[k] for k in kept} == kept
    assert any("range" in note for note in notes), notes


@pytest.mark.parametrize(("kind", "fields"), [
    ("charging_pile", {"temperature_c": -80}),    # no socket that cold: a fault
    ("gas_detector", {"lel_pct": -3}),
    ("wristband", {"heart_rate_bpm": 300}),       # no wrist reads that
    ("wristband", {"glucose_mmol_l": "high"}),    # only the meter's own words
    ("wristband", {"body_temp_c": 50}),           # declares no danger
    ("wristband", {"battery_pct": 120}),
])
def test_past_the_harmless_bound_or_undeclared_it_stays_refused(kind, fields):
    assert _repair(kind, "telemetry", **fields) is None


def test_a_lone_half_of_a_blood_pressure_is_read_and_a_zero_half_is_left_out():
    codec = CATALOGUE.telemetry_adapter("wristband")
    assert codec.validate_json(orjson.dumps({"ts": TS, "systolic_mmhg": 230})).systolic_mmhg \
        == 230
    assert codec.validate_json(orjson.dumps({"ts": TS, "diastolic_mmhg": 125})).diastolic_mmhg \
        == 125
    data, notes = _repair("wristband", "telemetry", systolic_mmhg=231, diastolic_mmhg=0)
    assert data == {"ts": TS, "systolic_mmhg": 231}
    assert len(notes) == 1 and "diastolic_mmhg" in notes[0] and "not measured" in notes[0]
