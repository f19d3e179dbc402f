"""Alert lifecycle through the gateway: silences, inhibition, flapping, restart, bad rule files."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.service import Gateway
from gateway.settings import Settings
from rules.errors import AlertError, RuleSetError
from tests.conftest import device
from tests.rules.conftest import Rig


def test_silence_mutes_until_it_expires(rig: Rig):
    silence_id = rig.alerting.silence(author="operator-wang", reason="band being repaired",
                                      duration_s=3600, device_id="WB-1002",
                                      rule_id="wristband.sos")
    rig.event("WB-1002", "sos")
    assert rig.open("wristband.sos", "WB-1002")["muted"] == f"silence:{silence_id}"
    assert not rig.changes[-1].pages
    rig.event("WB-1001", "sos")  # another device: not covered
    assert rig.open("wristband.sos", "WB-1001")["muted"] is None
    rig.advance(3601)
    assert rig.open("wristband.sos", "WB-1002")["muted"] is None
    assert rig.changes[-1].action == "unmuted" and rig.changes[-1].pages
    row = rig.gw.store.query("SELECT author, reason, ended_by FROM silences")[0]
    assert row == {"author": "operator-wang", "reason": "band being repaired",
                   "ended_by": "expiry"}


@pytest.mark.both_backends
def test_silence_by_site_and_rule_mutes_open_alerts_and_can_end_early(rig: Rig):
    rig.event("AC-2001", "held_open", open_s=300)
    silence_id = rig.alerting.silence(author="op", reason="drill", duration_s=600,
                                      site="jining-renmin", rule_id="access.held_open")
    alert = rig.open("access.held_open", "AC-2001")
    assert alert["muted"] == f"silence:{silence_id}"
    rig.alerting.unsilence(silence_id, "op")
    assert rig.open("access.held_open", "AC-2001")["muted"] is None
    assert [a for a, _, _ in rig.audit(alert["id"])] == ["opened", "muted", "unmuted"]


@pytest.mark.parametrize("rule", ["wristband.sos", "wristband.fall_no_movement",
                                  "access.forced_open", "smoke_detector.smoke_alarm"])
def test_no_broad_or_long_silence_of_a_rule_that_pages_on_urgent_events(rig: Rig, rule: str):
    # Red team round 4: an operator's 30-day silence on `wristband.sos` (or on the whole
    # site) left every press confirmed `stored` and paging nobody.
    for broad in ({"site": "jining-renmin"}, {}, {"device_id": "WB-1002", "duration_s": 3700}):
        with pytest.raises(AlertError, match="urgent events"):
            rig.alerting.silence(author="op", reason="quiet night", rule_id=rule,
                                 **{"duration_s": 600, **broad})
    assert rig.gw.store.query("SELECT id FROM silences") == []


def test_a_site_silence_never_mutes_a_critical_alarm(rig: Rig):
    # Red team round 10: any operator's 30-day site "maintenance" silence muted a lone
    # elder's critical alarms that are no urgent event (a bathroom long stay, a gas reading
    # at 40 %LEL), and no job opened.
    rig.gw.registry.register([device("GD-77", "gas_detector", site="jining-renmin",
                                     building="3", unit="2", grid="G-01")])
    silence_id = rig.alerting.silence(author="op", reason="maintenance", duration_s=30 * 86400,
                                      site="jining-renmin")
    rig.event("AC-2001", "held_open", open_s=300)  # a major alarm: the silence mutes it
    assert rig.open("access.held_open", "AC-2001")["muted"] == f"silence:{silence_id}"
    rig.telemetry("GD-77", lel_pct=40.0)
    assert rig.open("gas_detector.concentration_high", "GD-77")["muted"] is None
    with pytest.raises(AlertError, match="urgent events"):
        rig.alerting.silence(author="op", reason="quiet", duration_s=86400,
                             rule_id="gas_detector.concentration_high")


def test_an_urgent_silence_is_not_renewed_while_it_runs_and_few_run_at_once(rig: Rig):
    # Red team round 4 re-check: a 1-hour silence renewed before it ended, or one per band
    # in a loop, kept every SOS muted.
    first = rig.alerting.silence(author="op", reason="band broken", duration_s=600,
                                 device_id="WB-1002", rule_id="wristband.sos")
    with pytest.raises(AlertError, match="not renewed while it runs"):
        rig.alerting.silence(author="op", reason="again", duration_s=3600,
                             device_id="WB-1002", rule_id="wristband.sos")
    rig.alerting.silence(author="op", reason="b", duration_s=600, device_id="WB-1001",
                         rule_id="wristband.sos")
    rig.alerting.silence(author="op", reason="c", duration_s=600, device_id="WB-1001",
                         rule_id="wristband.fall")
    with pytest.raises(AlertError, match="at most 3 at once"):
        rig.alerting.silence(author="op", reason="d", duration_s=600, device_id="AC-2001",
                             rule_id="access.forced_open")
    rig.event("WB-1002", "sos")
    assert rig.open("wristband.sos", "WB-1002")["muted"] == f"silence:{first}"
    rig.advance(601)  # it ran out: what it muted pages now, and a new one may start
    assert rig.open("wristband.sos", "WB-1002")["muted"] is None
    rig.alerting.silence(author="op", reason="again", duration_s=600, device_id="WB-1002",
                         rule_id="wristband.sos")


def test_site_and_device_silences_never_mute_an_urgent_alert(rig: Rig):
    site = rig.alerting.silence(author="op", reason="works", duration_s=86_400,
                                site="jining-renmin")
    rig.alerting.silence(author="op", reason="repair", duration_s=600, device_id="WB-1002")
    rig.event("WB-1002", "sos")
    rig.event("AC-2001", "forced_open")
    rig.event("AC-2001", "held_open", open_s=300)
    assert rig.open("wristband.sos", "WB-1002")["muted"] is None
    assert rig.open("access.forced_open", "AC-2001")["muted"] is None
    assert rig.open("access.held_open", "AC-2001")["muted"] == f"silence:{site}"


def test_building_outage_mutes_the_device_offline_alerts_it_causes(rig: Rig):
    for device_id in ("AC-2001", "AC-2002", "LK-4001", "WB-1002"):
        rig.telemetry(device_id)
    rig.advance(601)  # the two building-3 door controllers time out first
    assert rig.open("device.offline", "AC-2001")["muted"] is None
    assert rig.open("system.building_outage", "building:jining-renmin/3") is None
    rig.advance(300)  # the locker too: 3 of 3 building-3 devices are silent
    outage = rig.open("system.building_outage", "building:jining-renmin/3")
    assert outage is not None and outage["building"] == "3"
    for device_id in ("AC-2001", "AC-2002", "LK-4001"):
        assert rig.open("device.offline", device_id)["muted"] == "inhibited:building-outage"
    rig.telemetry("AC-2001")
    rig.telemetry("AC-2002")
    rig.sync()
    assert rig.open("system.building_outage", "building:jining-renmin/3") is None
    assert rig.open("device.offline", "LK-4001")["muted"] is None  # still silent: pages now


def test_broker_outage_mutes_offline_alerts_until_grace_passes(rig: Rig):
    rig.telemetry("CAM-3001")
    rig.alerting._connected = lambda: False  # the gateway lost its broker
    rig.advance(301)
    assert rig.open("system.broker_down", "gateway") is not None
    assert rig.open("device.offline", "CAM-3001")["muted"] == "inhibited:broker-outage"
    rig.alerting._connected = lambda: True
    rig.sync()
    assert rig.open("system.broker_down", "gateway") is None
    assert rig.open("device.offline", "CAM-3001")["muted"] == "inhibited:broker-outage"
    rig.advance(601)  # grace over and the camera is still silent: now it pages
    assert rig.open("device.offline", "CAM-3001")["muted"] is None


@pytest.mark.both_backends
def test_flapping_alert_stays_open_then_settles(rig: Rig):
    for _ in range(2):
        rig.telemetry("WB-1001", battery_pct=15)
        rig.telemetry("WB-1001", battery_pct=35)
    assert len(rig.alerts("wristband.low_battery")) == 2
    rig.telemetry("WB-1001", battery_pct=15)
    rig.telemetry("WB-1001", battery_pct=35)  # the third clear inside 30 min: flapping
    alert = rig.open("wristband.low_battery", "WB-1001")
    assert alert["flapping"] == 1
    rig.telemetry("WB-1001", battery_pct=15)
    rig.telemetry("WB-1001", battery_pct=35)
    assert len(rig.alerts("wristband.low_battery")) == 3  # no new alert while flapping
    rig.advance(601)
    assert rig.open("wristband.low_battery", "WB-1001") is None
    assert rig.alerts("wristband.low_battery")[-1]["clear_reason"] == "settled after flapping"


@pytest.mark.both_backends
def test_restart_mid_window_duration_and_absence_still_fire_on_time(make_rig, clock):
    rig = make_rig()
    rig.telemetry("WB-1001", heart_rate_bpm=140)
    rig.advance(30)
    rig.telemetry("WB-1001", heart_rate_bpm=142)  # the hold began at T0, due at T0+300
    rig.telemetry("AC-2001")  # silent from T0+30: offline due at T0+630
    rig.advance(100)
    rig.gw.stop()

    clock.advance(60)  # the gateway is down for a minute
    rig2 = make_rig(devices=[])
    rig2.sync()
    assert rig2.alerts("wristband.heart_rate") == []
    rig2.advance(109)  # T0+299
    assert rig2.alerts("wristband.heart_rate") == []
    rig2.advance(2)
    assert rig2.open("wristband.heart_rate", "WB-1001") is not None
    rig2.advance(318)  # T0+619
    assert rig2.alerts("device.offline", "AC-2001") == []
    rig2.advance(12)
    assert rig2.open("device.offline", "AC-2001") is not None
    assert len(rig2.alerts("wristband.heart_rate")) == 1


@pytest.mark.both_backends
def test_open_alert_survives_restart_and_repeats_on_it(make_rig, clock):
    rig = make_rig()
    rig.event("WB-1001", "sos")
    rig.gw.stop()
    rig2 = make_rig(devices=[])
    rig2.event("WB-1001", "sos")
    [alert] = rig2.alerts("wristband.sos")
    assert alert["count"] == 2


def test_invalid_rule_file_stops_start_up_naming_file_rule_and_field(tmp_path: Path, mosquitto):
    folder = tmp_path / "bad-rules"
    folder.mkdir()
    bad = folder / "custom.yaml"
    bad.write_text("""
