"""MQTT ingest: persistent session, QoS 1 subscriptions, acks after commit, jittered reconnect.

The client speaks the protocol itself (`mqttwire.codec`) on one network thread that does
every read and write of the socket (TLS objects must not be used from two threads at once).
Other threads hand it bytes to send: the pipeline's PUBACKs, the commands' PUBLISHes.
"""

from __future__ import annotations

import contextlib
import logging
import math
import select
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from gateway.clock import Clock
from gateway.envelope import RawMessage
from gateway.inbox import while_blocked
from gateway.metrics import GatewayMetrics
from gateway.mqtt_login import judge_suback, login_refusal, open_socket, subscription_refusal
from gateway.retry import Backoff
from gateway.settings import BrokerSettings
from mqttwire import codec as wire

log = logging.getLogger(__name__)

Sink = Callable[[list[RawMessage]], None]
_READ_SIZE = 256 * 1024  # one recv() serves a thousand typical packets
_CONNECT_TIMEOUT_S = 10.0
_MAX_UNACKED_OUT = 10_000  # outgoing QoS 1 messages kept for resending across reconnects
EXPIRED_UNSENT = -1  # `on_result` code: the publish expired before it could be delivered


@dataclass(slots=True)
class _Outgoing:
    """A QoS 1 publish of ours awaiting its PUBACK."""

    topic: str
    payload: bytes
    retain: bool
    expires_at: float | None = None
    on_result: Callable[[int], None] | None = None


