"""`scgw run` without a broker URL: the embedded broker carries device traffic to the gateway."""

from __future__ import annotations

import orjson

from gateway.runtime import Runtime
from gateway.settings import Settings
from tests.conftest import STANDARD_DEVICES
from tests.support.clients import Publisher
from tests.support.mosquitto import free_port


def test_embedded_broker_runtime_ingests_and_stops_cleanly(tmp_path):
    settings = Settings(
        embedded_broker={"port": free_port()},
        database={"url": f"sqlite:///{tmp_path / 'e.db'}"},
        log_json=False,
    )
    runtime = Runtime(settings)
    runtime.gateway.registry.register(STANDARD_DEVICES)
    runtime.start()
    try:
        assert runtime.gateway.mqtt.wait_connected(10)
        device = Publisher(runtime.broker_url, client_id="WB-1001")
        body = {"ts": runtime.gateway.clock.now().isoformat(), "seq": 1, "heart_rate_bpm": 71}
        device.publish("scgw/v1/wristband/WB-1001/telemetry", orjson.dumps(body))
        assert runtime.gateway.pipeline.wait_processed(1, timeout=10)
        rows = runtime.gateway.store.query("SELECT device_id FROM telemetry")
        assert rows == [{"device_id": "WB-1001"}]
        device.close()
    finally:
        runtime.stop()
    assert not runtime.gateway.mqtt.connected
