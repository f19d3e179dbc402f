"""The camera's own publisher keeps an urgent event until the gateway confirms it, as the
vendor guide asks of every device (a vendor's run, session 31: it relied on the PUBACK)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import orjson
import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from devices.camera.models import FallingObjectEvent, FireLaneClearedEvent
from devices.camera.publish import MqttPublisher
from tests.support.mosquitto import Mosquitto

BASE = "scgw/v1/camera/CAM-PUB-1"


class LossyGateway:
    """Stands in for a gateway that lost the first copy (a broker crash after its PUBACK)."""

    def __init__(self, broker: Mosquitto, confirm_copy: int) -> None:
        self.copies: list[bytes] = []
        self._confirm_copy = confirm_copy
        ready = threading.Event()
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id="lossy-gateway")
        self.client.on_subscribe = lambda *a: ready.set()
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", broker.port)
        self.client.subscribe(f"{BASE}/event", qos=1)
        self.client.loop_start()
        assert ready.wait(5)

    def _on_message(self, client: paho.Client, userdata: object, msg: paho.MQTTMessage) -> None:
        self.copies.append(msg.payload)
        body = orjson.loads(msg.payload)
        if sum(orjson.loads(c)["seq"] == body["seq"] for c in self.copies) == self._confirm_copy:
            client.publish(f"{BASE}/event/ack", orjson.dumps(
                {"seq": body["seq"], "type": body["type"], "status": "stored"}), qos=1)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def test_a_falling_object_is_resent_until_the_gateway_confirms_it(mosquitto: Mosquitto):
    gateway = LossyGateway(mosquitto, confirm_copy=3)
    publisher = MqttPublisher(mosquitto.url, "CAM-PUB-1", resend_after_s=(0.05, 0.1))
    try:
        publisher.connect()
        now = datetime.now(UTC)
        publisher.send(FallingObjectEvent(ts=now, seq=publisher.next_seq(), confidence=0.9))
        # Not urgent: sent once, never kept.
        publisher.send(FireLaneClearedEvent(ts=now, seq=publisher.next_seq(), zone="FL-1"))
        assert publisher.wait_confirmed(10)
        assert publisher.unconfirmed == 0
        falling = [c for c in gateway.copies if b"falling_object" in c]
        assert len(falling) == 3 and len(set(falling)) == 1  # the same bytes each time
        assert sum(b"fire_lane_cleared" in c for c in gateway.copies) == 1
    finally:
        publisher.close(confirm_timeout_s=0)
        gateway.close()
