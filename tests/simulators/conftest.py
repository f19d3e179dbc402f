"""Fixtures of the simulator tests: the community model and a topic-wide MQTT listener."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from simulators.community.model import Community, load_community
from tests.support.mosquitto import Mosquitto
from tests.support.waiting import wait_for


@pytest.fixture(scope="session")
def community() -> Community:
    """The shipped Jining community model."""
    return load_community()


class Listener:
    """A plain paho client subscribed to every v1 topic; `mark()` fences off what came before."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.messages: list[tuple[str, bytes, bool]] = []
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self.client = paho.Client(CallbackAPIVersion.VERSION2,
                                  client_id=f"listener-{uuid.uuid4().hex[:8]}")
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *a: self._subscribed.set()
        self.client.connect(parts.hostname or "127.0.0.1", parts.port or 1883)
        self.client.loop_start()
        self.client.subscribe([("scgw/v1/#", 1), ("test/marker/#", 1)])
        assert self._subscribed.wait(10), "listener did not subscribe"

    def _on_message(self, client: paho.Client, userdata: object, msg: paho.MQTTMessage) -> None:
        with self._lock:
            self.messages.append((msg.topic, bytes(msg.payload), bool(msg.retain)))

    def mark(self) -> list[tuple[str, bytes, bool]]:
        """Wait until everything the broker accepted so far has arrived; return and clear it."""
        marker = f"test/marker/{uuid.uuid4().hex}"
        self.client.publish(marker, b"", qos=1)
        assert wait_for(lambda: any(t == marker for t, _, _ in self.messages), timeout=20)
        with self._lock:
            got = [m for m in self.messages if not m[0].startswith("test/marker/")]
            self.messages.clear()
        return got

    def close(self) -> None:
        """Disconnect."""
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def listener(mosquitto: Mosquitto) -> Iterator[Listener]:
    """A listener on the module's Mosquitto."""
    sub = Listener(mosquitto.url)
    sub.mark()  # retained status from earlier tests is not ours
    yield sub
    sub.close()