class ConnectionLostError(Exception):
    """The connection to the broker ended (closed, timed out, or broke the protocol)."""


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
        generation_base: int = 0,
        lane: bool = False,
        optional_filters: int = 0,
    ) -> None:
        self._settings = settings
        self._filters = [
            f"$share/{settings.shared_group}/{f}" if settings.shared_group else f for f in filters
        ]
        self._sink = sink
        # Filters the gateway can run without (a dialect's own topics): refused, they are
        # reported, not fatal.
        self._optional = frozenset(self._filters[len(self._filters) - optional_filters:]
                                   if optional_filters else ())
        self.unsubscribed: list[str] = []  # optional filters the broker refused last time
        # Why the broker last refused us (login or subscription), for the operator; None
        # once connected and subscribed.
        self.refusal: str | None = None
        self._metrics = metrics
        # The event lane (gateway/event_lane.py) keeps gauges of its own: its being away
        # is not the gateway's being away.
        self._lane = lane
        self._name = ("event lane: events are read on the main session until it is back; "
                      if lane else "")
        self._connected_gauge = metrics.event_lane_connected if lane else metrics.connected
        self._reconnects = metrics.event_lane_reconnects if lane else metrics.reconnects
        self._clock = clock
        self._v5 = settings.protocol == "5"
        password = settings.password.get_secret_value() if settings.password else None
        self._connect = wire.ConnectOptions(
            client_id=settings.client_id, keepalive_s=settings.keepalive_s, v5=self._v5,
            username=settings.username, password=password,
            session_expiry_s=settings.session_expiry_s,
            receive_maximum=max(1, min(receive_maximum, 65_535)),
        )
        # Connections are numbered from here: another client in the process (an adopted
        # replica's session) numbers its own far apart, so each acks only its messages.
        self._generation = generation_base
        self._connected = threading.Event()
        self._answered = threading.Event()  # connected, or refused: start-up need wait no more
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._backoff = Backoff(settings.reconnect_min_s, settings.reconnect_max_s)
        # Bytes other threads want sent, and a socket pair that wakes the network thread.
        self._out_lock = threading.Lock()
        self._outbox: list[bytes] = []
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        # Our own QoS 1 publishes awaiting PUBACK: packet id → (topic, payload, retain).
        self._unacked: dict[int, _Outgoing] = {}
        self._sent: set[int] = set()  # of those, the ones already on the wire once (DUP next)
        self._next_id = 0

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        """Connect (retrying) and receive from a background thread."""
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._loop, name="scgw-mqtt-events" if self._lane else "scgw-mqtt",
            daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Disconnect and end the thread; unacked messages stay queued in the broker session."""
        self._stop.set()
        self._wake()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def wait_connected(self, timeout: float) -> bool:
        """Block until subscribed (or timeout)."""
        return self._connected.wait(timeout)

    def wait_answered(self, timeout: float) -> bool:
        """Block until the broker took or refused us (or timeout): a refused login is
        known at once, not after the whole wait."""
        return self._answered.wait(timeout)

    @property
    def connected(self) -> bool:
        """Whether the client is connected and subscribed."""
        return self._connected.is_set()

    # -- called from other threads -------------------------------------------------------

    def ack_many(self, raws: list[RawMessage]) -> None:
        """PUBACK a committed batch: every QoS 1 message of the current connection, in order.

        A message from an earlier connection is not acked: the broker redelivers it, and
        dedup recognises that copy (and acks it).
        """
        with self._out_lock:  # the same lock as a reconnect's change of generation
            generation = self._generation
            mids = [r.mid for r in raws if r.qos == 1 and r.generation == generation]
            if not mids:
                return
            self._outbox.append(wire.puback_packets(mids))
        self._wake()

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False, *,
                expires_at: float | None = None,
                on_result: Callable[[int], None] | None = None) -> None:
        """Publish (commands, confirmations). QoS 1 ones are resent after a reconnect until
        acked — but never after `expires_at` (epoch s, also sent as the MQTT 5 expiry), and
        `on_result(reason_code)` hears the broker's PUBACK (>= 0x80: refused; -1: expired
        unsent). Called from the network thread: keep it short."""
        with self._out_lock:
            packet_id = 0
            if qos:
                packet_id = self._take_packet_id()
                self._unacked[packet_id] = _Outgoing(topic, payload, retain, expires_at,
                                                     on_result)
            if not self._connected.is_set():
                if not qos:
                    log.warning("not connected; QoS 0 publish dropped", extra={"topic": topic})
                return  # QoS 1: sent when the connection is back
            self._outbox.append(wire.publish_packet(
                topic, payload, qos=qos, retain=retain, packet_id=packet_id, v5=self._v5,
                expiry_s=self._expiry(expires_at)))
            if qos:
                self._sent.add(packet_id)
        self._wake()

    def _expiry(self, expires_at: float | None) -> int | None:
        if expires_at is None:
            return None
        return max(1, math.ceil(expires_at - self._clock.time()))

    def _take_packet_id(self) -> int:
        if len(self._unacked) >= _MAX_UNACKED_OUT:
            oldest = next(iter(self._unacked))
            topic = self._unacked.pop(oldest).topic
            self._sent.discard(oldest)
            log.warning("too many unacknowledged publishes; oldest given up",
                        extra={"topic": topic})
        while True:
            self._next_id = self._next_id % 65_535 + 1
            if self._next_id not in self._unacked:
                return self._next_id

    def _wake(self) -> None:
        # A full pipe is full of wake-ups already: the thread will look.
        with contextlib.suppress(BlockingIOError):
            self._wake_w.send(b"\x00")

    # -- network thread ------------------------------------------------------------------

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._reconnects.inc()
            try:
                sock = open_socket(self._settings, _CONNECT_TIMEOUT_S)
            except OSError as exc:
                log.warning("cannot connect to broker %s:%s: %s",
                            self._settings.host, self._settings.port, exc)
            else:
                try:
                    self._session(sock)
                except wire.RefusedError as exc:
                    # Credentials or ACL: an operator must act (the lane's own message names
                    # what goes on meanwhile).
                    log.error("%s%s; retrying%s", self._name, exc,
                              f" — {self.refusal}" if self.refusal else "")
                except (OSError, ConnectionLostError, wire.ProtocolError) as exc:
                    if not self._stop.is_set():
                        log.warning("%sbroker connection lost: %s; reconnecting",
                                    self._name, exc)
                except Exception:
                    # The network thread must outlive anything a broker can send; the
                    # connection is dropped and made again, as after any other failure.
                    self._metrics.client_errors.inc()
                    log.exception("MQTT client error; reconnecting")
                finally:
                    self._connected.clear()
                    self._connected_gauge.set(0)
                    sock.close()
            if not self._stop.is_set():
                self._stop.wait(self._backoff.next())

    def _session(self, sock: socket.socket) -> None:
        """One connection: CONNECT, SUBSCRIBE, then read and write until it ends."""
        parser = wire.StreamParser(self._v5)
        with self._out_lock:
            # Before CONNECT: a resumed session's messages can share a read with the CONNACK,
            # and they belong to this connection (acks carry their generation).
            self._generation += 1
            self._outbox.clear()  # acks for the old connection's packet ids mean nothing now
        sock.sendall(wire.connect_packet(self._connect))
        connack = self._await(sock, parser, wire.CONNACK)
        ack = wire.parse_connack(connack, self._v5)
        if ack.code != 0:
            self.refusal = login_refusal(self._settings, ack.code, ack.reason)
            self._answered.set()
            raise wire.RefusedError(f"connection ({ack.reason})" if ack.reason else "connection",
                                    ack.code)
        keepalive = ack.server_keepalive_s or self._settings.keepalive_s
        # No-local keeps our own publishes (commands, confirmations) from coming back; MQTT 5
        # forbids it on shared subscriptions, where the pipeline ignores them instead.
        no_local = self._v5 and not self._settings.shared_group
        sock.sendall(wire.subscribe_packet(1, self._filters, self._v5, no_local=no_local))
        suback = self._await(sock, parser, wire.SUBACK)
        _, codes = wire.parse_suback(suback, self._v5)
        failed, self.unsubscribed = judge_suback(self._filters, codes, self._optional)
        if not self._lane:
            self._metrics.subscriptions_refused.set(len(self.unsubscribed))
        if failed:
            self.refusal = subscription_refusal(*failed[0])
            self._answered.set()
            raise wire.RefusedError("subscriptions", failed[0][1])
        self.refusal = None
        expired: list[_Outgoing] = []
        with self._out_lock:
            now = self._clock.time()
            for packet_id, out in list(self._unacked.items()):
                if out.expires_at is not None and out.expires_at <= now:
                    # Too late to act on: never delivered late (its sender is told).
                    del self._unacked[packet_id]
                    self._sent.discard(packet_id)
                    expired.append(out)
                    continue
                self._outbox.append(wire.publish_packet(
                    out.topic, out.payload, qos=1, retain=out.retain, packet_id=packet_id,
                    v5=self._v5, dup=packet_id in self._sent,
                    expiry_s=self._expiry(out.expires_at)))
            self._sent.update(self._unacked)
            self._connected.set()
            self._answered.set()
        for out in expired:
            if out.on_result is not None:
                out.on_result(EXPIRED_UNSENT)
        self._connected_gauge.set(1)
        self._backoff.reset()
        log.info("connected to broker", extra={"session_present": ack.session_present,
                                               "generation": self._generation})
        self._run(sock, parser, keepalive)

    def _await(self, sock: socket.socket, parser: wire.StreamParser, wanted: int) -> bytes:
        """Read until the packet `wanted` arrives; messages that come first are delivered."""
        deadline = time.monotonic() + _CONNECT_TIMEOUT_S
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ConnectionLostError(f"no answer (packet type {wanted}) within "
                                     f"{_CONNECT_TIMEOUT_S:.0f} s")
            sock.settimeout(remaining)
            found: bytes | None = None
            for kind, body in self._receive(sock, parser):
                if kind == wanted and found is None:
                    found = body
                else:
                    self._control(kind, body)
            if found is not None:
                return found

    def _run(self, sock: socket.socket, parser: wire.StreamParser, keepalive: int) -> None:
        sock.settimeout(30.0)  # sendall() to a broker that stops reading gives up eventually
        tls = isinstance(sock, ssl.SSLSocket)
        pinged = [time.monotonic()]

        def blocked() -> None:
            # Waiting for room in the inbox: what the pipeline queued for the broker goes out
            # meanwhile, and the broker hears from us within the keepalive.
            if self._flush(sock):
                pinged[0] = time.monotonic()
            elif time.monotonic() - pinged[0] >= keepalive / 2:
                sock.sendall(wire.PINGREQ_PACKET)
                pinged[0] = time.monotonic()

        while_blocked(blocked)
        try:
            self._serve(sock, parser, keepalive, tls)
        finally:
            while_blocked(None)  # this connection's socket is done with

    def _serve(self, sock: socket.socket, parser: wire.StreamParser, keepalive: int,
               tls: bool) -> None:
        last_out = last_in = time.monotonic()
        ping_sent: float | None = None
        while True:
            wait = max(0.0, last_out + keepalive - time.monotonic())
            if not (tls and sock.pending()):
                readable, _, _ = select.select([sock, self._wake_r], [], [], min(wait, 1.0))
            else:
                readable = [sock]
            if self._wake_r in readable:
                # Drained before the stop check, so a stop() landing in between still wakes us.
                with contextlib.suppress(BlockingIOError):
                    while self._wake_r.recv(4096):
                        pass
            if self._stop.is_set():
                self._flush(sock)
                sock.sendall(wire.DISCONNECT_PACKET)
                return
            if sock in readable:
                for kind, body in self._receive(sock, parser):
                    if kind == wire.PINGRESP:
                        ping_sent = None
                    else:
                        self._control(kind, body)
                last_in = time.monotonic()
            if self._flush(sock):
                last_out = time.monotonic()
            now = time.monotonic()
            if ping_sent is not None and now - ping_sent > keepalive:
                raise ConnectionLostError(f"no PINGRESP within {keepalive} s")
            idle = now - last_out >= keepalive or now - last_in >= keepalive
            if idle and ping_sent is None:
                sock.sendall(wire.PINGREQ_PACKET)
                ping_sent = last_out = now

    def _flush(self, sock: socket.socket) -> bool:
        with self._out_lock:
            if not self._outbox:
                return False
            data = b"".join(self._outbox)
            self._outbox.clear()
        sock.sendall(data)
        return True

    def _receive(self, sock: socket.socket, parser: wire.StreamParser) -> list[wire.Control]:
        """One read: deliver its messages to the sink, return its other packets."""
        try:
            data = sock.recv(_READ_SIZE)
        except TimeoutError as exc:
            raise ConnectionLostError("read timed out") from exc
        if not data:
            raise ConnectionLostError("closed by the broker")
        publishes, controls = parser.feed(data)
        if publishes:
            received_at = self._clock.time()
            arrived = time.monotonic()
            generation = self._generation
            self._sink([
                RawMessage(_topic(topic), payload, qos, mid, dup, retain, received_at,
                           generation, arrived)
                for topic, payload, qos, mid, dup, retain in publishes
            ])
        return controls

    def _control(self, kind: int, body: bytes) -> None:
        if kind == wire.PUBACK:
            if len(body) >= 2:
                with self._out_lock:
                    packet_id = int.from_bytes(body[:2], "big")
                    out = self._unacked.pop(packet_id, None)
                    self._sent.discard(packet_id)
                if out is not None and out.on_result is not None:
                    out.on_result(wire.puback_reason(body, self._v5))
        elif kind == wire.DISCONNECT:
            raise ConnectionLostError(
                f"broker disconnected us (reason 0x{wire.disconnect_reason(body):02x})")
        elif kind in (wire.PINGRESP, wire.SUBACK):
            pass  # a late answer to a ping or a subscription already settled
        else:
            raise wire.ProtocolError(f"unexpected packet type {kind} from the broker")


def _topic(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        # Brokers should refuse such topics; if one slips through it becomes a dead letter.
        return raw.decode("utf-8", "replace")
