"""Publishes camera events through the v1 MQTT contract as the camera's own device id."""

from __future__ import annotations

import ssl
import time
from datetime import UTC, datetime
from urllib.parse import unquote, urlsplit

import orjson
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from devices.camera.detection import CameraEvent
from devices.camera.models import KEY
from devices.topics import topic

_CONNECT_TIMEOUT_S = 10.0
_PUBLISH_TIMEOUT_S = 10.0


class PublishError(RuntimeError):
    """The broker could not be reached or did not acknowledge a message in time."""


class MqttPublisher:
    """A paho-mqtt 2.x client that announces presence and sends events at QoS 1."""

    def __init__(self, url: str, device_id: str, password: str | None = None) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl"):
            raise PublishError(f"unsupported MQTT URL scheme {parts.scheme!r}")
        self.device_id = device_id
        self._status = topic(KEY, device_id, "status")
        self._event = topic(KEY, device_id, "event")
        tls = parts.scheme in ("mqtts", "ssl")
        self._host = parts.hostname or "localhost"
        self._port = parts.port or (8883 if tls else 1883)
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=device_id, clean_session=True)
        user = unquote(parts.username) if parts.username else device_id
        secret = unquote(parts.password) if parts.password else password
        client.username_pw_set(user, secret)
        if tls:
            client.tls_set(cert_reqs=ssl.CERT_REQUIRED)
        client.will_set(self._status, orjson.dumps({"state": "offline"}), qos=1, retain=True)
        client.reconnect_delay_set(1, 30)
        self._client = client
        # Sequence numbers start at the wall clock (ms) so they keep rising across restarts,
        # which the gateway's dedup by (device, seq) relies on.
        self._seq = int(time.time() * 1000)

    def connect(self) -> None:
        """Connect, start the network loop and publish `online` (retained)."""
        try:
            self._client.connect(self._host, self._port, keepalive=30)
        except OSError as exc:
            raise PublishError(f"cannot reach {self._host}:{self._port}: {exc}") from exc
        self._client.loop_start()
        deadline = time.monotonic() + _CONNECT_TIMEOUT_S
        info = self._publish(
            self._status, {"state": "online", "ts": datetime.now(UTC).isoformat()}, retain=True
        )
        info.wait_for_publish(max(0.1, deadline - time.monotonic()))
        if not info.is_published():
            self.close()
            raise PublishError(f"broker {self._host}:{self._port} did not accept the connection")

    def next_seq(self) -> int:
        """The next sequence number."""
        self._seq += 1
        return self._seq

    def send(self, event: CameraEvent) -> None:
        """Publish one event at QoS 1 and wait for the broker's PUBACK."""
        payload = event.model_dump_json(exclude_none=True).encode()
        info = self._client.publish(self._event, payload, qos=1)
        info.wait_for_publish(_PUBLISH_TIMEOUT_S)
        if not info.is_published():
            raise PublishError(f"event {event.type} was not acknowledged in time")

    def _publish(
        self, where: str, obj: dict[str, object], retain: bool = False
    ) -> mqtt.MQTTMessageInfo:
        return self._client.publish(where, orjson.dumps(obj), qos=1, retain=retain)

    def close(self) -> None:
        """Publish `offline`, disconnect and stop the network loop."""
        if self._client.is_connected():
            info = self._publish(
                self._status, {"state": "offline", "ts": datetime.now(UTC).isoformat()}, retain=True
            )
            info.wait_for_publish(2.0)
        self._client.disconnect()
        self._client.loop_stop()
