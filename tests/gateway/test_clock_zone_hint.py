"""A device clock off by a whole number of hours is named for what it usually is: a time-zone
mix-up (UTC labelled `+08:00`, or China time sent as UTC). The SOS still pages; its
confirmation tells the device how far off it is, a refused reading says so on `…/errors`, and
the operator's `device.clock_skew` alert shows the zone it looks like (vendor round 2)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import orjson
import pytest

from devices.base import time_zone_mixup_h
from tests.conftest import T0
from tests.gateway.test_confirmations import Listener
from tests.support.waiting import wait_for

BASE = "scgw/v1/wristband/WB-1001"
CHINA = timezone(timedelta(hours=8))


@pytest.mark.parametrize(("skew_s", "hours"), [
    (-8 * 3600, -8), (8 * 3600 + 90, 8), (-8 * 3600 - 119, -8), (3600, 1), (-5.5 * 3600, -5.5),
    (14 * 3600, 14), (-8 * 3600 + 300, None), (600, None), (15 * 3600, None), (-1500, None)])
def test_which_skews_look_like_a_time_zone(skew_s: float, hours: float | None) -> None:
    assert time_zone_mixup_h(skew_s) == hours


def test_a_utc_clock_labelled_china_time_pages_and_is_told_what_is_wrong(
        make_gateway, publisher, mosquitto, clock):
    gw = make_gateway()
    listener = Listener(mosquitto.port, [f"{BASE}/event/ack", f"{BASE}/errors"])
    try:
        # The band's clock keeps UTC, and its firmware writes the wall clock with +08:00.
        wrong = datetime.fromtimestamp(T0, UTC).replace(tzinfo=CHINA).isoformat()
        publisher.publish(f"{BASE}/telemetry", orjson.dumps(
            {"ts": wrong, "seq": 2, "heart_rate_bpm": 70}))
        assert gw.pipeline.wait_processed(1, 10)
        publisher.publish(f"{BASE}/event", orjson.dumps({"ts": wrong, "seq": 3, "type": "sos"}))
        assert wait_for(lambda: listener.got, 10)
        topic, ack = listener.got[0]
        assert (topic, ack["status"]) == (f"{BASE}/event/ack", "stored")
        assert ack["clock_skew_s"] == pytest.approx(-8 * 3600, abs=5)
        assert "exactly 8 h" in ack["clock"] and "+08:00" in ack["clock"]
        assert "held it while offline" in ack["clock"]  # late: perhaps only old
        assert [r["state"] for r in gw.store.query(
            "SELECT state FROM alerts WHERE rule_id = 'wristband.sos'")] == ["active"]
        # Just heard from after a break: its records may be a backlog. Ten minutes of
        # nothing on time prove the clock; its alert names the zone it looks like.
        _late_for_ten_minutes(gw, publisher, clock, wrong_by=-8 * 3600, seq=10)
        [skew] = gw.store.query("SELECT detail FROM alerts WHERE rule_id = 'device.clock_skew'")
        assert orjson.loads(skew["detail"])["time_zone_mixup_h"] == -8

        # China wall-clock time sent as UTC: 8 h ahead, a reading is refused and told why.
        ahead = datetime.fromtimestamp(clock.time(), CHINA).replace(tzinfo=UTC).isoformat()
        publisher.publish(f"{BASE}/telemetry", orjson.dumps(
            {"ts": ahead, "seq": 4, "heart_rate_bpm": 70}))
        assert wait_for(lambda: len(listener.got) == 2, 10)
        topic, error = listener.got[1]
        assert (topic, error["reason"]) == (f"{BASE}/errors", "future_timestamp")
        assert "exactly 8 h" in error["detail"] and "time-zone" in error["detail"]
    finally:
        listener.close()


def test_a_clock_a_few_minutes_off_is_not_called_a_time_zone(make_gateway, publisher,
                                                             mosquitto, clock):
    gw = make_gateway()
    listener = Listener(mosquitto.port, [f"{BASE}/event/ack"])
    try:
        publisher.publish(f"{BASE}/telemetry", orjson.dumps(
            {"ts": int((T0 - 1200) * 1000), "seq": 4, "heart_rate_bpm": 70}))
        assert gw.pipeline.wait_processed(1, 10)
        publisher.publish(f"{BASE}/event", orjson.dumps(
            {"ts": int((T0 - 1200) * 1000), "seq": 5, "type": "sos"}))
        assert wait_for(lambda: listener.got, 10)
        ack = listener.got[0][1]
        assert ack["clock_skew_s"] == pytest.approx(-1200, abs=5)
        assert "time-zone" not in ack["clock"]
        _late_for_ten_minutes(gw, publisher, clock, wrong_by=-1200, seq=10)
        [skew] = gw.store.query("SELECT detail FROM alerts WHERE rule_id = 'device.clock_skew'")
        assert "time_zone_mixup_h" not in orjson.loads(skew["detail"])
    finally:
        listener.close()


def test_alarms_held_through_a_gateway_outage_do_not_blame_the_device_clocks(
        make_gateway, publisher, clock):
    # Bands heard on time, then the gateway is down for 20 minutes while two of them raise
    # an SOS (the broker holds them in the gateway's session). They page late when it is
    # back — the outage's lateness, not their clocks': no `device.clock_skew` alert.
    gw = make_gateway(broker={"client_id": "gw-outage"})
    for seq, band in enumerate(("WB-1001", "WB-1002"), start=1):
        publisher.publish(f"scgw/v1/wristband/{band}/telemetry", orjson.dumps(
            {"ts": int(clock.time() * 1000), "seq": seq, "heart_rate_bpm": 70}))
    assert gw.pipeline.wait_processed(2, 10)
    gw.stop()
    clock.advance(120)
    for seq, band in enumerate(("WB-1001", "WB-1002"), start=10):
        publisher.publish(f"scgw/v1/wristband/{band}/event", _sos(seq, clock.time()))
    clock.advance(1200)
    back = make_gateway(broker={"client_id": "gw-outage"})
    assert wait_for(lambda: len(back.store.query(
        "SELECT id FROM alerts WHERE rule_id = 'wristband.sos'")) == 2, 10)
    assert back.store.query("SELECT device_id FROM alerts"
                            " WHERE rule_id = 'device.clock_skew'") == []
    # A band back from a break that sends an alarm claiming a time before it may have held
    # it (vendor round 4: a door controller's upload after three hours offline): no verdict.
    publisher.publish("scgw/v1/wristband/WB-1001/telemetry", orjson.dumps(
        {"ts": int(clock.time() * 1000), "seq": 20, "heart_rate_bpm": 71}))
    publisher.publish("scgw/v1/wristband/WB-1001/event", _sos(21, clock.time() - 900))
    assert back.pipeline.wait_processed(4, 10)
    assert back.store.query("SELECT id FROM alerts WHERE rule_id = 'device.clock_skew'") == []
    # One talking without a break since before the time its alarm claims has a slow clock.
    for n in range(17):
        clock.advance(60)
        publisher.publish("scgw/v1/wristband/WB-1001/telemetry", orjson.dumps(
            {"ts": int(clock.time() * 1000), "seq": 30 + n, "heart_rate_bpm": 71}))
        assert back.pipeline.wait_processed(5 + n, 10)
    publisher.publish("scgw/v1/wristband/WB-1001/event", _sos(60, clock.time() - 900))
    assert wait_for(lambda: back.store.query(
        "SELECT device_id FROM alerts WHERE rule_id = 'device.clock_skew'") == [
            {"device_id": "WB-1001"}], 10)


def _late_for_ten_minutes(gw, publisher, clock, *, wrong_by: float, seq: int) -> None:
    done = gw.pipeline.processed
    for n in range(11):
        clock.advance(60)
        publisher.publish(f"{BASE}/telemetry", orjson.dumps(
            {"ts": int((clock.time() + wrong_by) * 1000), "seq": seq + n, "heart_rate_bpm": 70}))
        assert gw.pipeline.wait_processed(done + n + 1, 10)


def _sos(seq: int, ts: float) -> bytes:
    return orjson.dumps({"ts": int(ts * 1000), "seq": seq, "type": "sos"})


def test_a_band_whose_clock_came_back_months_behind_still_shows_where_it_is(
        make_gateway, publisher, clock):
    # Vendor round 3: after a battery swap the band's RTC restarts at its firmware date and
    # counts on from there. Every fix then looked older than the last good one, so the
    # family's "where is he now" froze at home while he walked a kilometre away.
    gw = make_gateway()
    home = {"lat": 35.4151, "lon": 116.5872, "accuracy_m": 8}
    publisher.publish("scgw/v1/wristband/WB-1001/telemetry", orjson.dumps(
        {"ts": int(clock.time() * 1000), "seq": 1, "location": home}))
    assert gw.pipeline.wait_processed(1, 10)
    behind = 270 * 86_400  # the firmware's date, nine months ago
    for n in range(12):  # a fix a minute, walking north; the clock judged slow after 10 min
        clock.advance(60)
        fix = {"lat": 35.4151 + 0.0008 * (n + 1), "lon": 116.5872, "accuracy_m": 10}
        publisher.publish("scgw/v1/wristband/WB-1001/telemetry", orjson.dumps(
            {"ts": int((clock.time() - behind) * 1000), "seq": 100 + n, "location": fix}))
        assert gw.pipeline.wait_processed(2 + n, 10)
    assert gw.alerting.clocks.skew_of("WB-1001") == pytest.approx(-behind, abs=5)
    twin = gw.twins.get("WB-1001")
    assert twin.lat == pytest.approx(fix["lat"])
    assert twin.location_ts == pytest.approx(clock.time(), abs=5)


def test_a_door_controllers_backlog_after_an_outage_is_late_not_a_wrong_clock(
        make_gateway, publisher, mosquitto, clock):
    # Vendor round 4: back from three hours offline, a controller says `online` and uploads
    # its records; its forced door of two hours ago was confirmed as "clock 7200 s behind —
    # a time-zone mix-up?", a clock-skew ticket opened, and the break-in's ticket said the
    # device clock was slow and the alarm live.
    gw = make_gateway()
    door = "scgw/v1/access/AC-2001"
    publisher.publish(f"{door}/telemetry", orjson.dumps(
        {"ts": int(clock.time() * 1000), "seq": 1, "door_open": False}))
    assert gw.pipeline.wait_processed(1, 10)
    clock.advance(3 * 3600)
    listener = Listener(mosquitto.port, [f"{door}/event/ack"])
    try:
        publisher.publish(f"{door}/status", b"online")
        for seq, (ago, body) in enumerate([
                (7200, {"type": "forced_open", "door": "door-2"}),
                (5400, {"type": "fence_intrusion", "zone": "Z3"}),
                (0, {"type": "unlock", "method": "card"})], start=2):
            publisher.publish(f"{door}/event", orjson.dumps(
                {"ts": int((clock.time() - ago) * 1000), "seq": seq, **body}))
        assert wait_for(lambda: len(listener.got) == 2, 10)
    finally:
        listener.close()
    assert all("held it while offline" in ack["clock"] for _, ack in listener.got)
    rules = [r["rule_id"] for r in gw.store.query("SELECT rule_id FROM alerts ORDER BY id")]
    assert "access.forced_open" in rules and "access.fence_intrusion" in rules
    assert "device.clock_skew" not in rules
    [ticket] = gw.store.query("SELECT description FROM tickets WHERE category = 'access'")
    assert "离线后补传" in ticket["description"] and "设备时钟慢 " not in ticket["description"]
