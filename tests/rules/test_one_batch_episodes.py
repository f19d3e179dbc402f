"""One batch clears an alert and opens the next episode of the same rule and device.
On PostgreSQL the alert rows wait for the transaction's end and are written together; the
clear must reach the table before the new episode (only one may be open)."""

from __future__ import annotations

import orjson
import pytest

from gateway.envelope import RawMessage
from tests.rules.conftest import Rig

pytestmark = pytest.mark.both_backends

FLAPPY = """
rules:
  - id: test.battery_twice
    name: {zh: 电量低（测试）, en: Battery low (test)}
    kind: wristband
    condition: {type: threshold, signal: battery_pct, op: lt, value: 20, hysteresis: 10}
    severity: minor
    category: device_fault
    options: {cooldown_s: 0}
"""


def test_a_clear_and_a_new_episode_in_one_batch_are_both_stored(make_rig, rules_dir):
    (rules_dir / "flappy.yaml").write_text(FLAPPY, encoding="utf-8")
    rig: Rig = make_rig()
    gw = rig.gw
    rig.telemetry("WB-1001", battery_pct=10)  # the first episode opens, in a batch of its own
    now = rig.clock.time()
    gw.pipeline.stop()  # the next two readings wait together and go as one batch
    gw.pipeline_submit([
        RawMessage("scgw/v1/wristband/WB-1001/telemetry",
                   orjson.dumps({"ts": int((now + i) * 1000), "seq": 9000 + i,
                                 "battery_pct": pct}), 1, 0, received_at=now + i)
        for i, pct in ((1, 90), (2, 10))])
    gw.pipeline.start()
    assert gw.pipeline.wait_processed(3, 30), "the batch never committed"
    # … at the first attempt (a batch that fails is retried message by message, and would
    # get there too, slower and with an error logged).
    assert gw.metrics.registry.get_sample_value("scgw_store_errors_total") == 0
    episodes = rig.alerts("test.battery_twice", "WB-1001")
    assert [a["state"] for a in episodes] == ["cleared", "active"], episodes
    assert rig.open("test.battery_twice", "WB-1001")["id"] == episodes[1]["id"]
