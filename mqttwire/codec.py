"""MQTT 3.1.1 and 5 on the wire: the packets a client sends, and a parser for what it reads.

What the gateway's persistent-session subscriber and the fleet load generator need:
CONNECT/CONNACK, SUBSCRIBE/SUBACK, PUBLISH at QoS 0 and 1 both ways, PUBACK, PINGREQ/PINGRESP
and DISCONNECT. A general client (paho) spends tens of microseconds of Python per received
packet building property objects and messages; parsing a whole read buffer in one loop costs
a few.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

CONNECT, CONNACK, PUBLISH, PUBACK, SUBSCRIBE, SUBACK = 1, 2, 3, 4, 8, 9
PINGREQ, PINGRESP, DISCONNECT = 12, 13, 14

PINGREQ_PACKET = bytes([PINGREQ << 4, 0])
DISCONNECT_PACKET = bytes([DISCONNECT << 4, 0])  # 3.1.1, and 5 with "normal disconnection"

_U16 = struct.Struct("!H")
_U32 = struct.Struct("!I")
_PUBACK = struct.Struct("!BBH")  # fixed header, remaining length 2, packet id (success)
_MAX_LENGTH = 268_435_455  # the largest remaining length a 4-byte varint can carry

# MQTT 5 property identifiers the gateway writes or reads.
_SESSION_EXPIRY = 0x11
_RECEIVE_MAXIMUM = 0x21
_SERVER_KEEP_ALIVE = 0x13
_REASON_STRING = 0x1F
# Property id → how its value is laid out (MQTT 5 § 2.2.2.2), to step over the ones we ignore.
_PROPERTY_SIZES: dict[int, int | str] = {
    0x01: 1, 0x17: 1, 0x19: 1, 0x24: 1, 0x25: 1, 0x28: 1, 0x29: 1, 0x2A: 1,
    0x13: 2, 0x21: 2, 0x22: 2, 0x23: 2,
    0x02: 4, 0x11: 4, 0x18: 4, 0x27: 4,
    0x0B: "varint",
    0x03: "str", 0x08: "str", 0x09: "str", 0x12: "str", 0x15: "str", 0x16: "str",
    0x1A: "str", 0x1C: "str", 0x1F: "str",
    0x26: "pair",
}


class ProtocolError(Exception):
    """The broker sent bytes that are not MQTT, or a packet we cannot accept at this point."""


class RefusedError(Exception):
    """The broker refused the connection or a subscription; carries the reason code."""

    def __init__(self, what: str, code: int) -> None:
        super().__init__(f"broker refused {what}: reason code 0x{code:02x}")
        self.what = what
        self.code = code


def varint(n: int) -> bytes:
    """MQTT variable byte integer."""
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def utf8(text: str | bytes) -> bytes:
    """A length-prefixed UTF-8 string (or binary data)."""
    raw = text.encode() if isinstance(text, str) else text
    return _U16.pack(len(raw)) + raw


def _packet(first_byte: int, body: bytes) -> bytes:
    return bytes([first_byte]) + varint(len(body)) + body


@dataclass(frozen=True, slots=True)
class ConnectOptions:
    """What goes into CONNECT: identity, keepalive, a will, and (MQTT 5) session and flow
    control."""

    client_id: str
    keepalive_s: int
    v5: bool
    username: str | None = None
    password: str | None = None
    session_expiry_s: int = 0
    receive_maximum: int = 65_535
    clean_start: bool = False
    will: tuple[str, bytes] | None = None  # retained, QoS 1 (a device's `offline` status)


def connect_packet(opts: ConnectOptions) -> bytes:
    """CONNECT; keeps the session unless `clean_start`."""
    flags = 0x02 if opts.clean_start else 0
    payload = utf8(opts.client_id)
    if opts.will is not None:
        flags |= 0x04 | 0x08 | 0x20  # will, will QoS 1, will retain
        payload += (b"\x00" if opts.v5 else b"") + utf8(opts.will[0]) + utf8(opts.will[1])
    if opts.username is not None:
        flags |= 0x80
        payload += utf8(opts.username)
        if opts.password is not None:
            flags |= 0x40
            payload += utf8(opts.password)
    header = utf8("MQTT") + bytes([5 if opts.v5 else 4, flags]) + _U16.pack(opts.keepalive_s)
    if opts.v5:
        props = (bytes([_SESSION_EXPIRY]) + _U32.pack(opts.session_expiry_s)
                 + bytes([_RECEIVE_MAXIMUM]) + _U16.pack(opts.receive_maximum))
        header += varint(len(props)) + props
    return _packet(CONNECT << 4, header + payload)


def subscribe_packet(packet_id: int, filters: list[str], v5: bool,
                     no_local: bool = False) -> bytes:
    """SUBSCRIBE every filter at QoS 1; MQTT 5 asks for retained messages on new subscriptions
    only (retain handling 1), so a reconnect does not replay every retained status, and
    (`no_local`) not to be sent its own publishes back."""
    body = _U16.pack(packet_id) + (b"\x00" if v5 else b"")
    options = bytes([(0x11 | (0x04 if no_local else 0)) if v5 else 0x01])
    for topic_filter in filters:
        body += utf8(topic_filter) + options
    return _packet((SUBSCRIBE << 4) | 0x02, body)


def publish_packet(topic: str, payload: bytes, *, qos: int, retain: bool, packet_id: int,
                   v5: bool, dup: bool = False, expiry_s: int | None = None) -> bytes:
    """PUBLISH at QoS 0 or 1; MQTT 5 may carry a message-expiry interval (seconds), after
    which the broker must not deliver it (a command nobody should act on any more)."""
    props = b""
    if v5:
        expiry = b"" if expiry_s is None else b"\x02" + max(0, expiry_s).to_bytes(4, "big")
        props = varint(len(expiry)) + expiry
    body = utf8(topic) + (_U16.pack(packet_id) if qos else b"") + props
    first = (PUBLISH << 4) | (qos << 1) | (0x08 if dup and qos else 0) | (0x01 if retain else 0)
    return _packet(first, body + payload)


def publish_prefixed(topic: bytes, payload: bytes, packet_id: int, *,
                     retain: bool = False) -> bytes:
    """MQTT 3.1.1 QoS 1 PUBLISH with the topic already length-prefixed (`utf8(topic)`, made
    once per device): the load generator's hot path."""
    body = topic + _U16.pack(packet_id) + payload
    return _packet((PUBLISH << 4) | 0x02 | (0x01 if retain else 0), body)


