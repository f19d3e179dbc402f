"""The radar pack over a real Mosquitto: a fall in the bathroom pages with its room, once (no
second "no movement" page: a radar counts no steps), and a stay too long (如厕滞留) is a
welfare check — critical for an elder who lives alone (vendor round 6: a bathroom radar had
no kind, and its long-stay alarm could not be sent at all)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from gateway.residents import Resident
from tests.conftest import STANDARD_DEVICES, device
from tests.rules.conftest import EXTRA_DEVICES, Rig

SITE = "jining-renmin"


@pytest.fixture
def rig(make_rig: Any) -> Rig:
    """Radars in the bathrooms of a lone elder (R-yang, from conftest) and of a family."""
    made = make_rig(devices=[
        *STANDARD_DEVICES, *EXTRA_DEVICES,
        device("RD-L", "radar", site=SITE, building="3", unit="1", grid="G-01",
               resident_id="R-yang"),
        device("RD-F", "radar", site=SITE, building="3", unit="2", grid="G-01",
               resident_id="R-han")])
    made.gw.alerting.residents.upsert([Resident("R-han", "韩磊", frozenset(), SITE)])
    return made


def test_a_fall_pages_once_with_its_room(rig: Rig) -> None:
    rig.event("RD-L", "fall", room="bathroom", confidence=0.93, posture="lying")
    alert = rig.open("radar.fall", "RD-L")
    assert (alert["severity"], alert["category"]) == ("critical", "fall")
    assert json.loads(alert["detail"])["room"] == "bathroom"
    rig.advance(300)  # no steps ever come from a radar: nothing more pages
    rig.sync()
    assert [a["rule_id"] for a in rig.gw.store.query("SELECT rule_id FROM alerts")] == [
        "radar.fall"]


def test_a_long_stay_is_a_welfare_check_and_critical_for_a_lone_elder(rig: Rig) -> None:
    rig.event("RD-L", "如厕滞留", room="bathroom", stay_s=1900)
    rig.event("RD-F", "long_stay", room="bathroom", stay_s=1900)
    lone = rig.open("radar.long_stay_lone_elder", "RD-L")
    family = rig.open("radar.long_stay", "RD-F")
    assert (lone["severity"], lone["category"]) == ("critical", "welfare_check")
    assert (family["severity"], family["category"]) == ("major", "welfare_check")
    assert rig.alerts("radar.long_stay", "RD-L") == []  # one alarm, one alert
    rig.event("RD-F", "left", room="bathroom")
    assert rig.open("radar.long_stay", "RD-F") is None
    rig.telemetry("RD-L", presence=True, target_count=1, stay_s=2000, posture="sitting",
                  breath_rpm=15)
    assert rig.dead_letters() == []


def test_a_critical_alarm_reported_late_still_pages_and_says_how_late(rig: Rig) -> None:
    # Vendor round 8: a radar 11 minutes slow sent a lone elder's long stay; the critical alert
    # was muted as stale — no page, no ticket, nothing to the device.
    now = rig.clock.time()
    rig.event("RD-L", "long_stay", ts=now - 660, room="bathroom")
    # A late alarm waits a moment for its end in the same upload (red team round 9), then
    # pages all the same.
    assert rig.open("radar.long_stay_lone_elder", "RD-L") is None
    rig.advance(30)
    lone = rig.open("radar.long_stay_lone_elder", "RD-L")
    assert lone["muted"] is None
    [opened] = [c for c in rig.changes if c.alert.id == lone["id"] and c.action == "opened"]
    assert opened.pages
    detail = json.loads(lone["detail"])
    assert (detail["reported_late_s"], detail["room"]) == (660, "bathroom")
    assert detail["event"]["type"] == "long_stay"
    assert len(_tickets(rig)) == 1
    # The same late report of a family's elder (major) is shown, muted.
    rig.event("RD-F", "long_stay", ts=now - 660, room="bathroom")
    rig.advance(30)
    assert rig.open("radar.long_stay", "RD-F")["muted"] == "stale"
    # How long the stay had lasted counts, as a lane's dwell does: stamped when it began.
    rig.event("RD-F", "left", room="bathroom")
    rig.event("RD-F", "long_stay", ts=now - 1900, room="bathroom", stay_s=1900)
    assert [a["muted"] for a in rig.alerts("radar.long_stay", "RD-F")][-1] is None


def test_a_night_uploaded_after_an_outage_pages_only_what_did_not_end(rig: Rig) -> None:
    # Red team round 9: a lone elder's radar, back after a 20-h outage, uploaded six bed
    # exits each ended 4 minutes later: four critical alerts and an urgent welfare check for
    # a night that ended well, and the alert turned "flapping" and stayed active.
    now = rig.clock.time()
    for hours_ago in (20, 19, 18, 17, 16, 15):
        start = now - hours_ago * 3600
        rig.event("RD-L", "out_of_bed", ts=start, room="bedroom")
        rig.event("RD-L", "back_in_bed", ts=start + 240, room="bedroom")
    rig.event("RD-L", "long_stay", ts=now - 14 * 3600, room="bathroom", stay_s=1900)
    rig.event("RD-L", "left", ts=now - 14 * 3600 + 60, room="bathroom")
    rig.advance(60)
    shown = rig.alerts("radar.out_of_bed_lone_elder", "RD-L")
    stays = rig.alerts("radar.long_stay_lone_elder", "RD-L")
    # Each episode is shown, muted, and over; nobody is paged and no job opens.
    assert [(a["state"], a["muted"]) for a in shown + stays] == [("cleared", "stale")] * 7
    assert not [c for c in rig.changes if c.pages]
    assert _tickets(rig) == []
    assert not any(a["flapping"] for a in shown)
    # The last exit of the upload has no end: it pages once the wait is over, saying how late.
    rig.event("RD-L", "out_of_bed", ts=now - 3 * 3600, room="bedroom")
    assert rig.open("radar.out_of_bed_lone_elder", "RD-L") is None
    rig.advance(30)
    live = rig.open("radar.out_of_bed_lone_elder", "RD-L")
    assert (live["muted"], live["state"]) == (None, "active")
    assert json.loads(live["detail"])["reported_late_s"] == 3 * 3600 + 60
    assert len(_tickets(rig)) == 1
    # Its end, when it comes, clears it as on time: no flapping by the earlier upload.
    rig.event("RD-L", "back_in_bed", room="bedroom")
    assert rig.open("radar.out_of_bed_lone_elder", "RD-L") is None


def test_out_of_bed_and_not_back_is_a_welfare_check_critical_for_a_lone_elder(rig: Rig) -> None:
    # Vendor round 8: a bed-exit pad had no word for "out of bed and not back"; the nearest,
    # `long_stay`, paged "stayed in the room too long", the opposite situation.
    rig.event("RD-L", "离床未归", room="bedroom", away_s=1800)
    rig.event("RD-F", "out_of_bed", room="bedroom", away_s=1800)
    lone = rig.open("radar.out_of_bed_lone_elder", "RD-L")
    family = rig.open("radar.out_of_bed", "RD-F")
    assert (lone["severity"], lone["category"]) == ("critical", "welfare_check")
    assert (family["severity"], family["category"]) == ("major", "welfare_check")
    assert json.loads(lone["detail"])["away_s"] == 1800
    assert rig.alerts("radar.long_stay_lone_elder", "RD-L") == []
    rig.event("RD-F", "back_in_bed", room="bedroom")
    assert rig.open("radar.out_of_bed", "RD-F") is None
    rig.telemetry("RD-L", presence=False, in_bed=False)
    assert rig.dead_letters() == []


def test_no_movement_for_24_h_at_a_lone_elder_s_asks_for_a_visit(rig: Rig) -> None:
    # Vendor round 9: a PIR motion sensor's `motion` was refused and its kit's "no activity
    # for 24 h" had no word.
    rig.event("RD-L", "motion", room="living room")
    rig.event("RD-F", "motion", room="living room")
    rig.advance(80_000)
    rig.telemetry("RD-L", presence=True, posture="sitting")  # someone up: a sign of life too
    rig.advance(80_000)
    assert rig.alerts("radar.lone_elder_inactive") == []
    rig.telemetry("RD-L", presence=False)  # a heartbeat of an empty room is no sign of life
    # Red team round 10: someone seen lying still all day is no sign of life either.
    rig.telemetry("RD-L", presence=True, posture="lying", stay_s=80_000, breath_rpm=0)
    rig.advance(7_000)
    alert = rig.open("radar.lone_elder_inactive", "RD-L")
    assert (alert["severity"], alert["category"]) == ("major", "welfare_check")
    assert rig.alerts("radar.lone_elder_inactive", "RD-F") == []  # a family's home
    rig.event("RD-L", "motion", room="kitchen")
    assert rig.open("radar.lone_elder_inactive", "RD-L") is None


def _tickets(rig: Rig) -> list[dict[str, Any]]:
    """Every ticket with the alerts linked to it (rule:device), oldest first."""
    rows = rig.gw.store.query(
        "SELECT t.id, t.category, t.resident_id, t.state, t.alert_count,"
        " group_concat(a.rule_id || ':' || a.device_id, ' ') AS alerts FROM tickets t"
        " JOIN ticket_alerts ta ON ta.ticket_id = t.id JOIN alerts a ON a.id = ta.alert_id"
        " GROUP BY t.id ORDER BY t.id")
    for row in rows:
        row["alerts"] = sorted(row["alerts"].split())
    return rows


def test_one_fall_seen_by_band_and_radar_is_one_ticket(rig: Rig) -> None:
    """Vendor round 6: the band's fall, its no-movement rule and the bathroom radar's fall
    opened three urgent tickets for one fall; the alerts stay three, the job is one."""
    rig.event("WB-1001", "fall")
    rig.event("RD-L", "fall", room="bathroom")
    rig.advance(61)  # no steps: the band's "no movement after a fall" pages too
    assert rig.open("wristband.fall_no_movement", "WB-1001") is not None
    rig.event("RD-F", "fall", room="bathroom")  # another elder: a job of its own
    rig.event("WB-1001", "sos")  # another category: a job of its own
    tickets = _tickets(rig)
    assert [(t["category"], t["resident_id"], t["alerts"]) for t in tickets] == [
        ("fall", "R-yang", ["radar.fall:RD-L", "wristband.fall:WB-1001",
                            "wristband.fall_no_movement:WB-1001"]),
        ("fall", "R-han", ["radar.fall:RD-F"]),
        ("sos", "R-yang", ["wristband.sos:WB-1001"])]
    assert tickets[0]["alert_count"] == 3
    grouped = rig.gw.store.query(
        "SELECT note FROM ticket_events WHERE ticket_id = ? AND action = 'alert_grouped'",
        (tickets[0]["id"],))
    assert [r["note"].split(" (")[1].split(",")[0] for r in grouped] == [
        "radar.fall", "wristband.fall_no_movement"]

    # Red team round 7 re-check: rejected as the radar's false alarm, the grouped ticket took
    # the band's real fall with it. A job of several devices is handled, not dismissed.
    from gateway.workflow.states import TransitionError

    def reject(now: float, tx: Any) -> None:
        rig.gw.workflow.transition(tx, tickets[0]["id"], "reject", actor="op", now=now,
                                   reason="radar false alarm")
    with pytest.raises(TransitionError, match="holds alerts of 2 devices"):
        rig.gw.pipeline.call("reject", reject, rig.clock.time())
    [state] = rig.gw.store.query("SELECT state FROM tickets WHERE id = ?", (tickets[0]["id"],))
    assert state["state"] == "collected"


def test_a_fall_after_the_group_window_is_a_new_job(rig: Rig) -> None:
    rig.event("WB-1001", "fall")
    rig.advance(61)
    rig.advance(540)  # past the 10-minute group window
    rig.event("RD-L", "fall", room="bathroom")
    assert [t["alerts"] for t in _tickets(rig)] == [
        ["wristband.fall:WB-1001", "wristband.fall_no_movement:WB-1001"],
        ["radar.fall:RD-L"]]


def test_breathing_stopping_in_bed_alerts_and_an_empty_bed_does_not(rig: Rig) -> None:
    # Vendor round 11: a sleep belt's breathing 14 → 0 in a lone elder's bed raised nothing.
    for rpm in (14, 5, 0, 0):
        rig.telemetry("RD-L", in_bed=True, breath_rpm=rpm)
        rig.advance(20)
    alert = rig.open("radar.no_breathing_in_bed", "RD-L")
    assert alert is not None and alert["severity"] == "critical"
    rig.telemetry("RD-L", in_bed=True, breath_rpm=12)  # breathing again
    assert rig.open("radar.no_breathing_in_bed", "RD-L") is None
    # An empty bed reads 0 too: nothing (and getting up ends a hold).
    for _ in range(4):
        rig.telemetry("RD-F", in_bed=False, breath_rpm=0)
        rig.advance(30)
    rig.telemetry("RD-F", in_bed=True, breath_rpm=3)
    rig.advance(40)
    rig.telemetry("RD-F", in_bed=False, breath_rpm=0)
    rig.advance(40)
    assert rig.alerts("radar.no_breathing_in_bed", "RD-F") == []


def test_a_pad_saying_in_bed_only_on_change_still_has_its_breathing_judged(rig: Rig) -> None:
    # Red team round 12: 90 s of `breath_rpm: 0` raised nothing when only the first reading
    # said `in_bed: true` (a pad reports it on change). A `when` field a reading leaves out
    # is read as the device last stated it.
    rig.telemetry("RD-L", in_bed=True)
    for _ in range(5):
        rig.telemetry("RD-L", breath_rpm=0)
        rig.advance(20)
    alert = rig.open("radar.no_breathing_in_bed", "RD-L")
    assert alert is not None and alert["severity"] == "critical"
    # Out of bed, stated alone, ends it; and the next zeros (an empty bed) raise nothing.
    rig.telemetry("RD-L", in_bed=False)
    rig.telemetry("RD-L", breath_rpm=0)
    assert rig.open("radar.no_breathing_in_bed", "RD-L") is None
    for _ in range(5):
        rig.telemetry("RD-L", breath_rpm=0)
        rig.advance(20)
    assert rig.open("radar.no_breathing_in_bed", "RD-L") is None


def test_what_a_pad_last_stated_survives_a_restart(rig: Rig, make_rig: Any) -> None:
    # Red team round 12: the pad stated `in_bed: true` once, the gateway restarted, and 90 s
    # of `breath_rpm: 0` raised nothing until she next got into bed.
    rig.telemetry("RD-L", in_bed=True, breath_rpm=14)
    rig.gw.stop()
    again = make_rig(devices=[device("RD-L", "radar", site=SITE, building="3", unit="1",
                                     grid="G-01", resident_id="R-yang")])
    for _ in range(5):
        again.telemetry("RD-L", breath_rpm=0)
        again.advance(20)
    alert = again.open("radar.no_breathing_in_bed", "RD-L")
    assert alert is not None and alert["severity"] == "critical"
