"""One paho-mqtt connection per simulated device: will, retained status, commands, QoS 1."""

from __future__ import annotations

import json
import queue
import ssl
import threading
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as paho
import yaml
from paho.mqtt.enums import CallbackAPIVersion

from devices import topics
from simulators.confirm import UrgentOutbox
from simulators.kinds.base import Message

KEEPALIVE_S = 60
RESEND_TICK_S = 0.5


def load_passwords(path: Path | None) -> dict[str, str]:
    """Per-device passwords from a YAML mapping `device_id: password` (optional)."""
    if path is None:
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {str(k): str(v) for k, v in data.items()}


class DeviceConnections:
    """Connects every device as itself (client id = username = device id), like real ones.

    Commands arriving on a device's `cmd` topic are queued as (device_id, payload) for the
    runner, which answers them in scenario time.
    """

    def __init__(self, broker_url: str, wills: dict[str, tuple[str, bytes]], *,
                 passwords: dict[str, str] | None = None, client_prefix: str = "") -> None:
        self.url = urlsplit(broker_url)
        self.commands: queue.Queue[tuple[str, bytes]] = queue.Queue()
        # Urgent events are resent until the gateway confirms them (vendor guide).
        self.urgent = UrgentOutbox()
        self._stop = threading.Event()
        self._retrier: threading.Thread | None = None
        self.expired_commands = 0
        self.clients: dict[str, paho.Client] = {}
        self._connected: dict[str, threading.Event] = {}
        self._inflight: list[paho.MQTTMessageInfo] = []
        self.sent = 0
        for device_id, (will_topic, will_payload) in wills.items():
            client = paho.Client(CallbackAPIVersion.VERSION2,
                                 client_id=f"{client_prefix}{device_id}")
            password = (passwords or {}).get(device_id)
            if password is not None:
                client.username_pw_set(device_id, password)
            elif self.url.username:
                client.username_pw_set(unquote(self.url.username),
                                       unquote(self.url.password or ""))
            if self.url.scheme in ("mqtts", "ssl"):
                client.tls_set(cert_reqs=ssl.CERT_REQUIRED)
            client.will_set(will_topic, will_payload, qos=1, retain=True)
            client.max_inflight_messages_set(100)
            client.max_queued_messages_set(0)
            kind = topics.parse(will_topic).kind
            ready = threading.Event()
            # Subscribed again on every connect: a broker that lost our session (a crash)
            # must still deliver commands and confirmations.
            client.on_connect = self._on_connect(
                [topics.command_topic(kind, device_id), topics.topic(kind, device_id, "event/ack")])
            # Ready once the broker confirmed the subscriptions: a command sent between the
            # CONNACK and the SUBACK would otherwise be lost (found as a flaky test).
            client.on_subscribe = lambda *_args, ready=ready: ready.set()
            client.on_message = self._on_message(device_id)
            self.clients[device_id] = client
            self._connected[device_id] = ready

    def _on_connect(self, subscriptions: list[str]) -> Callable[..., None]:
        def handler(client: paho.Client, userdata: object, flags: object, reason: object,
                    properties: object) -> None:
            if not getattr(reason, "is_failure", False):
                client.subscribe([(t, 1) for t in subscriptions])
        return handler

    def _on_message(self, device_id: str) -> Callable[..., None]:
        def handler(client: paho.Client, userdata: object, msg: paho.MQTTMessage) -> None:
            if msg.topic.endswith("/event/ack"):
                self.urgent.acknowledged(device_id, bytes(msg.payload))
            elif not _expired(bytes(msg.payload)):
                self.commands.put((device_id, bytes(msg.payload)))
            else:
                self.expired_commands += 1  # the vendor guide: never act on a stale command
        return handler

    def connect(self, timeout: float = 15.0) -> None:
        """Connect all devices; raise ConnectionError naming those that did not make it."""
        host, port = self.url.hostname or "127.0.0.1", self.url.port or 1883
        for client in self.clients.values():
            client.connect_async(host, port, keepalive=KEEPALIVE_S)
            client.loop_start()
        late = [d for d, ready in self._connected.items() if not ready.wait(timeout)]
        if late:
            self.close()
            raise ConnectionError(f"devices could not connect to {host}:{port}: {late[:5]}")
        self._retrier = threading.Thread(target=self._resend_loop, name="sim-urgent-retry",
                                         daemon=True)
        self._retrier.start()

    def _resend_loop(self) -> None:
        while not self._stop.wait(RESEND_TICK_S):
            for device_id, topic, payload in self.urgent.due(time.monotonic()):
                # paho queues it while disconnected and sends it on reconnect.
                self.clients[device_id].publish(topic, payload, qos=1)

    def publish(self, msg: Message) -> None:
        """Publish as the device that produced the message."""
        info = self.clients[msg.device_id].publish(msg.topic, msg.payload, qos=msg.qos,
                                                   retain=msg.retain)
        self.urgent.sent(msg.device_id, msg.topic, msg.payload, time.monotonic())
        self.sent += 1
        if msg.qos:
            self._inflight.append(info)
            if len(self._inflight) > 500:
                self.flush()

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until the broker acknowledged everything published so far."""
        pending, self._inflight = self._inflight, []
        for info in pending:
            info.wait_for_publish(timeout)
        return all(info.is_published() for info in pending)

    def close(self) -> None:
        """Disconnect cleanly (no will) and stop the network threads."""
        self._stop.set()
        if self._retrier is not None:
            self._retrier.join(timeout=5)
        for client in self.clients.values():
            client.disconnect()
        for client in self.clients.values():
            client.loop_stop()


def _expired(payload: bytes) -> bool:
    """Whether a command's `expires_at` (epoch ms, wall clock) has passed."""
    try:
        body = json.loads(payload)
    except ValueError:
        return False
    expires = body.get("expires_at") if isinstance(body, dict) else None
    return isinstance(expires, int | float) and time.time() * 1000 > expires
