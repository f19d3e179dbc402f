"""Rule files: the built-in pack loads; every kind of mistake names file, rule and field."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from devices.catalogue import CATALOGUE
from gateway.clock import ManualClock
from rules.conditions import DECLARED
from rules.conditions.geofence import shape
from rules.conditions.schedule import Window
from rules.engine import Engine, EngineConfig
from rules.errors import RuleSetError
from rules.loader import load_rules, rule_files
from rules.model import Zone
from tests.rules.harness import Directory

KINDS = tuple(CATALOGUE.kinds)
GOOD = """
  - id: custom.x
    name: {zh: 甲, en: X}
    kind: wristband
    condition: {type: event, event: sos}
    severity: major
    category: sos
"""


def _load(tmp_path: Path, text: str) -> RuleSetError:
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RuleSetError) as info:
        ruleset = load_rules([path], KINDS)
        Engine(ruleset, EngineConfig(), clock=ManualClock(), devices=Directory())
    return info.value


def test_builtin_pack_covers_every_condition_kind():
    ruleset = load_rules(rule_files(pack=True, extra_dir=None), KINDS)
    engine = Engine(ruleset, EngineConfig(), clock=ManualClock(), devices=Directory())
    used = {r.condition.type for r in ruleset.rules}
    used |= {r.condition.condition.type for r in ruleset.rules if r.condition.type == "schedule"}
    assert used == {d.type for d in DECLARED}
    in_files = sum(len(yaml.safe_load(f.read_text(encoding="utf-8")).get("rules") or [])
                   for f in rule_files(pack=True, extra_dir=None))
    assert len(engine.evaluators) == len(ruleset.rules) == in_files >= 21


@pytest.mark.parametrize(("text", "rule", "field"), [
    ("rules:\n  - id: custom.x\n    name: {zh: 甲, en: X}\n    kind: wristband\n"
     "    condition: {type: event, event: sos}\n    severity: huge\n    category: sos\n",
     "custom.x", "severity"),
    (f"rules:{GOOD}    colour: red\n", "custom.x", "colour"),
    (f"rules:{GOOD.replace('event: sos}', 'event: sos, wher: {}}')}", "custom.x",
     "condition.wher"),
    (f"rules:{GOOD.replace('type: event', 'type: teleport')}", "custom.x", "condition"),
    (f"rules:{GOOD.replace('event: sos', 'event: explode')}", "custom.x", "condition.event"),
    (f"rules:{GOOD.replace('kind: wristband', 'kind: toaster')}", "custom.x", "kind"),
    (f"rules:{GOOD.replace('event: sos}', 'event: sos, where: {zone: a}}')}", "custom.x",
     "condition.where.zone"),
    (f"rules:{GOOD}{GOOD}", "custom.x", "id"),
    ("rules:\n  - id: custom.g\n    name: {zh: 甲, en: X}\n    kind: wristband\n"
     "    condition: {type: geofence, zones: [nowhere]}\n    severity: major\n"
     "    category: wandering\n", "custom.g", "condition.zones"),
    ("rules:\n  - id: custom.s\n    name: {zh: 甲, en: X}\n    kind: wristband\n"
     "    condition:\n      type: schedule\n      windows: [{start: '25:00', end: '08:00'}]\n"
     "      condition: {type: event, event: sos}\n    severity: major\n    category: sos\n",
     "custom.s", "condition.windows.0.start"),
])
def test_mistakes_name_file_rule_and_field(tmp_path, text, rule, field):
    error = _load(tmp_path, text)
    assert any(e.rule_id == rule and e.field == field for e in error.errors), error
    assert str(tmp_path / "bad.yaml") in str(error)


def test_file_level_mistakes(tmp_path):
    assert _load(tmp_path, "rules: [\n").errors[0].field == "yaml"
    error = _load(tmp_path, "inhibitions:\n  - {id: x, source_rules: [nope], "
                            "target_rules: [device.offline]}\n")
    assert error.errors[0].field == "inhibitions.x.source_rules"
    error = _load(tmp_path, "zones:\n  - {name: z1}\n")
    assert error.errors[0].field == "zones.z1"


def test_polygon_and_circle_membership():
    square = shape(Zone(name="sq", polygon=[(35.0, 116.0), (35.0, 116.01), (35.01, 116.01),
                                            (35.01, 116.0)]))
    assert square(35.005, 116.005) and not square(35.02, 116.005)
    circle = shape(Zone.model_validate({"name": "c", "circle": {"lat": 35.0, "lon": 116.0,
                                                                "radius_m": 100}}))
    assert circle(35.0005, 116.0) and not circle(35.002, 116.0)  # ~55 m in, ~220 m out


def test_schedule_window_crossing_midnight_in_community_time():
    tz = ZoneInfo("Asia/Shanghai")
    night = Window(days=["fri"], start="22:00", end="06:00")
    assert night.contains(datetime(2026, 11, 20, 23, 0, tzinfo=tz))  # Friday 23:00
    assert night.contains(datetime(2026, 11, 21, 5, 59, tzinfo=tz))  # Saturday 05:59
    assert not night.contains(datetime(2026, 11, 21, 23, 0, tzinfo=tz))  # Saturday night
    assert not night.contains(datetime(2026, 11, 20, 12, 0, tzinfo=tz))
