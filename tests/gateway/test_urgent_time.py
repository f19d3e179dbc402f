"""Urgent events page on receipt whatever the device clock says; the skew is shown, not trusted."""

from __future__ import annotations

import orjson
import pytest

from tests.conftest import T0

FIX = {"lat": 35.4151, "lon": 116.5872, "accuracy_m": 8}


def _sos(seq: int, device_time: float) -> bytes:
    return orjson.dumps({"ts": int(device_time * 1000), "seq": seq, "type": "sos",
                         "location": FIX})


def _alerts(gw, rule_id: str) -> list[dict]:
    return gw.store.query("SELECT id, state, muted, clock_skew_s, count FROM alerts"
                          " WHERE rule_id = ? ORDER BY id", (rule_id,))


@pytest.mark.parametrize("skew_s", [-3600.0, +3600.0, -86_400.0 * 3, +7200.0, -30.0])
def test_an_sos_pages_on_receipt_with_its_clock_skew_shown(make_gateway, publisher, skew_s):
    gw = make_gateway()
    publisher.publish("scgw/v1/wristband/WB-1001/event", _sos(1, T0 + skew_s))
    assert gw.pipeline.wait_processed(1, 10)
    assert gw.store.query("SELECT reason FROM dead_letters") == []
    [sos] = _alerts(gw, "wristband.sos")
    assert (sos["state"], sos["muted"]) == ("active", None)  # pages: not muted "stale"
    assert sos["clock_skew_s"] == pytest.approx(skew_s)
    [ticket] = gw.store.query("SELECT priority, clock_skew_s, description FROM tickets"
                              " WHERE category = 'sos'")
    assert ticket["priority"] == "urgent" and ticket["clock_skew_s"] == pytest.approx(skew_s)
    if abs(skew_s) >= 60:
        assert "paged on receipt" in ticket["description"]
    # Stored with the device's own time, not flagged stale.
    [row] = gw.store.query("SELECT ts, stale FROM events WHERE type = 'sos'")
    assert row == {"ts": pytest.approx(T0 + skew_s), "stale": 0}
    # A replay of the same SOS (same seq) is still a duplicate, not a second page.
    publisher.publish("scgw/v1/wristband/WB-1001/event", _sos(1, T0 + skew_s))
    assert gw.pipeline.wait_processed(2, 10)
    assert [a["count"] for a in _alerts(gw, "wristband.sos")] == [1]


def test_non_urgent_readings_keep_the_timestamp_rules(make_gateway, publisher):
    gw = make_gateway()
    for seq, body in enumerate([
        {"ts": int((T0 + 3600) * 1000), "heart_rate_bpm": 70},        # fast: refused
        {"ts": int((T0 - 2 * 86_400) * 1000), "heart_rate_bpm": 71},  # 2 days old: stale
    ]):
        publisher.publish("scgw/v1/wristband/WB-1002/telemetry",
                          orjson.dumps({**body, "seq": seq}))
    assert gw.pipeline.wait_processed(2, 10)
    assert [r["reason"] for r in gw.store.query("SELECT reason FROM dead_letters")] == [
        "future_timestamp"]
    assert gw.store.query("SELECT stale FROM telemetry") == [{"stale": 1}]
    # A removed-band event (not urgent) one hour old opens its alert muted, as before.
    publisher.publish("scgw/v1/wristband/WB-1002/event", orjson.dumps(
        {"ts": int((T0 - 3600) * 1000), "seq": 9, "type": "removed"}))
    assert gw.pipeline.wait_processed(3, 10)
    assert [a["muted"] for a in _alerts(gw, "wristband.removed")] in ([], ["stale"])


def test_a_device_with_a_wrong_clock_gets_one_maintenance_alert_until_fixed(
        make_gateway, publisher, clock):
    gw = make_gateway()
    topic = "scgw/v1/wristband/WB-1001/telemetry"

    def send(seq: int, skew: float) -> None:
        publisher.publish(topic, orjson.dumps({"ts": int((clock.time() + skew) * 1000),
                                               "seq": seq, "heart_rate_bpm": 70}))

    # An hour slow: buffered-looking readings alone prove nothing for 10 minutes …
    send(1, -3600)
    assert gw.pipeline.wait_processed(1, 10)
    assert _alerts(gw, "device.clock_skew") == []
    # … and an SOS, sent live, proves it at once (and still pages).
    publisher.publish("scgw/v1/wristband/WB-1001/event", _sos(1, clock.time() - 3600))
    # Each message is in before the clock moves: the skew is measured at receipt, and a
    # message still in flight when the test advances the clock would look later still.
    assert gw.pipeline.wait_processed(2, 10)
    for seq in range(2, 5):
        clock.advance(300)
        send(seq, -3600)
        assert gw.pipeline.wait_processed(seq + 1, 10)
    [skew] = _alerts(gw, "device.clock_skew")
    assert skew["state"] == "active" and skew["clock_skew_s"] == pytest.approx(-3600)
    assert gw.store.query("SELECT priority FROM tickets WHERE category = 'device_fault'") \
        in ([], [{"priority": "low"}])
    # Fixed: the next reading on time clears it; one alert in all.
    clock.advance(60)
    send(5, 0.5)
    assert gw.pipeline.wait_processed(6, 10)
    assert [a["state"] for a in _alerts(gw, "device.clock_skew")] == ["cleared"]


def test_a_fast_clock_is_flagged_by_its_first_reading(make_gateway, publisher):
    gw = make_gateway()
    publisher.publish("scgw/v1/camera/CAM-3001/event", orjson.dumps(
        {"ts": int((T0 + 900) * 1000), "seq": 1, "type": "falling_object", "confidence": 0.95}))
    assert gw.pipeline.wait_processed(1, 10)
    [falling] = _alerts(gw, "camera.falling_object")
    assert falling["state"] == "active" and falling["clock_skew_s"] == pytest.approx(900)
    assert [a["state"] for a in _alerts(gw, "device.clock_skew")] == ["active"]
