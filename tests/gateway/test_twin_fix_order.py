"""The device twin's position: the newest fix wins, and a fix cannot be newer than its arrival."""

from __future__ import annotations

from pathlib import Path

import orjson

from gateway.clock import ManualClock
from gateway.envelope import RawMessage
from gateway.service import Gateway
from gateway.settings import Settings
from tests.conftest import T0, device

TOPIC = "scgw/v1/wristband/WB-F1"


def test_an_sos_from_a_clock_years_ahead_does_not_freeze_the_position(tmp_path: Path):
    gw = Gateway(Settings(broker={"url": "mqtt://127.0.0.1:1"},
                          database={"url": f"sqlite:///{tmp_path / 'f.db'}"}, log_json=False),
                 clock=ManualClock(T0))
    gw.registry.register([device("WB-F1", "wristband")])
    gw.start(connect=False)
    try:
        far = {"lat": 35.40, "lon": 116.50, "accuracy_m": 9}
        near = {"lat": 35.41, "lon": 116.58, "accuracy_m": 6}
        # Urgent events are accepted whatever their time: this one says 2199.
        gw.pipeline.process_batch([RawMessage(f"{TOPIC}/event", orjson.dumps(
            {"ts": "2199-06-01T00:00:00Z", "seq": 1, "type": "sos", "location": far}),
            received_at=T0)])
        assert gw.twins.get("WB-F1").lat == 35.40
        gw.pipeline.process_batch([RawMessage(f"{TOPIC}/telemetry", orjson.dumps(
            {"ts": int((T0 + 60) * 1000), "seq": 2, "location": near}), received_at=T0 + 60)])
        twin = gw.twins.get("WB-F1")
        assert (twin.lat, twin.location_ts) == (35.41, T0 + 60)
    finally:
        gw.stop()