def puback_reason(body: bytes, v5: bool) -> int:
    """The reason code of a PUBACK (0, success, when absent: MQTT 3.1.1 or the short form)."""
    return body[2] if v5 and len(body) > 2 else 0


def puback_packets(packet_ids: list[int]) -> bytes:
    """PUBACKs for many messages as one buffer (the short form: success, no properties)."""
    return b"".join([_PUBACK.pack(PUBACK << 4, 2, mid) for mid in packet_ids])


def _read_varint(data: bytes, pos: int, end: int | None = None) -> tuple[int, int]:
    """(value, position after it); ProtocolError past four bytes or `end` (default: all)."""
    limit = len(data) if end is None else end
    value = shift = 0
    for _ in range(4):
        if pos >= limit:
            raise ProtocolError("truncated variable byte integer")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7
    raise ProtocolError("variable byte integer longer than four bytes")


def read_properties(data: bytes, pos: int) -> tuple[dict[int, object], int]:
    """MQTT 5 properties at `pos`: ({id: value}, position after them). Strings as str."""
    length, pos = _read_varint(data, pos)
    end = pos + length
    if end > len(data):
        raise ProtocolError("properties run past the packet")
    found: dict[int, object] = {}
    while pos < end:
        ident = data[pos]
        pos += 1
        size = _PROPERTY_SIZES.get(ident)
        if size is None:
            raise ProtocolError(f"unknown property 0x{ident:02x}")
        if size == "varint":
            found[ident], pos = _read_varint(data, pos)
        elif size in ("str", "pair"):
            for _ in range(2 if size == "pair" else 1):
                (n,) = _U16.unpack_from(data, pos)
                value = data[pos + 2:pos + 2 + n].decode("utf-8", "replace")
                pos += 2 + n
            found[ident] = value
        else:
            assert isinstance(size, int)
            found[ident] = int.from_bytes(data[pos:pos + size], "big")
            pos += size
    if pos != end:
        raise ProtocolError("properties overrun their length")
    return found, end