rules:
  - id: custom.hr
    name: {zh: 心率, en: HR}
    kind: wristband
    condition: {type: duration, signal: heart_rate_bpm, op: gt, value: 120, for_s: -5}
    severity: major
    category: health
""", encoding="utf-8")
    settings = Settings(broker={"url": mosquitto.url}, log_json=False,
                        database={"url": f"sqlite:///{tmp_path / 'db.sqlite'}"},
                        rules={"extra_dir": str(folder)})
    with pytest.raises(RuleSetError) as info:
        Gateway(settings)
    text = str(info.value)
    assert str(bad) in text and "'custom.hr'" in text and "'condition.for_s'" in text


def test_unknown_signal_for_the_kind_stops_start_up(tmp_path: Path, mosquitto):
    folder = tmp_path / "bad-rules"
    folder.mkdir()
    (folder / "x.yaml").write_text("""
rules:
  - id: custom.door
    name: {zh: 门, en: Door}
    kind: access
    condition: {type: threshold, signal: heart_rate_bpm, op: gt, value: 1}
    severity: minor
    category: access
""", encoding="utf-8")
    settings = Settings(broker={"url": mosquitto.url}, log_json=False,
                        database={"url": f"sqlite:///{tmp_path / 'db.sqlite'}"},
                        rules={"extra_dir": str(folder)})
    with pytest.raises(RuleSetError, match=r"x\.yaml: rule 'custom.door': field "
                                           r"'condition.signal'"):
        Gateway(settings)


@pytest.mark.both_backends
def test_listeners_run_inside_the_transaction(rig: Rig):
    seen = []

    def listener(change, tx):
        # Through the repository, as everything outside gateway/storage reads (on PostgreSQL
        # a new alert's row waits in it for the transaction's end; any read writes it first).
        [state] = [a.state for a in tx.alerts.load_open() if a.id == change.alert.id]
        seen.append((change.action, state, tx.connection.in_transaction))

    rig.alerting.subscribe(listener)
    rig.event("CAM-3001", "falling_object", confidence=0.9)
    assert seen == [("opened", "active", True)]
