"""Declared bounds on comparisons, and thresholds changed while the engine runs: checked
against the bounds, addressed by index (a schedule's inner threshold too), every device's
state kept, stored, and at start-up re-applied or — outside what the file now allows —
ignored with a warning naming the rule."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from devices.catalogue import CATALOGUE
from gateway.clock import ManualClock
from rules.conditions.base import ThresholdError
from rules.errors import RuleSetError
from rules.loader import load_rules
from tests.conftest import T0
from tests.rules.harness import Harness

# Runs on SQLite and on PostgreSQL (docs/storage.md: which tests run on both).
pytestmark = pytest.mark.both_backends

RULES = """
rules:
  - id: custom.battery
    name: {{zh: 电量低, en: Battery low}}
    kind: wristband
    condition: {{type: threshold, signal: battery_pct, op: lt, value: 20, hysteresis: 10,
                {battery_bounds}}}
    severity: minor
    category: device_fault
  - id: custom.spo2
    name: {{zh: 血氧低, en: SpO2 low}}
    kind: wristband
    condition: {{type: duration, signal: spo2_pct, op: lt, value: 90, hysteresis: 2,
                for_s: 300, min_samples: 2, bounds: {{min: 80, max: 95}}}}
    severity: major
    category: health
  - id: custom.night_heart
    name: {{zh: 夜间心率, en: Night heart rate}}
    kind: wristband
    condition:
      type: schedule
      windows: [{{start: "22:00", end: "06:00"}}]
      condition: {{type: threshold, signal: heart_rate_bpm, op: outside, low: 40, high: 110,
                  hysteresis: 5, bounds: {{min: 30, max: 150}}}}
    severity: major
    category: health
  - id: custom.fixed
    name: {{zh: 固定, en: Fixed}}
    kind: wristband
    condition: {{type: threshold, signal: steps, op: gt, value: 50000}}
    severity: info
    category: health
"""


def _write(folder: Path, battery_bounds: str = "bounds: {min: 5, max: 50}") -> Path:
    path = folder / "custom.yaml"
    path.write_text(RULES.format(battery_bounds=battery_bounds), encoding="utf-8")
    return path


def _alerts(h: Harness, rule_id: str) -> list[dict]:
    return h.store.query("SELECT state, device_id, opened_at FROM alerts WHERE rule_id = ?",
                         (rule_id,))


@pytest.fixture
def harness(tmp_path: Path, database_url: str):
    h = Harness(tmp_path, [_write(tmp_path)], ManualClock(T0), url=database_url)
    yield h
    h.close()


def _retune(h: Harness, rule_id: str, changes: dict, index: int = 0) -> None:
    plan = h.engine.plan_retune(rule_id, index, changes)
    h.do(lambda tx: h.engine.apply_retune(tx, plan, "admin", "test"))


@pytest.mark.parametrize(("bounds", "words"), [
    ("bounds: {min: 25, max: 50}", "value 20 lies outside bounds [25, 50]"),
    ("bounds: {min: 50, max: 5}", "bounds need min < max"),
    ("bounds: {min: 5}", "Field required"),
    ("bounds: {min: 5, max: .inf}", "finite number"),
])
def test_a_file_whose_numbers_break_its_own_bounds_does_not_load(tmp_path, bounds, words):
    path = _write(tmp_path, bounds)
    with pytest.raises(RuleSetError) as info:
        load_rules([path], tuple(CATALOGUE.kinds))
    [error] = info.value.errors
    assert error.rule_id == "custom.battery" and error.field.startswith("condition")
    assert words in error.message and str(path) in str(info.value)


def test_a_threshold_without_bounds_or_a_rule_without_threshold_is_not_editable(harness):
    with pytest.raises(ThresholdError, match="declares no bounds"):
        harness.engine.plan_retune("custom.fixed", 0, {"value": 1000})
    with pytest.raises(KeyError):
        harness.engine.plan_retune("no.such", 0, {"value": 1})
    assert [t.path for t in harness.engine.tunables("custom.night_heart")] == ["condition."]
    assert harness.store.query("SELECT * FROM rule_thresholds") == []


def test_a_retune_keeps_what_each_device_was_doing(harness):
    h = harness
    h.telemetry("WB-1", battery_pct=15)
    assert [a["state"] for a in _alerts(h, "custom.battery")] == ["active"]
    _retune(h, "custom.battery", {"value": 10})
    h.telemetry("WB-1", battery_pct=16)  # no longer below the line, not yet past 10 + 10
    assert [a["state"] for a in _alerts(h, "custom.battery")] == ["active"]
    h.telemetry("WB-1", battery_pct=21)
    assert [a["state"] for a in _alerts(h, "custom.battery")] == ["cleared"]
    h.telemetry("WB-2", battery_pct=12)  # between the old 20 and the new 10: fine now
    assert len(_alerts(h, "custom.battery")) == 1

    h.telemetry("WB-1", spo2_pct=86)  # a hold starts under the file's 90
    h.clock.advance(100)
    _retune(h, "custom.spo2", {"value": 88})
    h.telemetry("WB-1", spo2_pct=87)  # still past the new line: the same hold goes on
    h.clock.advance(200)
    h.tick()
    [alert] = _alerts(h, "custom.spo2")
    assert alert["opened_at"] == T0 + 300  # from the first reading, not from the change


def test_a_schedules_inner_threshold_is_retuned_by_index(harness):
    h = harness
    h.clock.advance(11 * 3600)  # 23:00 in Jining: inside the window
    _retune(h, "custom.night_heart", {"high": 95})
    h.telemetry("WB-1", heart_rate_bpm=100)
    assert [a["state"] for a in _alerts(h, "custom.night_heart")] == ["active"]
    [row] = h.store.query("SELECT rule_id, cond_index, signal, params FROM rule_thresholds")
    assert row == {"rule_id": "custom.night_heart", "cond_index": 0,
                   "signal": "heart_rate_bpm", "params": '{"high":95.0}'}


def test_stored_changes_come_back_at_start_up_unless_the_file_now_forbids_them(tmp_path,
                                                                                caplog,
                                                                                database_url):
    h = Harness(tmp_path, [_write(tmp_path)], ManualClock(T0), url=database_url)
    _retune(h, "custom.battery", {"value": 40})
    _retune(h, "custom.spo2", {"value": 85})
    h.close()
    narrower = _write(tmp_path, "bounds: {min: 5, max: 30}")
    with caplog.at_level(logging.WARNING, logger="rules.engine"):
        h2 = Harness(tmp_path, [narrower], ManualClock(T0), url=database_url)
    try:
        warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warned) == 1 and "custom.battery" in warned[0]
        assert "outside the declared bounds [5, 30]" in warned[0]
        assert h2.engine.tunables("custom.battery")[0].current.value == 20  # the file's
        assert h2.engine.tunables("custom.spo2")[0].current.value == 85  # kept
    finally:
        h2.close()
