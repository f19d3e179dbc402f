"""Urgent events are confirmed to their device after commit; refusals are told to the sender."""

from __future__ import annotations

import threading

import orjson
import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from tests.conftest import T0
from tests.support.waiting import wait_for


class Listener:
    """A device's subscription to what the gateway sends it."""

    def __init__(self, url_port: int, topics: list[str]) -> None:
        self.got: list[tuple[str, dict]] = []
        self.ready = threading.Event()
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"listen-{id(self)}")
        self.client.on_subscribe = lambda *a: self.ready.set()
        self.client.on_message = lambda c, u, m: self.got.append((m.topic, orjson.loads(m.payload)))
        self.client.connect("127.0.0.1", url_port)
        self.client.subscribe([(t, 1) for t in topics])
        self.client.loop_start()
        assert self.ready.wait(5)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def test_an_sos_is_confirmed_after_commit_and_again_when_resent(make_gateway, publisher,
                                                                mosquitto):
    gw = make_gateway()
    ack_topic = "scgw/v1/wristband/WB-1001/event/ack"
    listener = Listener(mosquitto.port, [ack_topic, "scgw/v1/wristband/WB-1001/errors"])
    try:
        sos = orjson.dumps({"ts": int(T0 * 1000), "seq": 41, "type": "sos"})
        publisher.publish("scgw/v1/wristband/WB-1001/event", sos)
        assert wait_for(lambda: listener.got, 5)
        topic, body = listener.got[0]
        assert topic == ack_topic
        assert body == {"seq": 41, "type": "sos", "status": "stored", "ts": int(T0 * 1000)}
        # It was stored before it was confirmed.
        assert gw.store.query("SELECT seq FROM events WHERE type = 'sos'") == [{"seq": 41}]
        # The device did not see the confirmation and resends: confirmed again, stored once.
        publisher.publish("scgw/v1/wristband/WB-1001/event", sos)
        assert wait_for(lambda: len(listener.got) == 2, 5)
        assert listener.got[1][1]["status"] == "duplicate"
        assert len(gw.store.query("SELECT id FROM events WHERE type = 'sos'")) == 1
        # Non-urgent messages are not confirmed; a refused one is explained on `errors`.
        publisher.publish("scgw/v1/wristband/WB-1001/event", orjson.dumps(
            {"ts": int(T0 * 1000), "seq": 42, "type": "worn"}))
        publisher.publish("scgw/v1/wristband/WB-1001/telemetry", orjson.dumps(
            {"ts": int(T0 * 1000), "seq": 7, "heart_rate_bpm": "71"}))
        assert wait_for(lambda: len(listener.got) == 3, 5)
        topic, body = listener.got[2]
        assert topic == "scgw/v1/wristband/WB-1001/errors"
        assert (body["reason"], body["seq"]) == ("schema_invalid", 7)
        assert "heart_rate_bpm" in body["detail"]
    finally:
        listener.close()


def test_a_confirmation_expires_at_the_broker_after_an_hour(make_gateway, publisher,
                                                           mosquitto):
    # A band that went away is confirmed again when it resends; meanwhile the broker must not
    # hold its confirmations for the session's whole life.
    make_gateway()
    got: list[paho.MQTTMessage] = []
    ready = threading.Event()
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id="listen-v5",
                         protocol=paho.MQTTv5)
    client.on_subscribe = lambda *a: ready.set()
    client.on_message = lambda c, u, m: got.append(m)
    client.connect("127.0.0.1", mosquitto.port)
    client.subscribe("scgw/v1/wristband/WB-1001/event/ack", qos=1)
    client.loop_start()
    try:
        assert ready.wait(5)
        publisher.publish("scgw/v1/wristband/WB-1001/event", orjson.dumps(
            {"ts": int(T0 * 1000), "seq": 43, "type": "sos"}))
        assert wait_for(lambda: got, 5)
        expiry = got[0].properties.MessageExpiryInterval
        assert 3500 <= expiry <= 3600, expiry
    finally:
        client.disconnect()
        client.loop_stop()


def test_refusal_reports_are_rate_limited_per_device(make_gateway, publisher, mosquitto):
    gw = make_gateway()
    listener = Listener(mosquitto.port, ["scgw/v1/wristband/WB-1002/errors"])
    try:
        for n in range(30):
            publisher.publish_nowait("scgw/v1/wristband/WB-1002/telemetry", b"not json %d" % n)
        assert gw.pipeline.wait_processed(30, 10)
        assert wait_for(lambda: len(listener.got) >= 10, 5)
        # Every refusal is a dead letter; only the first ten in the window were reported.
        assert len(gw.store.query("SELECT id FROM dead_letters")) == 30
        publisher.publish("scgw/v1/wristband/WB-1001/event", orjson.dumps(
            {"ts": int(T0 * 1000), "seq": 1, "type": "fall"}))  # a sentinel after them
        assert gw.pipeline.wait_processed(31, 10)
        assert len(listener.got) == 10
    finally:
        listener.close()


def test_a_refusal_report_names_the_seq_of_a_payload_with_nan():
    # NaN is what got the reading refused; the report must still say which reading it was.
    from gateway.confirmations import Confirmations
    from gateway.envelope import RawMessage
    from gateway.rejections import RejectError

    sent: list[tuple[str, bytes, int]] = []
    confirmations = Confirmations(lambda topic, body, qos: sent.append((topic, body, qos)))
    raw = RawMessage("scgw/v1/wristband/WB-1001/telemetry",
                     b'{"ts": %d, "seq": 42, "body_temp_c": NaN}' % int(T0 * 1000),
                     received_at=T0)
    confirmations.on_refused(raw, RejectError("schema_invalid", "body_temp_c: finite",
                                              "WB-1001"))
    confirmations.committed()
    [(topic, body, qos)] = sent
    assert topic == "scgw/v1/wristband/WB-1001/errors" and qos == 0
    assert orjson.loads(body)["seq"] == 42
