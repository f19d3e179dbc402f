"""Threshold, duration, geofence and absence rules through the pipeline with the manual clock."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.rules.conftest import HOME, Rig

VITALS = [
    # rule, out-of-range reading, in-range reading, hold seconds
    ("wristband.heart_rate", {"heart_rate_bpm": 135}, {"heart_rate_bpm": 72}, 300),
    ("wristband.blood_pressure", {"systolic_mmhg": 175, "diastolic_mmhg": 95},
     {"systolic_mmhg": 128, "diastolic_mmhg": 82}, 60),
    ("wristband.glucose", {"glucose_mmol_l": 16.2}, {"glucose_mmol_l": 6.0}, 60),
    ("wristband.spo2", {"spo2_pct": 86}, {"spo2_pct": 97}, 300),
]


@pytest.mark.parametrize(("rule_id", "bad", "good", "hold"), VITALS,
                         ids=[v[0] for v in VITALS])
def test_vital_out_of_range_sustained_opens_once_and_clears(rig: Rig, rule_id, bad, good, hold):
    rig.telemetry("WB-1001", **bad)
    rig.advance(hold + 1)
    assert rig.alerts(rule_id) == []  # one reading is not "sustained"
    rig.telemetry("WB-1001", **bad)
    alert = rig.open(rule_id, "WB-1001")
    assert (alert["severity"], alert["category"]) == ("major", "health")
    for _ in range(3):
        rig.advance(30)
        rig.telemetry("WB-1001", **bad)
    assert len(rig.alerts(rule_id)) == 1 and rig.open(rule_id, "WB-1001")["count"] == 1
    rig.telemetry("WB-1001", **good)
    assert rig.open(rule_id, "WB-1001") is None
    assert len(rig.alerts(rule_id)) == 1


def test_heart_rate_brief_spike_does_not_fire_and_hysteresis_holds(rig: Rig):
    rig.telemetry("WB-1002", heart_rate_bpm=130)
    rig.advance(120)
    rig.telemetry("WB-1002", heart_rate_bpm=80)  # back before 300 s: the hold breaks
    rig.advance(600)
    assert rig.alerts("wristband.heart_rate") == []
    rig.telemetry("WB-1002", heart_rate_bpm=130)
    rig.advance(150)
    rig.telemetry("WB-1002", heart_rate_bpm=118)  # inside the 5 bpm hysteresis band
    rig.advance(151)
    assert rig.open("wristband.heart_rate", "WB-1002") is not None
    rig.telemetry("WB-1002", heart_rate_bpm=117)
    assert rig.open("wristband.heart_rate", "WB-1002") is not None
    rig.telemetry("WB-1002", heart_rate_bpm=100)
    assert rig.open("wristband.heart_rate", "WB-1002") is None


def test_a_vital_reading_from_the_device_s_memory_does_not_clear_a_standing_alert(rig: Rig):
    # Vendor round 11: a glucose meter's reading from 2 h before, uploaded when it got its
    # network back, cleared a standing hypoglycaemia; a band's 1-h-old 70 bpm a heart-rate
    # alert. An older reading says nothing of now; a newer one still clears.
    for _ in range(2):
        rig.telemetry("WB-1002", glucose_mmol_l=2.1)
        rig.advance(40)
    assert rig.open("wristband.glucose", "WB-1002") is not None
    rig.send("WB-1002", "telemetry", {"glucose_mmol_l": 6.2}, ts=rig.clock.time() - 7200)
    assert rig.open("wristband.glucose", "WB-1002") is not None
    rig.telemetry("WB-1002", glucose_mmol_l=6.2)
    assert rig.open("wristband.glucose", "WB-1002") is None


def test_one_reading_in_the_crisis_range_alerts_at_once(rig: Rig):
    # Vendor round 11: a cuff's 232/134 mmHg and a meter's 2.1 mmol/L (measured once or twice
    # a day) raised nothing until a second reading.
    rig.telemetry("WB-1001", systolic_mmhg=232, diastolic_mmhg=134)
    rig.telemetry("WB-1002", glucose_mmol_l=2.1)
    rig.telemetry("WB-1002", glucose_mmol_l=2.0)  # a repeat: the same alert
    assert rig.open("wristband.blood_pressure_crisis", "WB-1001")["severity"] == "critical"
    assert rig.open("wristband.diastolic_crisis", "WB-1001")["severity"] == "critical"
    assert rig.open("wristband.glucose_low_crisis", "WB-1002")["severity"] == "major"
    assert rig.alerts("wristband.glucose_high_crisis") == []
    assert rig.alerts("wristband.blood_pressure_crisis", "WB-1002") == []
    rig.telemetry("WB-1002", glucose_mmol_l=5.5)  # treated: back in range
    assert rig.open("wristband.glucose_low_crisis", "WB-1002") is None
    rig.telemetry("WB-1001", systolic_mmhg=170, diastolic_mmhg=100)  # still high, not a crisis
    assert rig.open("wristband.blood_pressure_crisis", "WB-1001") is not None


def test_one_reading_of_severe_hypoxaemia_alerts_at_once(rig: Rig):
    # Vendor round 12: a spot-check band's 82 % at a lone elder's raised nothing (the
    # sustained rule needs 5 min and two readings; it measures hourly).
    rig.telemetry("WB-1001", spo2_pct=82)
    rig.telemetry("WB-1002", spo2_pct=88)  # low, not a crisis: the sustained rule's
    assert rig.open("wristband.spo2_crisis", "WB-1001")["severity"] == "critical"
    assert rig.alerts("wristband.spo2_crisis", "WB-1002") == []
    rig.telemetry("WB-1001", spo2_pct=95)
    assert rig.open("wristband.spo2_crisis", "WB-1001") is None


def test_low_battery_threshold_with_hysteresis_and_the_event(rig: Rig):
    rig.telemetry("WB-1001", battery_pct=25)
    assert rig.alerts("wristband.low_battery") == []
    rig.telemetry("WB-1001", battery_pct=15)
    assert rig.open("wristband.low_battery", "WB-1001")["severity"] == "minor"
    rig.telemetry("WB-1001", battery_pct=25)  # below 20 + 10: still low
    assert rig.open("wristband.low_battery", "WB-1001") is not None
    rig.telemetry("WB-1001", battery_pct=12)
    assert rig.open("wristband.low_battery", "WB-1001")["count"] == 1
    rig.telemetry("WB-1001", battery_pct=31)
    assert rig.open("wristband.low_battery", "WB-1001") is None
    rig.event("WB-1002", "low_battery", battery_pct=9)  # the band's own event counts too
    assert rig.open("wristband.low_battery", "WB-1002") is not None


def test_a_backlog_uploaded_oldest_first_does_not_clear_a_live_alert(rig: Rig):
    # Vendor round 9: a band back after a day offline uploaded its buffered readings oldest
    # first, as the guide asks; yesterday's 60 % cleared the low-battery alert of its 9 % now.
    now = rig.clock.time()
    rig.send("WB-1001", "telemetry", {"battery_pct": 9}, now)
    assert rig.open("wristband.low_battery", "WB-1001") is not None
    for hours in (20, 12, 2):
        rig.send("WB-1001", "telemetry", {"battery_pct": 60}, now - hours * 3600)
    assert rig.open("wristband.low_battery", "WB-1001") is not None
    rig.advance(60)
    rig.telemetry("WB-1001", battery_pct=60)  # charged now: the alert clears
    assert rig.open("wristband.low_battery", "WB-1001") is None


OUT = (HOME[0] + 0.01, HOME[1])  # ~1.1 km north of the compound


@pytest.mark.both_backends
def test_left_safe_zone_after_dwell_and_back(rig: Rig):
    rig.fix("WB-1001", *HOME)
    rig.fix("WB-1001", *OUT)
    rig.advance(179)
    assert rig.alerts("wristband.left_safe_zone") == []
    rig.advance(2)
    alert = rig.open("wristband.left_safe_zone", "WB-1001")
    assert (alert["severity"], alert["category"]) == ("major", "wandering")
    rig.fix("WB-1001", *OUT)
    assert rig.open("wristband.left_safe_zone", "WB-1001")["count"] == 1
    rig.fix("WB-1001", *HOME, accuracy_m=900)  # a coarse cell fix proves nothing
    assert rig.open("wristband.left_safe_zone", "WB-1001") is not None
    rig.fix("WB-1001", *HOME)
    assert rig.open("wristband.left_safe_zone", "WB-1001") is None


def test_gps_jump_shorter_than_dwell_does_not_fire(rig: Rig):
    rig.fix("WB-1002", *HOME)
    for _ in range(5):
        rig.fix("WB-1002", *OUT)  # a jump out...
        rig.advance(60)
        rig.fix("WB-1002", *HOME)  # ...and back before the dwell
        rig.advance(60)
    # A poor fix whose circle reaches back into the zone proves nothing.
    rig.fix("WB-1002", *OUT, accuracy_m=5000)
    rig.advance(600)
    assert rig.alerts("wristband.left_safe_zone") == []


def test_a_band_without_gps_wanders_when_its_whole_circle_is_outside(rig: Rig):
    # Vendor round 5: a cell-only band 2.5 km from home (± 800 m) never raised the wandering
    # alarm: fixes less accurate than 100 m were ignored altogether.
    far = (HOME[0] + 0.0225, HOME[1])  # ~2.5 km north
    rig.fix("WB-1002", *HOME)
    rig.fix("WB-1002", *far, accuracy_m=800)
    rig.advance(181)
    assert rig.open("wristband.left_safe_zone", "WB-1002") is not None
    # Back home by a coarse fix: proves nothing; a good one clears it.
    rig.fix("WB-1002", *HOME, accuracy_m=800)
    assert rig.open("wristband.left_safe_zone", "WB-1002") is not None
    rig.fix("WB-1002", *HOME)
    assert rig.open("wristband.left_safe_zone", "WB-1002") is None


def test_wristband_silent_for_30_min_goes_offline_and_comes_back(rig: Rig):
    rig.telemetry("WB-1001", heart_rate_bpm=70)
    rig.advance(1799)
    assert rig.alerts("wristband.offline") == []
    rig.advance(2)
    alert = rig.open("wristband.offline", "WB-1001")
    assert (alert["severity"], alert["muted"]) == ("minor", None)
    rig.advance(600)
    assert len(rig.alerts("wristband.offline")) == 1
    rig.telemetry("WB-1001", heart_rate_bpm=71)
    assert rig.open("wristband.offline", "WB-1001") is None


@pytest.mark.parametrize(("device_id", "timeout"), [("AC-2001", 600), ("CAM-3001", 300),
                                                     ("LK-4001", 900)])
def test_any_device_offline_past_its_kind_timeout(rig: Rig, device_id, timeout):
    rig.telemetry(device_id)
    rig.advance(timeout - 1)
    assert rig.alerts("device.offline", device_id) == []
    rig.advance(2)
    assert rig.open("device.offline", device_id)["category"] == "device_fault"
    rig.telemetry(device_id)
    assert rig.open("device.offline", device_id) is None


@pytest.mark.both_backends
def test_lone_elder_door_unopened_for_24_h(rig: Rig):
    rig.event("AC-2002", "unlock", method="face", resident_id="R-yang")
    rig.event("AC-2001", "unlock", method="card")  # nobody lives alone behind this one
    rig.advance(86_399)
    assert rig.alerts("access.lone_elder_inactive") == []
    rig.telemetry("AC-2002", door_open=False)  # telemetry is not an unlock
    rig.advance(2)
    alert = rig.open("access.lone_elder_inactive", "AC-2002")
    assert (alert["severity"], alert["category"]) == ("major", "welfare_check")
    assert rig.alerts("access.lone_elder_inactive", "AC-2001") == []
    rig.event("AC-2002", "unlock", method="face", resident_id="R-yang")
    assert rig.open("access.lone_elder_inactive", "AC-2002") is None


def test_a_door_contact_s_opening_counts_as_a_lone_elder_s_day(rig: Rig):
    # Vendor round 8: a door-contact kit knows only that the door opened; with unlocks alone
    # counting, its lone elder was "unopened for 24 h" every day.
    rig.event("AC-2002", "door_opened", door="main", from_inside=True)
    rig.advance(80_000)
    rig.event("AC-2002", "door_opened", door="main")
    rig.advance(80_000)  # 160,000 s since the first opening, 80,000 since the last
    assert rig.alerts("access.lone_elder_inactive", "AC-2002") == []
    rig.advance(7_000)
    assert rig.open("access.lone_elder_inactive", "AC-2002") is not None
    rig.event("AC-2002", "door_opened")
    assert rig.open("access.lone_elder_inactive", "AC-2002") is None


def test_a_door_contact_reporting_only_readings_counts_its_openings(rig: Rig):
    # Vendor round 9: a Zigbee door contact sends `door_open` readings, never `door_opened`
    # events; the lone elder behind it was "unopened for 24 h" every day.
    rig.telemetry("AC-2002", door_open=True)
    rig.advance(80_000)
    rig.telemetry("AC-2002", door_open=False)  # closed again: not an opening
    rig.telemetry("AC-2002", door_open=True)
    rig.advance(80_000)
    assert rig.alerts("access.lone_elder_inactive", "AC-2002") == []
    rig.telemetry("AC-2002", door_open=False)
    rig.advance(7_000)  # 87,000 s since the last opening; a closed door's report is no sign
    assert rig.open("access.lone_elder_inactive", "AC-2002") is not None
    rig.telemetry("AC-2002", door_open=True)
    assert rig.open("access.lone_elder_inactive", "AC-2002") is None


def test_a_lock_s_everyday_words_are_kept_and_its_flat_battery_judged(rig: Rig):
    # Vendor round 9: a smart lock's `locked`, `door_closed` and `low_battery` were refused
    # (three in a row paged a major `device.refused` at a lone elder's door), and nothing
    # judged a lock's battery at 4 %.
    rig.event("AC-2002", "locked", door="main", method="auto")
    rig.event("AC-2002", "door_closed", door="main")
    assert rig.alerts("device.refused", "AC-2002") == []
    rig.event("AC-2002", "low_battery", battery_pct=4)
    assert rig.open("access.low_battery", "AC-2002")["severity"] == "major"  # a lone elder's
    rig.telemetry("AC-2001", battery_pct=12)
    assert rig.open("access.low_battery", "AC-2001")["severity"] == "minor"
    rig.telemetry("AC-2002", battery_pct=95)  # new batteries
    assert rig.open("access.low_battery", "AC-2002") is None


def test_parcel_uncollected_48_h_minor_and_major_when_recipient_lives_alone(rig: Rig):
    rig.event("LK-4001", "parcel_deposited", compartment="L-1", parcel_id="SF1",
              recipient_id="R-li")
    rig.event("LK-4001", "parcel_deposited", compartment="L-2", parcel_id="SF2",
              recipient_id="R-li")
    rig.advance(3600)
    rig.event("LK-4001", "parcel_picked_up", compartment="L-2", parcel_id="SF2")
    rig.advance(172_800 - 3600 + 1)
    alert = rig.open("locker.parcel_uncollected", "LK-4001")
    assert (alert["severity"], alert["count"]) == ("minor", 1)
    rig.event("LK-4001", "parcel_deposited", compartment="L-5", parcel_id="SF3",
              recipient_id="R-yang")
    rig.advance(172_801)
    alert = rig.open("locker.parcel_uncollected", "LK-4001")
    assert (alert["severity"], alert["count"]) == ("major", 2)  # escalated: lives alone
    rig.event("LK-4001", "parcel_picked_up", compartment="L-1", parcel_id="SF1")
    assert rig.open("locker.parcel_uncollected", "LK-4001") is not None
    rig.event("LK-4001", "parcel_picked_up", compartment="L-5", parcel_id="SF3")
    assert rig.open("locker.parcel_uncollected", "LK-4001") is None
    assert len(rig.alerts("locker.parcel_uncollected")) == 1


def test_a_locker_that_matches_by_code_ends_the_wait_and_its_words_are_read(rig: Rig):
    # Vendor round 10: a deposit with its pickup code was refused, and so was a pickup known
    # only by its code: a lone elder's "uncollected" page came 48 h after she collected it.
    rig.event("LK-4001", "parcel_deposited", compartment="L-7", parcel_id="YT9",
              recipient_id="R-yang", pickup_code="482913", courier="圆通")
    rig.event("LK-4001", "parcel_deposited", compartment="L-8", parcel_id="YT10")
    rig.advance(600)
    rig.event("LK-4001", "取件", compartment="L-7", pickup_code="482913", method="code")
    rig.event("LK-4001", "退件", compartment="L-8")
    rig.advance(172_801)
    assert rig.alerts("locker.parcel_uncollected") == []
    rig.event("LK-4001", "非法开箱", detail="L-9")
    assert rig.open("locker.tamper", "LK-4001")["severity"] == "major"
    rig.event("LK-4001", "fault", compartment="L-3", detail="lock motor")
    assert rig.open("locker.fault", "LK-4001") is not None
    assert rig.dead_letters() == []


def test_the_gap_to_a_zone_is_measured_in_metres():
    from rules.conditions.geofence import polygon_gap

    # A square of about 222 m a side; a point about 1.1 km east of its east edge.
    square = [(35.40, 116.58), (35.402, 116.58), (35.402, 116.5825), (35.40, 116.5825)]
    gap = polygon_gap(square)
    assert gap(35.401, 116.581) == 0.0
    assert 1050 < gap(35.401, 116.5825 + 0.0123) < 1170


def test_a_device_registered_with_its_own_offline_timeout_keeps_it(rig: Rig):
    # Vendor round 9: a battery door contact that checks in hourly went `offline` ten
    # minutes after each report (the access kind's timeout, set for mains controllers).
    from tests.conftest import device

    rig.gw.registry.register([device("AC-ZB1", "access", site="jining-renmin", grid="G-01",
                                     offline_timeout_s=7200)])
    rig.telemetry("AC-ZB1", door_open=False)
    rig.telemetry("AC-2001", door_open=False)
    rig.advance(601)
    assert rig.open("device.offline", "AC-2001") is not None  # the kind's ten minutes
    assert rig.alerts("device.offline", "AC-ZB1") == []
    twins = rig.gw.twins

    def offline_by_silence(device_id: str) -> bool:  # swept already, or due at the next sweep
        return not twins.get(device_id).online or device_id in twins.overdue(rig.clock.time())

    assert offline_by_silence("AC-2001") and not offline_by_silence("AC-ZB1")
    rig.advance(7200)
    assert rig.open("device.offline", "AC-ZB1") is not None
    assert offline_by_silence("AC-ZB1")


def test_a_device_may_not_be_set_to_stay_silent_longer_than_its_kind_allows(rig: Rig):
    # Red team round 10: a vendor's 7 days on an alarm pole (mains powered, beating every
    # 5 min) hid a dead pole: the control pole went offline in 15 min, it never did.
    from gateway.registry import RegistryError
    from tests.conftest import device

    with pytest.raises(RegistryError, match="longer than a alarm_pole may stay silent"):
        rig.gw.registry.register([device("AP-7D", "alarm_pole", site="jining-renmin",
                                         grid="G-01", offline_timeout_s=7 * 86400)])
    with pytest.raises(RegistryError, match="at most"):
        rig.gw.registry.register([device("SD-7D", "smoke_detector", site="jining-renmin",
                                         grid="G-01", offline_timeout_s=7 * 86400)])
    # A registration stored before the limit counts only up to it.
    record = device("AP-OLD", "alarm_pole", site="jining-renmin", grid="G-01")
    rig.gw.registry.register([record])
    rig.gw.registry._devices["AP-OLD"] = replace(rig.gw.registry._devices["AP-OLD"],
                                                offline_timeout_s=7 * 86400)
    assert rig.gw.registry.offline_timeout_of("AP-OLD") == 900
