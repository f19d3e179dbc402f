"""Publishes camera events through the v1 MQTT contract as the camera's own device id.

Urgent events (a falling object, a blocked fire lane) are kept until the gateway confirms
them on `…/event/ack`, and resent — the same bytes — after 2, 4, 8, 16 s and then every 30 s,
as the vendor guide asks of every device: a broker can crash after its PUBACK.
"""

from __future__ import annotations

import logging
import ssl
import threading
import time
from datetime import UTC, datetime
from urllib.parse import unquote, urlsplit

import orjson
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from devices.camera.detection import CameraEvent
from devices.camera.models import KEY
from devices.catalogue import CATALOGUE
from devices.topics import topic

log = logging.getLogger(__name__)

_CONNECT_TIMEOUT_S = 10.0
_PUBLISH_TIMEOUT_S = 10.0
RESEND_AFTER_S = (2.0, 4.0, 8.0, 16.0, 30.0)  # then every 30 s until confirmed


class PublishError(RuntimeError):
    """The broker could not be reached or did not acknowledge a message in time."""


class MqttPublisher:
    """A paho-mqtt 2.x client that announces presence and sends events at QoS 1."""

    def __init__(self, url: str, device_id: str, password: str | None = None, *,
                 resend_after_s: tuple[float, ...] = RESEND_AFTER_S) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl"):
            raise PublishError(f"unsupported MQTT URL scheme {parts.scheme!r}")
        self.device_id = device_id
        self._status = topic(KEY, device_id, "status")
        self._event = topic(KEY, device_id, "event")
        tls = parts.scheme in ("mqtts", "ssl")
        self._host = parts.hostname or "localhost"
        self._port = parts.port or (8883 if tls else 1883)
        self._ack = topic(KEY, device_id, "event/ack")
        self._urgent = CATALOGUE.kinds[KEY].urgent
        self._resend_after = resend_after_s
        # Unconfirmed urgent events: seq → (payload, when to resend, resends so far).
        self._pending: dict[int, tuple[bytes, float, int]] = {}
        self._changed = threading.Condition()
        self._stopping = False
        self.resent = 0
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=device_id, clean_session=True)
        # After every connect: a broker that crashed may have forgotten the subscription.
        client.on_connect = lambda c, u, f, reason, p: c.subscribe(self._ack, qos=1)
        client.on_message = self._on_confirmation
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
        self._resender = threading.Thread(target=self._resend_loop, daemon=True,
                                          name=f"resend-{self.device_id}")
        self._resender.start()
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
        """Publish one event at QoS 1 and wait for the broker's PUBACK; an urgent one is
        also kept, and resent, until the gateway confirms it."""
        payload = event.model_dump_json(exclude_none=True).encode()
        seq = getattr(event, "seq", None)
        if event.type in self._urgent and seq is not None:
            with self._changed:
                self._pending[seq] = (payload, time.monotonic() + self._resend_after[0], 0)
                self._changed.notify_all()
        info = self._client.publish(self._event, payload, qos=1)
        info.wait_for_publish(_PUBLISH_TIMEOUT_S)
        if not info.is_published():
            raise PublishError(f"event {event.type} was not acknowledged in time")

    @property
    def unconfirmed(self) -> int:
        """Urgent events the gateway has not confirmed yet."""
        with self._changed:
            return len(self._pending)

    def wait_confirmed(self, timeout: float) -> bool:
        """Until every urgent event sent so far is confirmed (False on timeout)."""
        with self._changed:
            return self._changed.wait_for(lambda: not self._pending, timeout)

    def _on_confirmation(self, client: mqtt.Client, userdata: object,
                         message: mqtt.MQTTMessage) -> None:
        try:
            seq = orjson.loads(message.payload).get("seq")
        except (orjson.JSONDecodeError, AttributeError):
            return
        with self._changed:
            if self._pending.pop(seq, None) is not None:
                self._changed.notify_all()

    def _resend_loop(self) -> None:
        """Resend what is still unconfirmed when its time comes (waits, never polls)."""
        with self._changed:
            while not self._stopping:
                now = time.monotonic()
                due = [(seq, entry) for seq, entry in self._pending.items() if entry[1] <= now]
                for seq, (payload, _, count) in due:
                    step = self._resend_after[min(count + 1, len(self._resend_after) - 1)]
                    self._pending[seq] = (payload, now + step, count + 1)
                    self._client.publish(self._event, payload, qos=1)  # the same bytes
                    self.resent += 1
                    log.info("urgent event %d not confirmed yet: resent", seq)
                wake = min((entry[1] for entry in self._pending.values()), default=None)
                self._changed.wait(None if wake is None else max(0.0, wake - time.monotonic()))

    def _publish(
        self, where: str, obj: dict[str, object], retain: bool = False
    ) -> mqtt.MQTTMessageInfo:
        return self._client.publish(where, orjson.dumps(obj), qos=1, retain=retain)

    def close(self, confirm_timeout_s: float = 5.0) -> None:
        """Wait a little for outstanding confirmations, publish `offline`, disconnect and
        stop the network loop."""
        if self._pending and not self.wait_confirmed(confirm_timeout_s):
            log.warning("closing with %d urgent events the gateway never confirmed",
                        self.unconfirmed)
        with self._changed:
            self._stopping = True
            self._changed.notify_all()
        if self._client.is_connected():
            info = self._publish(
                self._status, {"state": "offline", "ts": datetime.now(UTC).isoformat()}, retain=True
            )
            info.wait_for_publish(2.0)
        self._client.disconnect()
        self._client.loop_stop()