@dataclass(frozen=True, slots=True)
class ConnAck:
    """The broker's answer to CONNECT."""

    session_present: bool
    code: int
    server_keepalive_s: int | None = None
    reason: str = ""


def parse_connack(body: bytes, v5: bool) -> ConnAck:
    """Decode a CONNACK body."""
    if len(body) < 2:
        raise ProtocolError("CONNACK shorter than 2 bytes")
    keepalive, reason = None, ""
    if v5 and len(body) > 2:
        props, _ = read_properties(body, 2)
        raw_keepalive = props.get(_SERVER_KEEP_ALIVE)
        keepalive = raw_keepalive if isinstance(raw_keepalive, int) else None
        reason = str(props.get(_REASON_STRING, ""))
    return ConnAck(bool(body[0] & 0x01), body[1], keepalive, reason)


def parse_suback(body: bytes, v5: bool) -> tuple[int, list[int]]:
    """(packet id, one reason code per filter) of a SUBACK."""
    if len(body) < 3:
        raise ProtocolError("SUBACK too short")
    (packet_id,) = _U16.unpack_from(body, 0)
    pos = read_properties(body, 2)[1] if v5 else 2
    return packet_id, list(body[pos:])


def disconnect_reason(body: bytes) -> int:
    """Reason code of a broker's DISCONNECT (MQTT 5); 0 when absent."""
    return body[0] if body else 0


# A received PUBLISH: (topic bytes, payload, qos, packet id, dup, retain).
Publish = tuple[bytes, bytes, int, int, bool, bool]
# Any other packet: (packet type, body).
Control = tuple[int, bytes]


class StreamParser:
    """Cuts the broker's byte stream into packets; PUBLISH is decoded inline, the hot path."""

    def __init__(self, v5: bool) -> None:
        self._v5 = v5
        self._rest = b""

    def feed(self, data: bytes) -> tuple[list[Publish], list[Control]]:
        """Every complete packet in what was received so far; a partial one waits."""
        buf = self._rest + data if self._rest else data
        end_all = len(buf)
        publishes: list[Publish] = []
        controls: list[Control] = []
        v5 = self._v5
        pos = 0
        while end_all - pos >= 2:
            first = buf[pos]
            # Remaining length, inline: almost every packet needs one or two bytes of it.
            byte = buf[pos + 1]
            length, start = byte & 0x7F, pos + 2
            if byte & 0x80:
                shift = 7
                while True:
                    if start >= end_all:
                        self._rest = buf[pos:]
                        return publishes, controls
                    byte = buf[start]
                    start += 1
                    length |= (byte & 0x7F) << shift
                    if byte < 0x80:
                        break
                    shift += 7
                    if shift > 21:
                        raise ProtocolError("remaining length longer than four bytes")
            end = start + length
            if end > end_all:
                break
            if first >> 4 == PUBLISH:
                publishes.append(_publish(buf, first, start, end, v5))
            else:
                controls.append((first >> 4, buf[start:end]))
            pos = end
        self._rest = buf[pos:] if pos < end_all else b""
        return publishes, controls


def _publish(buf: bytes, first: int, start: int, end: int, v5: bool) -> Publish:
    qos = (first >> 1) & 0x03
    if qos > 1:
        raise ProtocolError("QoS 2 PUBLISH on a QoS 1 subscription")
    if end - start < 2:
        raise ProtocolError("PUBLISH without a topic")
    topic_end = start + 2 + ((buf[start] << 8) | buf[start + 1])
    pos = topic_end
    # Room for the packet id and the first property-length byte, checked once up front.
    if pos + (2 if qos else 0) + (1 if v5 else 0) > end:
        raise ProtocolError("PUBLISH header runs past the packet")
    mid = 0
    if qos:
        mid = (buf[pos] << 8) | buf[pos + 1]
        pos += 2
    if v5:
        # Properties are stepped over: we allow no topic aliases (Topic Alias Maximum 0).
        byte = buf[pos]
        if byte < 0x80:
            pos += 1 + byte
        else:
            length, pos = _read_varint(buf, pos, end)  # bounded by the packet, no copy
            pos += length
    if pos > end:
        raise ProtocolError("PUBLISH header runs past the packet")
    return (buf[start + 2:topic_end], buf[pos:end], qos, mid, bool(first & 0x08),
            bool(first & 0x01))
