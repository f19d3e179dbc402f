"""Just enough MQTT 3.1.1 for a load generator: CONNECT with a will, QoS 1 PUBLISH, PUBACK.

A full client (paho) costs tens of microseconds of Python per packet; a fleet of thousands of
connections in one process needs the bare protocol on asyncio's transports instead.
"""

from __future__ import annotations

import asyncio
import struct
import time
from collections.abc import Callable

CONNECT, CONNACK, PUBLISH, PUBACK, PINGREQ, PINGRESP, DISCONNECT = 1, 2, 3, 4, 12, 13, 14


class MqttError(Exception):
    """The broker refused us or the connection broke."""


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _str(s: str | bytes) -> bytes:
    raw = s.encode() if isinstance(s, str) else s
    return struct.pack("!H", len(raw)) + raw


def connect_packet(client_id: str, *, keepalive: int = 60, username: str | None = None,
                   password: str | None = None, will: tuple[str, bytes] | None = None) -> bytes:
    """CONNECT, clean session, with an optional retained QoS 1 will."""
    flags = 0x02
    payload = _str(client_id)
    if will:
        flags |= 0x04 | 0x08 | 0x20  # will, will QoS 1, will retain
        payload += _str(will[0]) + _str(will[1])
    if username is not None:
        flags |= 0x80
        payload += _str(username)
        if password is not None:
            flags |= 0x40
            payload += _str(password)
    body = _str("MQTT") + bytes([4, flags]) + struct.pack("!H", keepalive) + payload
    return bytes([CONNECT << 4]) + _varint(len(body)) + body


def publish_packet(topic: bytes, payload: bytes, packet_id: int, *, retain: bool = False) -> bytes:
    """PUBLISH at QoS 1 (`topic` pre-encoded with its length prefix)."""
    body = topic + struct.pack("!H", packet_id) + payload
    return bytes([(PUBLISH << 4) | 0x02 | (1 if retain else 0)]) + _varint(len(body)) + body


class Connection(asyncio.Protocol):
    """One device's connection; counts acknowledgements and their latency."""

    def __init__(self, on_ack: Callable[[float], None], on_lost: Callable[[], None]) -> None:
        self.transport: asyncio.Transport | None = None
        self.connack: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self.inflight: dict[int, float] = {}
        self._next_id = 0
        self._buffer = bytearray()
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
        buf = self._buffer
        buf += data
        while len(buf) >= 2:
            length, shift, pos = 0, 0, 1
            while True:
                if pos >= len(buf):
                    return
                byte = buf[pos]
                length |= (byte & 0x7F) << shift
                pos += 1
                if not byte & 0x80:
                    break
                shift += 7
            if len(buf) < pos + length:
                return
            kind, body = buf[0] >> 4, bytes(buf[pos:pos + length])
            del buf[:pos + length]
            self._packet(kind, body)

    def _packet(self, kind: int, body: bytes) -> None:
        if kind == PUBACK:
            sent = self.inflight.pop(struct.unpack("!H", body[:2])[0], None)
            if sent is not None:
                self._on_ack(time.perf_counter() - sent)
        elif kind == CONNACK and not self.connack.done():
            self.connack.set_result(body[1])

    def publish(self, topic: bytes, payload: bytes, *, retain: bool = False) -> None:
        """Send a QoS 1 PUBLISH (fire and count; the PUBACK is matched later)."""
        self._next_id = self._next_id % 65535 + 1
        self.inflight[self._next_id] = time.perf_counter()
        assert self.transport is not None
        self.transport.write(publish_packet(topic, payload, self._next_id, retain=retain))

    def ping(self) -> None:
        """Keep the session alive."""
        if self.transport is not None and not self.closed:
            self.transport.write(bytes([PINGREQ << 4, 0]))

    def disconnect(self) -> None:
        """Clean DISCONNECT (no will)."""
        if self.transport is not None and not self.closed:
            self.transport.write(bytes([DISCONNECT << 4, 0]))
            self.transport.close()


def encode_topic(topic: str) -> bytes:
    """A topic with its length prefix, computed once per device."""
    return _str(topic)
