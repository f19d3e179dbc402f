"""A device whose clock runs fast gets its `device.clock_skew` alert from refused readings.

Found while walking the vendor guide ("A device whose clock is more than 5 minutes off gets
one maintenance alert"): readings more than `limits.future_skew_s` ahead are refused as
`future_timestamp`, and only accepted messages were watched, so a fast device that sends no
urgent event never got the alert — the operator saw only dead letters.
"""

from __future__ import annotations

import orjson
import pytest

from tests.conftest import T0

TOPIC = "scgw/v1/wristband/WB-1002/telemetry"


def _skew_alerts(gw) -> list[dict]:
    return gw.store.query("SELECT state, clock_skew_s FROM alerts"
                          " WHERE rule_id = 'device.clock_skew' ORDER BY id")


def test_a_fast_clock_is_flagged_by_a_refused_reading_and_cleared_when_right(
        make_gateway, publisher):
    gw = make_gateway()
    publisher.publish(TOPIC, orjson.dumps(
        {"ts": int((T0 + 900) * 1000), "seq": 1, "heart_rate_bpm": 70}))
    assert gw.pipeline.wait_processed(1, 10)
    assert [r["reason"] for r in gw.store.query("SELECT reason FROM dead_letters")] == [
        "future_timestamp"]
    [alert] = _skew_alerts(gw)
    assert alert["state"] == "active"
    assert alert["clock_skew_s"] == pytest.approx(900, abs=5)
    # More fast readings: still one alert.
    publisher.publish(TOPIC, orjson.dumps(
        {"ts": int((T0 + 901) * 1000), "seq": 2, "heart_rate_bpm": 71}))
    assert gw.pipeline.wait_processed(2, 10)
    assert len(_skew_alerts(gw)) == 1
    # The clock is fixed: the next reading on time clears it.
    publisher.publish(TOPIC, orjson.dumps(
        {"ts": int(T0 * 1000), "seq": 3, "heart_rate_bpm": 72}))
    assert gw.pipeline.wait_processed(3, 10)
    assert [a["state"] for a in _skew_alerts(gw)] == ["cleared"]


def test_a_reading_just_inside_the_limit_is_accepted_and_raises_nothing(make_gateway,
                                                                          publisher):
    gw = make_gateway()
    publisher.publish(TOPIC, orjson.dumps(
        {"ts": int((T0 + 240) * 1000), "seq": 1, "heart_rate_bpm": 70}))
    assert gw.pipeline.wait_processed(1, 10)
    assert gw.store.query("SELECT reason FROM dead_letters") == []
    assert _skew_alerts(gw) == []
