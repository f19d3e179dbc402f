"""Outcomes that depend on the broker: misspelt channels, retained copies, QoS 0, own publishes."""

from __future__ import annotations

import orjson
import pytest

from tests.conftest import T0
from tests.gateway.test_confirmations import Listener
from tests.support.clients import Publisher
from tests.support.waiting import wait_for


def _reasons(gw) -> list[str]:
    return [r["reason"] for r in gw.store.query("SELECT reason FROM dead_letters ORDER BY id")]


def test_messages_on_misspelt_channels_become_bad_topic_dead_letters(make_gateway, publisher):
    gw = make_gateway()
    body = orjson.dumps({"ts": int(T0 * 1000), "seq": 1, "heart_rate_bpm": 70})
    for suffix in ("events", "Telemetry", "telemetry/x", "status/x", "cmd/ack/x"):
        publisher.publish(f"scgw/v1/wristband/WB-1001/{suffix}", body)
    assert gw.pipeline.wait_processed(5, 10)
    assert _reasons(gw) == ["bad_topic"] * 5
    assert {r["device_id"] for r in gw.store.query("SELECT device_id FROM dead_letters")} == {
        "WB-1001"}


def test_a_retained_reading_is_a_stored_copy_not_news(mosquitto, make_gateway, publisher):
    retained = orjson.dumps({"ts": int(T0 * 1000), "seq": 3, "heart_rate_bpm": 70})
    publisher.publish("scgw/v1/wristband/WB-1002/telemetry", retained, retain=True)
    try:
        gw = make_gateway()  # subscribes now: the broker hands it the stored copy
        assert gw.pipeline.wait_processed(1, 10)
        assert _reasons(gw) == ["retained"]
        assert gw.store.query("SELECT count(*) AS n FROM telemetry")[0]["n"] == 0
    finally:
        publisher.publish("scgw/v1/wristband/WB-1002/telemetry", b"", retain=True)


def test_an_event_at_qos_0_is_accepted_and_an_urgent_one_confirmed(make_gateway, publisher,
                                                                    mosquitto):
    gw = make_gateway()
    listener = Listener(mosquitto.port, ["scgw/v1/wristband/WB-1001/event/ack"])
    try:
        publisher.publish("scgw/v1/wristband/WB-1001/event", orjson.dumps(
            {"ts": int(T0 * 1000), "seq": 8, "type": "sos"}), qos=0)
        assert wait_for(lambda: listener.got, 10)
        assert listener.got[0][1]["seq"] == 8
        assert gw.store.query("SELECT type FROM events") == [{"type": "sos"}]
    finally:
        listener.close()


@pytest.mark.parametrize(("protocol", "echoes"), [("5", False), ("3.1.1", True)])
def test_the_gateway_never_mistakes_its_own_publishes_for_a_device(make_gateway, protocol,
                                                                   echoes, mosquitto):
    gw = make_gateway(broker={"url": mosquitto.url, "protocol": protocol,
                              "client_id": f"gw-echo-{protocol}"})
    device = Publisher(mosquitto.url, client_id="LK-4001")
    try:
        device.client.subscribe("scgw/v1/locker/LK-4001/cmd", qos=1)
        command = gw.pipeline.call("cmd", lambda now, tx: gw.commands.send(
            tx, device_id="LK-4001", kind="locker", name="open_compartment",
            args={"compartment": "1"}, actor="op", now=now), T0)
        # A later message from the device shows everything before it has been handled.
        device.publish("scgw/v1/locker/LK-4001/telemetry", orjson.dumps(
            {"ts": int(T0 * 1000), "seq": 1, "temperature_c": 8.0}))
        assert wait_for(lambda: gw.store.query("SELECT count(*) AS n FROM telemetry")[0]["n"],
                        10)
        assert _reasons(gw) == []
        own = gw.metrics.value("scgw_messages_own_publish_total")
        assert (own >= 1) is echoes, own
        assert gw.store.query("SELECT state FROM commands WHERE id = ?", (command,)) == [
            {"state": "sent"}]
    finally:
        device.close()


def test_an_oversized_message_keeps_the_device_it_came_from(make_gateway, publisher):
    gw = make_gateway()
    publisher.publish("scgw/v1/camera/CAM-3001/event", b"{" + b" " * 70_000 + b"}")
    assert gw.pipeline.wait_processed(1, 10)
    assert gw.store.query("SELECT reason, device_id FROM dead_letters") == [
        {"reason": "oversized", "device_id": "CAM-3001"}]
