"""MQTT ingest: persistent session, QoS1 subscriptions, manual acks, jittered reconnect."""

from __future__ import annotations

import logging
import random
import socket
import struct
import threading
import time
from collections.abc import Callable

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from gateway.clock import Clock
from gateway.envelope import RawMessage
from gateway.metrics import GatewayMetrics
from gateway.settings import BrokerSettings

log = logging.getLogger(__name__)

Sink = Callable[[RawMessage], None]
_READ_SIZE = 64 * 1024  # one recv() serves a few hundred typical packets
_READ_BURST = 1000  # packets read back to back before paho's loop() runs its timers again
_PUBACK = struct.Struct("!BBH")  # fixed header, remaining length 2, packet id (success)


class _IngestClient(paho.Client):
    """paho's client without the per-message walk of topic-filtered callbacks (we have none)."""

    def _handle_on_message(self, message: paho.MQTTMessage) -> None:
        on_message = self.on_message
        if on_message is not None:
            with self._in_callback_mutex:
                on_message(self, self._userdata, message)


class Backoff:
    """Exponential delay with full jitter, so a fleet of gateways does not reconnect in step."""

    def __init__(self, first: float, ceiling: float, rng: random.Random | None = None) -> None:
        self._first = first
        self._ceiling = ceiling
        self._attempt = 0
        self._rng = rng or random.Random()

    def next(self) -> float:
        """Delay before the next attempt."""
        cap = min(self._ceiling, self._first * (2**self._attempt))
        self._attempt += 1
        return self._rng.uniform(self._first / 2, cap)

    def reset(self) -> None:
        """Back to the first delay after a successful connection."""
        self._attempt = 0


class BufferedSocket:
    """A plain TCP socket read 64 KiB at a time, handed to paho in place of the socket.

    paho reads each packet with two or three `recv` calls (command byte, length, body), a
    system call each; here they are served from one large read. paho asks `pending()` before
    select(), as it does for TLS sockets, so bytes already buffered are never left waiting.
    Everything else (send, fileno, close, …) goes to the socket itself.
    """

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._data = b""
        self._pos = 0

    def recv(self, bufsize: int) -> bytes:
        """Up to `bufsize` bytes; raises BlockingIOError like the socket when nothing is there."""
        if self._pos >= len(self._data):
            data = self._sock.recv(_READ_SIZE)
            if len(data) <= bufsize:
                return data  # includes b"" (closed by the broker)
            self._data, self._pos = data, 0
        end = self._pos + bufsize
        out = self._data[self._pos:end]
        self._pos = end
        return out

    def pending(self) -> int:
        """Bytes received but not yet handed to paho."""
        return len(self._data) - self._pos

    def __getattr__(self, name: str) -> object:
        return getattr(self._sock, name)


