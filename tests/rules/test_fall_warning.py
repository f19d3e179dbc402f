"""A band's suspected fall (跌倒预警) and its wearer's "I'm fine" (跌倒取消): a pre-alarm is no
confirmed fall — it pages only when nobody answers it (vendor round 9: `fall_warning` with
confidence 0.45 paged a critical fall, the family's siren and an urgent job, and the wearer's
cancel was refused)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.rules.conftest import Rig

BAND = "WB-1001"


def _stored_types(rig: Rig) -> list[str]:
    rows = rig.gw.store.query("SELECT type FROM events WHERE device_id = ? ORDER BY id", (BAND,))
    return [r["type"] for r in rows]


def _tickets(rig: Rig) -> list[dict[str, Any]]:
    return rig.gw.store.query("SELECT category, priority FROM tickets WHERE device_id = ?",
                              (BAND,))


def test_a_suspected_fall_the_wearer_answers_pages_nobody(rig: Rig) -> None:
    rig.event(BAND, "fall_warning", confidence=0.45)
    shown = rig.open("wristband.fall_warning", BAND)
    assert (shown["severity"], shown["category"]) == ("minor", "fall")
    assert json.loads(shown["detail"])["confidence"] == 0.45
    assert rig.alerts("wristband.fall", BAND) == []
    rig.advance(30)
    rig.event(BAND, "fall_cancelled")
    assert rig.open("wristband.fall_warning", BAND) is None
    rig.advance(600)  # past the minor grace and the minute: no job, nothing critical
    assert rig.alerts("wristband.fall_warning_unanswered", BAND) == []
    assert _tickets(rig) == []
    assert not [c for c in rig.changes if c.pages and c.alert.severity == "critical"]


def test_a_suspected_fall_nobody_answers_pages_critical_after_a_minute(rig: Rig) -> None:
    rig.event(BAND, "fall_warning")
    rig.advance(59)
    assert rig.alerts("wristband.fall_warning_unanswered", BAND) == []
    rig.advance(2)
    alert = rig.open("wristband.fall_warning_unanswered", BAND)
    assert (alert["severity"], alert["category"], alert["state"]) == ("critical", "fall",
                                                                      "active")
    assert [(t["category"], t["priority"]) for t in _tickets(rig)] == [("fall", "urgent")]


def test_a_band_repeating_its_suspected_fall_pages_a_minute_after_the_first(rig: Rig) -> None:
    # Red team round 11: each repeat (every 40 s, as a band does while its wearer does not
    # answer) restarted the minute — never paged while it went on.
    for _ in range(3):
        rig.event(BAND, "fall_warning", confidence=0.8)
        rig.advance(25)  # repeats at 25 and 50 s
    # 75 s after the first warning, 25 s after the last: paged at 60 s.
    assert rig.open("wristband.fall_warning_unanswered", BAND)["severity"] == "critical"


def test_a_suspected_fall_is_confirmed_to_the_band(rig: Rig) -> None:
    # … and the band that resends it until told it arrived is told.
    told: list[dict[str, Any]] = []
    rig.gw.confirmations._publish = lambda t, body, qos: told.append(json.loads(body))
    rig.event(BAND, "fall_warning", confidence=0.8)
    rig.event(BAND, "fall_cancelled")
    assert [(b["type"], b["status"]) for b in told] == [("fall_warning", "stored"),
                                                        ("fall_cancelled", "stored")]


def test_a_suspected_fall_the_band_confirms_pages_as_one_fall(rig: Rig) -> None:
    rig.event(BAND, "fall_warning", confidence=0.5)
    rig.advance(20)
    rig.event(BAND, "fall", confidence=0.96)
    assert rig.open("wristband.fall", BAND)["severity"] == "critical"
    assert rig.open("wristband.fall_warning", BAND) is None
    rig.advance(300)
    assert rig.alerts("wristband.fall_warning_unanswered", BAND) == []


def test_i_m_fine_after_a_confirmed_fall_is_noted_and_someone_still_checks(rig: Rig) -> None:
    rig.event(BAND, "fall")
    rig.advance(10)
    said = rig.clock.time()
    rig.event(BAND, "跌倒取消")
    alert = rig.open("wristband.fall", BAND)
    assert alert["state"] == "active"
    assert json.loads(alert["detail"])["fall_cancelled_ts"] == pytest.approx(said, abs=0.001)
    assert _stored_types(rig) == ["fall", "fall_cancelled"]


@pytest.mark.parametrize("said", ["跌倒预警", "疑似跌倒", "疑似跌倒报警", "fall_suspected",
                                  "FallWarning", "fall_pre_alarm", "一级跌倒预警"])
def test_a_vendor_s_word_for_a_suspected_fall_is_no_confirmed_fall(rig: Rig, said: str) -> None:
    rig.event(BAND, said, confidence=0.4)
    assert _stored_types(rig) == ["fall_warning"]
    assert rig.open("wristband.fall_warning", BAND) is not None
    assert rig.alerts("wristband.fall", BAND) == []
    assert rig.dead_letters() == []


@pytest.mark.parametrize("said", ["跌倒报警", "fall_detected", "person_fall_alarm", "摔倒"])
def test_a_confirmed_fall_in_any_word_still_pages_at_once(rig: Rig, said: str) -> None:
    rig.event(BAND, said)
    assert rig.open("wristband.fall", BAND)["severity"] == "critical"
