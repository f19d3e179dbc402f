"""Event rules over a real Mosquitto: open, repeat, ack ≠ clear, ack timeout, clear_on, no dupes."""

from __future__ import annotations

import pytest

from rules.errors import AlertError
from tests.rules.conftest import Rig


@pytest.mark.both_backends
def test_sos_opens_repeats_acks_reescalates_and_clears(rig: Rig):
    rig.event("WB-1001", "sos")
    alert = rig.open("wristband.sos", "WB-1001")
    assert alert is not None
    assert (alert["severity"], alert["category"], alert["state"], alert["count"]) == (
        "critical", "sos", "active", 1)
    assert (alert["site"], alert["building"], alert["resident_id"]) == ("jining-renmin", "3",
                                                                        "R-yang")
    rig.advance(5)
    rig.event("WB-1001", "sos")
    again = rig.open("wristband.sos", "WB-1001")
    assert again["id"] == alert["id"] and again["count"] == 2
    assert again["last_seen"] == alert["last_seen"] + 5

    rig.alerting.ack(alert["id"], "operator-wang", "calling the family")
    assert rig.open("wristband.sos", "WB-1001")["state"] == "acknowledged"
    with pytest.raises(AlertError):
        rig.alerting.ack(alert["id"], "operator-wang")
    # Pressed again after the ack: no second alert, but it pages again at once (a second
    # press is news — it waited for the ack timeout before, red team session 31).
    rig.event("WB-1001", "sos")
    again = rig.open("wristband.sos", "WB-1001")
    assert (again["state"], again["count"], again["escalations"]) == ("active", 3, 1)
    assert [c.pages for c in rig.changes if c.action == "reescalated"] == [True]

    rig.alerting.ack(alert["id"], "operator-wang", "on the way")
    rig.advance(299)
    assert rig.open("wristband.sos", "WB-1001")["state"] == "acknowledged"
    rig.advance(2)  # the rule's ack timeout is 300 s
    reesc = rig.open("wristband.sos", "WB-1001")
    assert (reesc["state"], reesc["escalations"]) == ("active", 2)

    rig.alerting.clear(alert["id"], "operator-wang", "resident is fine")
    assert rig.open("wristband.sos", "WB-1001") is None
    assert rig.audit(alert["id"]) == [
        ("opened", "system", "active"),
        ("acknowledged", "operator-wang", "acknowledged"),
        ("reescalated", "system", "active"),
        ("acknowledged", "operator-wang", "acknowledged"),
        ("reescalated", "system", "active"),
        ("cleared", "operator-wang", "cleared"),
    ]
    rig.event("WB-1001", "sos")
    rows = rig.alerts("wristband.sos", "WB-1001")
    assert [r["state"] for r in rows] == ["cleared", "active"]
    actions = [c.action for c in rig.changes if c.alert.rule_id == "wristband.sos"]
    assert actions == ["opened", "repeated", "acknowledged", "repeated", "reescalated",
                       "acknowledged", "reescalated", "cleared", "opened"]
    assert [c.pages for c in rig.changes][:1] == [True]


@pytest.mark.parametrize(("device_id", "event", "fields", "rule_id", "severity"), [
    ("WB-1001", "fall", {"confidence": 0.9}, "wristband.fall", "critical"),
    ("AC-2001", "forced_open", {}, "access.forced_open", "major"),
    ("AC-2001", "held_open", {"open_s": 200}, "access.held_open", "minor"),
    ("AC-2001", "fence_intrusion", {"zone": "north"}, "access.fence_intrusion", "major"),
    ("CAM-3001", "falling_object", {"confidence": 0.8, "floor": 9}, "camera.falling_object",
     "critical"),
    ("LK-4001", "tamper", {"detail": "tilt"}, "locker.tamper", "major"),
    ("LK-4001", "door_open_timeout", {"compartment": "L-3", "open_s": 120},
     "locker.door_open_timeout", "minor"),
])
def test_event_rule_opens_once_counts_repeats_and_clears_by_hand(
        rig: Rig, device_id, event, fields, rule_id, severity):
    for _ in range(3):
        rig.event(device_id, event, **fields)
    [alert] = rig.alerts(rule_id, device_id)
    assert (alert["state"], alert["count"], alert["severity"]) == ("active", 3, severity)
    rig.advance(3600)
    assert rig.open(rule_id, device_id) is not None  # these never auto-clear
    rig.alerting.clear(alert["id"], "grid-worker-zhao")
    assert rig.open(rule_id, device_id) is None


