"""Plain MQTT clients for tests: publish like a device would, wait for broker acks."""

from __future__ import annotations

import itertools
from urllib.parse import urlsplit

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

_ids = itertools.count()


class Publisher:
    """A connected paho client; `publish` returns once the broker acknowledged (QoS 1)."""

    def __init__(self, url: str, *, username: str | None = None, password: str | None = None,
                 client_id: str | None = None, will: tuple[str, bytes] | None = None) -> None:
        parts = urlsplit(url)
        self.client = paho.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id or f"test-pub-{next(_ids)}"
        )
        if username:
            self.client.username_pw_set(username, password)
        if will:
            self.client.will_set(will[0], will[1], qos=1, retain=True)
        self.client.max_inflight_messages_set(1000)
        self.client.max_queued_messages_set(0)
        rc = self.client.connect(parts.hostname or "127.0.0.1", parts.port or 1883)
        if rc != 0:
            raise ConnectionError(f"connect failed: {rc}")
        self.client.loop_start()

    def publish(self, topic: str, payload: bytes | str, qos: int = 1, retain: bool = False,
                timeout: float = 10) -> None:
        """Publish and wait for the broker's ack."""
        info = self.client.publish(topic, payload, qos=qos, retain=retain)
        info.wait_for_publish(timeout)
        if not info.is_published():
            raise TimeoutError(f"publish to {topic} not acknowledged")

    def publish_nowait(
        self, topic: str, payload: bytes | str, qos: int = 1
    ) -> paho.MQTTMessageInfo:
        """Publish without waiting (bulk sends)."""
        return self.client.publish(topic, payload, qos=qos)

    def drop(self) -> None:
        """Vanish without DISCONNECT so the broker sends our will."""
        self.client.loop_stop()
        sock = self.client.socket()
        if sock is not None:
            sock.close()

    def close(self) -> None:
        """Disconnect cleanly."""
        self.client.disconnect()
        self.client.loop_stop()
