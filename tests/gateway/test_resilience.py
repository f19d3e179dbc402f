"""Broker restarts, jittered backoff, shared subscriptions across gateway processes."""

from __future__ import annotations

import random

import orjson

from gateway.retry import Backoff
from gateway.service import Gateway
from gateway.settings import Settings
from tests.conftest import STANDARD_DEVICES, T0
from tests.support.clients import Publisher
from tests.support.mosquitto import start_mosquitto
from tests.support.waiting import wait_for


def _telemetry(seq: int) -> bytes:
    return orjson.dumps({"ts": int(T0 * 1000), "seq": seq, "heart_rate_bpm": 70})


def test_backoff_grows_with_jitter_and_resets():
    backoff = Backoff(0.5, 8.0, random.Random(1))
    delays = [backoff.next() for _ in range(8)]
    assert all(0.25 <= d <= 8.0 for d in delays)
    assert max(delays[4:]) > max(delays[:2])  # grows
    assert len({round(d, 6) for d in delays}) == len(delays)  # jittered, not in step
    backoff.reset()
    assert backoff.next() <= 0.5


def test_gateway_reconnects_after_the_broker_restarts(tmp_path, make_gateway, clock):
    broker = start_mosquitto(tmp_path / "b1")
    settings = Settings(
        broker={"url": broker.url, "client_id": "gw-restart", "reconnect_min_s": 0.05,
                "reconnect_max_s": 0.2},
        database={"url": f"sqlite:///{tmp_path / 'r.db'}"}, log_json=False,
    )
    gw = Gateway(settings, clock=clock)
    gw.registry.register(STANDARD_DEVICES)
    gw.start()
    try:
        assert gw.mqtt.wait_connected(10)
        pub = Publisher(broker.url)
        pub.publish("scgw/v1/wristband/WB-1001/telemetry", _telemetry(1))
        assert gw.pipeline.wait_processed(1, 10)
        pub.close()
        broker.stop()
        assert wait_for(lambda: not gw.mqtt.connected, 10)
        broker = start_mosquitto(tmp_path / "b2", port=broker.port)  # a fresh broker, no session
        assert gw.mqtt.wait_connected(15), "gateway did not reconnect"
        pub = Publisher(broker.url)
        pub.publish("scgw/v1/wristband/WB-1001/telemetry", _telemetry(2))
        assert gw.pipeline.wait_processed(2, 10)
        pub.close()
        rows = gw.store.query("SELECT seq FROM telemetry ORDER BY seq")
        assert [r["seq"] for r in rows] == [1, 2]
        assert gw.metrics.value("scgw_broker_reconnects_total") >= 2
    finally:
        gw.stop()
        broker.stop()


def test_shared_subscription_splits_messages_between_gateways(tmp_path, mosquitto, clock):
    gateways = []
    for n in range(2):
        settings = Settings(
            broker={"url": mosquitto.url, "client_id": f"gw-share-{n}", "shared_group": "scgw"},
            database={"url": f"sqlite:///{tmp_path / f's{n}.db'}"}, log_json=False,
        )
        gw = Gateway(settings, clock=clock)
        gw.registry.register(STANDARD_DEVICES)
        gw.start()
        assert gw.mqtt.wait_connected(10)
        gateways.append(gw)
    try:
        pub = Publisher(mosquitto.url)
        total = 200
        infos = [pub.publish_nowait("scgw/v1/wristband/WB-1001/telemetry", _telemetry(seq))
                 for seq in range(total)]
        for info in infos:
            info.wait_for_publish(10)
        pub.close()

        def all_in() -> bool:
            return sum(g.pipeline.processed for g in gateways) >= total

        assert wait_for(all_in, 15)
        seqs = [r["seq"] for g in gateways for r in g.store.query("SELECT seq FROM telemetry")]
        assert sorted(seqs) == list(range(total))  # each message handled by exactly one
        assert all(g.pipeline.processed > 0 for g in gateways)  # and both took a share
    finally:
        for gw in gateways:
            gw.stop()