def test_held_open_below_three_minutes_does_not_fire(rig: Rig):
    rig.event("AC-2001", "held_open", open_s=120)
    assert rig.alerts("access.held_open") == []


def test_fire_lane_blocked_is_cleared_by_fire_lane_cleared(rig: Rig):
    rig.event("CAM-3001", "fire_lane_blocked", zone="FL-2", confidence=0.9, dwell_s=60)
    rig.event("CAM-3001", "fire_lane_blocked", zone="FL-2", confidence=0.9, dwell_s=120)
    alert = rig.open("camera.fire_lane_blocked", "CAM-3001")
    assert alert["count"] == 2
    rig.event("CAM-3001", "fire_lane_cleared", zone="FL-2")
    assert rig.open("camera.fire_lane_blocked", "CAM-3001") is None
    [row] = rig.alerts("camera.fire_lane_blocked")
    assert (row["cleared_by"], row["clear_reason"]) == ("system", "event fire_lane_cleared")


def test_one_camera_two_lanes_stays_alerted_while_either_is_blocked(make_rig):
    # Vendor round 2: FL-1 cleared cleared the camera's alert while FL-2 was still blocked.
    rig = make_rig()
    rig.event("CAM-3001", "fire_lane_blocked", zone="FL-1", confidence=0.9, dwell_s=120)
    rig.event("CAM-3001", "fire_lane_blocked", zone="FL-2", confidence=0.9, dwell_s=120)
    rig.event("CAM-3001", "fire_lane_cleared", zone="FL-1")
    assert rig.open("camera.fire_lane_blocked", "CAM-3001")["count"] == 2
    # What is still blocked survives a restart.
    rig.gw.stop()
    again = make_rig()
    again.event("CAM-3001", "fire_lane_cleared", zone="FL-1")  # a repeat changes nothing
    assert again.open("camera.fire_lane_blocked", "CAM-3001") is not None
    again.event("CAM-3001", "fire_lane_cleared", zone="FL-2")
    assert again.open("camera.fire_lane_blocked", "CAM-3001") is None


def test_band_removed_in_daytime_fires_and_worn_clears_it(rig: Rig):
    rig.event("WB-1001", "removed")  # 12:00 in Jining
    assert rig.open("wristband.removed_daytime", "WB-1001")["severity"] == "major"
    rig.event("WB-1001", "worn")
    assert rig.open("wristband.removed_daytime", "WB-1001") is None


def test_band_removed_at_night_does_not_fire(rig: Rig):
    rig.advance(10.5 * 3600)  # 22:30 local
    rig.event("WB-1001", "removed")
    assert rig.alerts("wristband.removed_daytime") == []
    rig.advance(9 * 3600)  # 07:30 next morning
    rig.event("WB-1001", "removed")
    assert len(rig.alerts("wristband.removed_daytime")) == 1


@pytest.mark.both_backends
def test_fall_then_no_movement_fires_after_60_s(rig: Rig):
    rig.telemetry("WB-1001", steps=1200)
    rig.event("WB-1001", "fall")
    rig.advance(59)
    assert rig.alerts("wristband.fall_no_movement") == []
    rig.telemetry("WB-1001", steps=1200)  # a reading, but no new steps: not movement
    rig.advance(2)
    alert = rig.open("wristband.fall_no_movement", "WB-1001")
    assert alert["severity"] == "critical"
    assert rig.open("wristband.fall", "WB-1001") is not None
    rig.advance(120)
    assert len(rig.alerts("wristband.fall_no_movement")) == 1