class MqttIngest:
    """Receives device messages into `sink` and acks each one when told its effects committed."""

    def __init__(
        self,
        settings: BrokerSettings,
        filters: list[str],
        sink: Sink,
        metrics: GatewayMetrics,
        clock: Clock,
        *,
        receive_maximum: int = 1000,
    ) -> None:
        self._settings = settings
        self._filters = [
            f"$share/{settings.shared_group}/{f}" if settings.shared_group else f for f in filters
        ]
        self._sink = sink
        self._metrics = metrics
        self._clock = clock
        self._receive_maximum = max(1, min(receive_maximum, 65_535))
        self._v5 = settings.protocol == "5"
        self._client = self._make_client()
        self._generation = 0
        self._delivered = 0  # messages handed to the sink (the read loop's progress marker)
        self._connected = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._backoff = Backoff(settings.reconnect_min_s, settings.reconnect_max_s)

    def _make_client(self) -> paho.Client:
        s = self._settings
        client = _IngestClient(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=s.client_id,
            clean_session=None if self._v5 else False,
            protocol=MQTTProtocolVersion.MQTTv5 if self._v5 else MQTTProtocolVersion.MQTTv311,
            manual_ack=True,
            reconnect_on_failure=False,  # our own loop reconnects, with jitter
        )
        if s.username:
            password = s.password.get_secret_value() if s.password else None
            client.username_pw_set(s.username, password)
        if s.tls:
            client.tls_set(
                ca_certs=str(s.tls_ca_file) if s.tls_ca_file else None,
                certfile=str(s.tls_cert_file) if s.tls_cert_file else None,
                keyfile=str(s.tls_key_file) if s.tls_key_file else None,
            )
            client.tls_insecure_set(s.tls_insecure)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
        if not s.tls:  # TLS sockets buffer already, and answer pending() themselves
            client.on_socket_open = self._on_socket_open
        return client

    @staticmethod
    def _on_socket_open(client: paho.Client, userdata: object, sock: object) -> None:
        # paho keeps its socket in a private attribute; if that ever changes, reads simply
        # stay unbuffered.
        if isinstance(sock, socket.socket) and getattr(client, "_sock", None) is sock:
            client._sock = BufferedSocket(sock)  # type: ignore[assignment]

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        """Connect (retrying) and receive from a background thread."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="scgw-mqtt", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Disconnect and end the thread; unacked messages stay queued in the broker session."""
        self._stop.set()
        if self._connected.is_set():
            self._client.disconnect()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def wait_connected(self, timeout: float) -> bool:
        """Block until subscribed (or timeout)."""
        return self._connected.wait(timeout)

    @property
    def connected(self) -> bool:
        """Whether the client is connected and subscribed."""
        return self._connected.is_set()

    def ack(self, raw: RawMessage) -> None:
        """PUBACK a message whose effects are committed (QoS 0 needs none)."""
        if raw.qos == 0 or raw.generation != self._generation:
            # From an earlier connection: the broker will redeliver it, and dedup acks that copy.
            return
        self._client.ack(raw.mid, raw.qos)

    def ack_many(self, raws: list[RawMessage]) -> None:
        """PUBACK a committed batch: every QoS 1 message of the current connection, in order.

        paho's `ack()` costs two syscalls and a wake-up of the network thread per message;
        here the batch's PUBACKs go out as one buffer (the broker reads a byte stream, packet
        boundaries within it do not matter).
        """
        generation = self._generation
        mids = [r.mid for r in raws if r.qos == 1 and r.generation == generation]
        if not mids:
            return
        queue = getattr(self._client, "_packet_queue", None)
        if queue is None:  # a paho without the internal hook: one call per message
            for mid in mids:
                self._client.ack(mid, 1)
            return
        blob = b"".join([_PUBACK.pack(0x40, 2, mid) for mid in mids])
        queue(paho.PUBACK, blob, 0, 0)

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> None:
        """Publish (commands to devices)."""
        self._client.publish(topic, payload, qos=qos, retain=retain)

    # -- network thread ------------------------------------------------------------------

    def _loop(self) -> None:
        while not self._stop.is_set():
            if not self._try_connect():
                self._wait_backoff()
                continue
            while not self._stop.is_set():
                rc = self._client.loop(timeout=0.5)
                if rc == MQTTErrorCode.MQTT_ERR_SUCCESS:
                    rc = self._read_buffered()
                if rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
                    break
            self._connected.clear()
            self._metrics.connected.set(0)
            if not self._stop.is_set():
                log.warning("broker connection lost; reconnecting")
                self._wait_backoff()
        if self._client.is_connected():
            self._client.loop(timeout=0.2)

    def _read_buffered(self) -> MQTTErrorCode:
        """Read the packets already waiting in the socket, without a select() for each.

        paho's loop() reads one packet per select() unless QoS 2 flows are open, so a backlog
        cost a system call and a pass through the loop per message. `loop_read` on the
        non-blocking socket returns at once when nothing is left; a pass that delivered no
        message ends the burst (a control packet only ends it early).
        """
        rc = MQTTErrorCode.MQTT_ERR_SUCCESS
        for _ in range(_READ_BURST):
            before = self._delivered
            rc = self._client.loop_read()
            if rc != MQTTErrorCode.MQTT_ERR_SUCCESS or self._delivered == before:
                break
        return rc

    def _try_connect(self) -> bool:
        s = self._settings
        self._metrics.reconnects.inc()
        try:
            if self._v5:
                props = Properties(PacketTypes.CONNECT)
                props.SessionExpiryInterval = s.session_expiry_s
                props.ReceiveMaximum = self._receive_maximum
                self._client.connect(
                    s.host, s.port, s.keepalive_s, clean_start=False, properties=props
                )
            else:
                self._client.connect(s.host, s.port, s.keepalive_s)
        except OSError as exc:
            log.warning("cannot reach broker %s:%s: %s", s.host, s.port, exc)
            return False
        return True

    def _wait_backoff(self) -> None:
        delay = self._backoff.next()
        self._stop.wait(delay)

    def _on_connect(
        self,
        client: paho.Client,
        userdata: object,
        flags: paho.ConnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if reason_code.is_failure:
            log.error("broker refused connection: %s", reason_code)
            return
        self._generation += 1
        if self._v5:
            # Retain-handling 1: retained statuses only for new subscriptions, not every reconnect.
            options = SubscribeOptions(qos=1, retainHandling=1)
            client.subscribe([(f, options) for f in self._filters])
        else:
            client.subscribe([(f, 1) for f in self._filters])
        self._backoff.reset()
        log.info(
            "connected to broker",
            extra={"session_present": flags.session_present, "generation": self._generation},
        )

    def _on_subscribe(
        self,
        client: paho.Client,
        userdata: object,
        mid: int,
        reason_codes: list[ReasonCode],
        properties: Properties | None,
    ) -> None:
        failed = [rc for rc in reason_codes if rc.is_failure]
        if failed:
            log.error("broker refused subscriptions: %s", failed)
            return
        self._connected.set()
        self._metrics.connected.set(1)

    def _on_disconnect(
        self,
        client: paho.Client,
        userdata: object,
        flags: paho.DisconnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        self._connected.clear()
        self._metrics.connected.set(0)

    def _on_message(self, client: paho.Client, userdata: object, msg: paho.MQTTMessage) -> None:
        self._delivered += 1
        try:
            topic = msg.topic
        except UnicodeDecodeError:
            # Brokers should refuse such topics; if one slips through it becomes a dead letter.
            topic = msg._topic.decode("utf-8", "replace")
        self._sink(
            RawMessage(
                topic=topic,
                payload=msg.payload,
                qos=msg.qos,
                mid=msg.mid,
                dup=bool(msg.dup),
                retain=bool(msg.retain),
                received_at=self._clock.time(),
                generation=self._generation,
                arrived=time.monotonic(),
            )
        )
