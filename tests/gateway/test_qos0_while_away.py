"""With the shipped broker settings, a QoS 0 message published while the gateway is away
(an upgrade, a restart) waits in its session like a QoS 1 one: a cheap watch's QoS 0, retained
SOS sent during a restart was lost without a trace (vendor round 3)."""

from __future__ import annotations

import orjson
import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from gateway.clock import ManualClock
from gateway.service import Gateway
from gateway.settings import Settings
from tests.conftest import STANDARD_DEVICES, T0
from tests.support.broker_kill import deploy_conf
from tests.support.mosquitto import start_mosquitto
from tests.support.waiting import wait_for


def _gateway(url: str, db: str) -> Gateway:
    gw = Gateway(Settings(broker={"url": url, "client_id": "gw-away"},
                          database={"url": db}, log_json=False), clock=ManualClock(T0))
    gw.registry.register(STANDARD_DEVICES)
    gw.start()
    assert gw.mqtt.wait_connected(10)
    return gw


def test_a_qos0_sos_sent_while_the_gateway_restarts_pages_when_it_is_back(tmp_path):
    conf, _ = deploy_conf(tmp_path / "data")
    (tmp_path / "data").mkdir()
    broker = start_mosquitto(tmp_path / "broker", extra=conf, test_defaults=False)
    db = f"sqlite:///{tmp_path / 'gw.db'}"
    try:
        _gateway(broker.url, db).stop()  # its persistent session now exists
        watch = paho.Client(CallbackAPIVersion.VERSION2, client_id="WB-1001")
        watch.connect("127.0.0.1", broker.port)
        watch.loop_start()
        sent = watch.publish("scgw/v1/wristband/WB-1001/event", orjson.dumps(
            {"ts": int(T0 * 1000), "seq": 77, "type": "sos"}), qos=0, retain=True)
        sent.wait_for_publish(5)
        watch.disconnect()
        watch.loop_stop()
        back = _gateway(broker.url, db)
        try:
            assert wait_for(lambda: back.store.query(
                "SELECT rule_id FROM alerts WHERE rule_id = 'wristband.sos'"), 10)
        finally:
            back.stop()
    finally:
        broker.stop()
