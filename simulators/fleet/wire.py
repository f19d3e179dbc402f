"""A load generator's MQTT connections on asyncio: the packets come from `mqttwire.codec`.

A full client (paho) costs tens of microseconds of Python per packet; a fleet of thousands of
connections in one process needs the bare protocol on asyncio's transports instead.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from mqttwire import codec


class MqttError(Exception):
    """The broker refused us or the connection broke."""


def connect_packet(client_id: str, *, keepalive: int = 60, username: str | None = None,
                   password: str | None = None, will: tuple[str, bytes] | None = None) -> bytes:
    """CONNECT (MQTT 3.1.1), clean session, with an optional retained QoS 1 will."""
    return codec.connect_packet(codec.ConnectOptions(
        client_id=client_id, keepalive_s=keepalive, v5=False, username=username,
        password=password, clean_start=True, will=will))


class Connection(asyncio.Protocol):
    """One device's connection; counts acknowledgements and their latency."""

    def __init__(self, on_ack: Callable[[float], None], on_lost: Callable[[], None]) -> None:
        self.transport: asyncio.Transport | None = None
        self.connack: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self.inflight: dict[int, float] = {}
        self._next_id = 0
        self._parser = codec.StreamParser(v5=False)
        self._on_ack = on_ack
        self._on_lost = on_lost
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Socket is up."""
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        """Socket is gone: anything in flight is lost."""
        self.closed = True
        if not self.connack.done():
            self.connack.set_exception(MqttError(f"connection lost: {exc}"))
        elif self.inflight:
            self._on_lost()

    def data_received(self, data: bytes) -> None:
        """Parse whole packets out of the stream."""
        try:
            _, controls = self._parser.feed(data)
        except codec.ProtocolError as exc:
            if self.transport is not None:
                self.transport.close()
            raise MqttError(f"broker broke the protocol: {exc}") from exc
        for kind, body in controls:
            if kind == codec.PUBACK:
                sent = self.inflight.pop((body[0] << 8) | body[1], None)
                if sent is not None:
                    self._on_ack(time.perf_counter() - sent)
            elif kind == codec.CONNACK and not self.connack.done():
                self.connack.set_result(body[1])

    def publish(self, topic: bytes, payload: bytes, *, retain: bool = False) -> None:
        """Send a QoS 1 PUBLISH (fire and count; the PUBACK is matched later)."""
        self._next_id = self._next_id % 65535 + 1
        self.inflight[self._next_id] = time.perf_counter()
        assert self.transport is not None
        self.transport.write(codec.publish_prefixed(topic, payload, self._next_id,
                                                    retain=retain))

    def ping(self) -> None:
        """Keep the session alive."""
        if self.transport is not None and not self.closed:
            self.transport.write(codec.PINGREQ_PACKET)

    def disconnect(self) -> None:
        """Clean DISCONNECT (no will)."""
        if self.transport is not None and not self.closed:
            self.transport.write(codec.DISCONNECT_PACKET)
            self.transport.close()


def encode_topic(topic: str) -> bytes:
    """A topic with its length prefix, computed once per device."""
    return codec.utf8(topic)