def test_readings_sent_before_a_fall_but_arriving_after_it_are_not_movement(rig: Rig):
    # Red team round 2: the fall came on the event lane, the band's buffered readings (sent
    # before it) on the main session after it — their steps counted as movement, and the
    # critical alert never fired.
    rig.telemetry("WB-1001", steps=1200)
    fell = rig.clock.time()
    rig.event("WB-1001", "fall", ts=fell)
    for n, steps in enumerate((1250, 1300, 1340)):  # walked, then fell
        rig.send("WB-1001", "telemetry", {"steps": steps}, ts=fell - 30 + n * 10)
    rig.advance(20)
    rig.telemetry("WB-1001", steps=1340)  # after the fall: not a step more
    rig.advance(45)
    assert rig.open("wristband.fall_no_movement", "WB-1001")["severity"] == "critical"


def test_fall_then_movement_does_not_fire(rig: Rig):
    rig.telemetry("WB-1002", steps=300)
    rig.event("WB-1002", "fall")
    rig.advance(20)
    rig.telemetry("WB-1002", steps=312)
    rig.advance(120)
    assert rig.alerts("wristband.fall_no_movement") == []


def test_repeating_denied_burst(rig: Rig):
    for _ in range(2):
        rig.event("AC-2001", "denied", method="face")
        rig.advance(20)
    assert rig.alerts("test.denied_burst") == []
    rig.event("AC-2001", "denied", method="card")
    assert rig.open("test.denied_burst", "AC-2001")["count"] == 1
    rig.event("AC-2001", "denied", method="card")
    assert rig.open("test.denied_burst", "AC-2001")["count"] == 2
    rig.advance(61)  # the window thins out
    assert rig.open("test.denied_burst", "AC-2001") is None
    assert len(rig.alerts("test.denied_burst")) == 1


def test_an_event_stamped_when_its_condition_began_is_not_stale_for_it(rig: Rig):
    # Vendor round 2: a lane blocked 11 minutes, stamped at the arrival (`dwell_s` 660), and
    # a compartment open 12 minutes, stamped when it opened, were muted as stale.
    now = rig.clock.time()
    rig.event("CAM-3001", "fire_lane_blocked", ts=now - 660, zone="FL-1", confidence=0.9,
              dwell_s=660)
    rig.event("LK-4001", "door_open_timeout", ts=now - 720, compartment="A-3", open_s=720)
    assert rig.open("camera.fire_lane_blocked", "CAM-3001")["muted"] is None
    assert rig.open("locker.door_open_timeout", "LK-4001")["muted"] is None
    # What had lasted does not excuse a message that is itself old.
    rig.event("AC-2001", "held_open", ts=now - 2000, door="D-1", open_s=300)
    assert rig.open("access.held_open", "AC-2001")["muted"] == "stale"


def test_stale_event_is_recorded_but_does_not_page(rig: Rig):
    rig.event("LK-4001", "tamper", ts=rig.clock.time() - 1200)
    alert = rig.open("locker.tamper", "LK-4001")
    assert alert["muted"] == "stale"
    [change] = [c for c in rig.changes if c.alert.rule_id == "locker.tamper"]
    assert change.action == "opened" and not change.pages
    rig.event("LK-4001", "tamper")  # a fresh one pages
    assert rig.open("locker.tamper", "LK-4001")["muted"] is None
    assert rig.changes[-1].action == "unmuted" and rig.changes[-1].pages


def test_a_camera_that_says_it_cannot_see_raises_an_alert_and_clears(rig: Rig):
    # Vendor round 4: `stream_ok: false, fps: 0` for an hour — shown online, nobody told.
    rig.telemetry("CAM-3001", stream_ok=False, fps=0)
    rig.advance(60)
    rig.telemetry("CAM-3001", stream_ok=False, fps=0)
    assert rig.alerts("camera.blind") == []  # a minute may be a restart
    rig.advance(61)
    rig.telemetry("CAM-3001", stream_ok=False, fps=0)
    alert = rig.open("camera.blind", "CAM-3001")
    assert alert is not None and alert["category"] == "device_fault"
    rig.telemetry("CAM-3001", stream_ok=True, fps=25)
    assert rig.open("camera.blind", "CAM-3001") is None
