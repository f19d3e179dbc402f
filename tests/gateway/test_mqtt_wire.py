"""MQTT wire codec: stream cutting at any chunk boundary, CONNACK/SUBACK/CONNECT layouts."""

from __future__ import annotations

import itertools
import random
import struct
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mqttwire import codec as wire

# Payload sizes around the edges of the remaining length's 1-, 2- and 3-byte encodings.
EDGE_SIZES = [0, 1, 127, 128, 16_383, 16_384, 70_000]


# -- an independent encoder, so the parser is not checked against its own module ---------


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        n, byte = n >> 7, n & 0x7F
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _str(raw: bytes) -> bytes:
    return struct.pack("!H", len(raw)) + raw


def _frame(first: int, body: bytes) -> bytes:
    return bytes([first]) + _varint(len(body)) + body


@dataclass(frozen=True)
class Pub:
    """A PUBLISH to encode and the tuple the parser should give back for it."""

    topic: bytes
    payload: bytes
    qos: int
    mid: int
    dup: bool
    retain: bool
    properties: bytes  # MQTT 5 property block without its length; ignored for 3.1.1

    def encode(self, v5: bool) -> bytes:
        body = _str(self.topic) + (struct.pack("!H", self.mid) if self.qos else b"")
        if v5:
            body += _varint(len(self.properties)) + self.properties
        first = 0x30 | (self.qos << 1) | (0x08 if self.dup else 0) | (0x01 if self.retain else 0)
        return _frame(first, body + self.payload)

    def expected(self) -> wire.Publish:
        return (self.topic, self.payload, self.qos, self.mid, self.dup, self.retain)


def _user_property(key: str, value: str) -> bytes:
    return b"\x26" + _str(key.encode()) + _str(value.encode())


# Property blocks a broker may put on a PUBLISH it forwards; the last one is longer than
# 127 bytes, so its length takes a two-byte varint (the parser's slow path).
PROPERTY_BLOCKS = [
    b"",
    b"\x02" + struct.pack("!I", 3600),  # message expiry interval
    _user_property("site", "jining-renmin") + b"\x01\x01",  # user property, payload format
    b"\x03" + _str(b"application/json") + _user_property("trace", "x" * 200),
]


@st.composite
def publishes(draw: st.DrawFn) -> Pub:
    size = draw(st.sampled_from(EDGE_SIZES) | st.integers(0, 300))
    # Random bytes from a drawn seed: hypothesis would spend seconds drawing 70 kB itself.
    payload = random.Random(draw(st.integers(0, 2**32))).randbytes(size)
    qos = draw(st.sampled_from([0, 1]))
    return Pub(
        topic=draw(st.binary(min_size=1, max_size=40)),
        payload=payload,
        qos=qos,
        mid=draw(st.integers(1, 65_535)) if qos else 0,
        dup=draw(st.booleans()) if qos else False,  # DUP must be 0 on QoS 0
        retain=draw(st.booleans()),
        properties=draw(st.sampled_from(PROPERTY_BLOCKS)),
    )


@st.composite
def controls(draw: st.DrawFn, v5: bool) -> tuple[bytes, wire.Control]:
    """(encoded packet, what the parser should return for it)."""
    kind = draw(st.sampled_from(["puback", "pingresp", "suback"]))
    if kind == "pingresp":
        return bytes([0xD0, 0]), (wire.PINGRESP, b"")
    mid = struct.pack("!H", draw(st.integers(1, 65_535)))
    if kind == "puback":
        body = mid + (draw(st.sampled_from([b"", b"\x10", b"\x10\x00"])) if v5 else b"")
        return _frame(0x40, body), (wire.PUBACK, body)
    codes = bytes(draw(st.lists(st.sampled_from([0, 1, 0x80]), min_size=1, max_size=4)))
    body = mid + (b"\x00" if v5 else b"") + codes
    return _frame(0x90, body), (wire.SUBACK, body)


def _chunks(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({0, len(data), *(c for c in cuts if 0 < c < len(data))})
    return [data[a:b] for a, b in itertools.pairwise(points)]


def _feed_all(
    parser: wire.StreamParser, chunks: list[bytes]
) -> tuple[list[wire.Publish], list[wire.Control]]:
    publishes_out: list[wire.Publish] = []
    controls_out: list[wire.Control] = []
    for chunk in chunks:
        pubs, ctrls = parser.feed(chunk)
        publishes_out += pubs
        controls_out += ctrls
    return publishes_out, controls_out


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), v5=st.booleans())
def test_stream_parser_yields_every_packet_whatever_the_chunking(data: st.DataObject, v5: bool):
    items = data.draw(st.lists(publishes() | controls(v5), min_size=1, max_size=8))
    stream = b""
    expected_pubs: list[wire.Publish] = []
    expected_ctrls: list[wire.Control] = []
    for item in items:
        if isinstance(item, Pub):
            stream += item.encode(v5)
            expected_pubs.append(item.expected())
        else:
            stream += item[0]
            expected_ctrls.append(item[1])
    # One byte at a time costs O(n²) copies of the partial packet: only for small streams.
    bytewise = len(stream) <= 20_000 and data.draw(st.booleans(), label="bytewise")
    if bytewise:
        chunks = [stream[i:i + 1] for i in range(len(stream))]
    else:
        cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=40), label="cuts")
        chunks = _chunks(stream, cuts)
    parser = wire.StreamParser(v5)
    got_pubs, got_ctrls = _feed_all(parser, chunks)
    assert got_pubs == expected_pubs
    assert got_ctrls == expected_ctrls
    # Nothing left over: a following packet is parsed on its own.
    assert parser.feed(bytes([0xD0, 0])) == ([], [(wire.PINGRESP, b"")])


@pytest.mark.parametrize("v5", [True, False])
def test_three_byte_remaining_length_split_inside_the_header(v5: bool):
    pub = Pub(b"scgw/v1/camera/CAM-3001/event", random.Random(7).randbytes(70_000), 1, 513,
              True, False, PROPERTY_BLOCKS[3])
    packet = pub.encode(v5) + bytes([0xD0, 0])
    assert packet[1] & 0x80 and packet[2] & 0x80 and not packet[3] & 0x80  # 3-byte length
    # Every cut in the fixed header and the start of the variable header, then the rest.
    for cut in range(1, 12):
        parser = wire.StreamParser(v5)
        got = _feed_all(parser, [packet[:cut], packet[cut:]])
        assert got == ([pub.expected()], [(wire.PINGRESP, b"")]), cut


@pytest.mark.parametrize("remaining", [127, 128, 16_383, 16_384, 2_097_151, 2_097_152])
def test_exact_remaining_length_boundaries_split_after_each_length_byte(remaining: int):
    # 128, 16384 and 2097152 start with a length byte of exactly 0x80: a parser that took
    # the partial length for the whole would see an empty packet there.
    pub = Pub(b"t", bytes(remaining - 3), 0, 0, False, False, b"")
    packet = pub.encode(v5=False)
    assert len(packet) == 1 + len(_varint(remaining)) + remaining
    for cut in range(1, len(_varint(remaining)) + 3):
        parser = wire.StreamParser(False)
        assert _feed_all(parser, [packet[:cut], packet[cut:]]) == ([pub.expected()], []), cut


def test_remaining_length_longer_than_four_bytes_is_a_protocol_error():
    bad = bytes([0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01])
    with pytest.raises(wire.ProtocolError):
        wire.StreamParser(True).feed(bad)
    # Also when the bytes trickle in: the fifth length byte is never waited for.
    parser = wire.StreamParser(False)
    with pytest.raises(wire.ProtocolError):
        for i in range(5):
            parser.feed(bad[i:i + 1])
    # Four bytes is the legal maximum and is simply waited on.
    assert wire.StreamParser(True).feed(bytes([0x30, 0xFF, 0xFF, 0xFF, 0x7F])) == ([], [])


def test_qos2_publish_is_refused():
    with pytest.raises(wire.ProtocolError):
        wire.StreamParser(False).feed(_frame(0x34, _str(b"t") + b"\x00\x01" + b"x"))


@pytest.mark.parametrize("v5", [True, False])
def test_publish_too_short_for_its_header_is_a_protocol_error(v5: bool):
    topic = b"scgw/t"
    # QoS 1 with the topic only: no room for the packet id (nor, in 5, the properties).
    short = b"\x32" + bytes([2 + len(topic)]) + struct.pack("!H", len(topic)) + topic
    with pytest.raises(wire.ProtocolError):
        wire.StreamParser(v5).feed(short)


def test_parse_connack_v5_reads_session_present_code_and_server_keepalive():
    props = (
        b"\x21" + struct.pack("!H", 100)  # receive maximum (ignored)
        + b"\x12" + _str(b"auto-123")  # assigned client identifier (ignored)
        + _user_property("k", "v")
        + b"\x13" + struct.pack("!H", 20)  # server keep alive
        + b"\x1f" + _str(b"fine")  # reason string
    )
    ack = wire.parse_connack(b"\x01\x00" + _varint(len(props)) + props, v5=True)
    assert ack == wire.ConnAck(session_present=True, code=0, server_keepalive_s=20,
                               reason="fine")
    refused = wire.parse_connack(b"\x00\x86\x00", v5=True)  # bad user name or password
    assert refused == wire.ConnAck(False, 0x86, None, "")


def test_parse_connack_311():
    assert wire.parse_connack(b"\x01\x00", v5=False) == wire.ConnAck(True, 0, None, "")
    assert wire.parse_connack(b"\x00\x05", v5=False) == wire.ConnAck(False, 5, None, "")
    with pytest.raises(wire.ProtocolError):
        wire.parse_connack(b"\x00", v5=False)


def test_parse_suback_v5_skips_properties():
    props = b"\x1f" + _str(b"not authorised for one filter")
    body = b"\x00\x07" + _varint(len(props)) + props + bytes([0x01, 0x87, 0x00])
    assert wire.parse_suback(body, v5=True) == (7, [0x01, 0x87, 0x00])
    assert wire.parse_suback(b"\x01\x02\x00\x01", v5=True) == (0x0102, [1])


def test_parse_suback_311():
    assert wire.parse_suback(b"\x00\x01\x01\x80", v5=False) == (1, [0x01, 0x80])


def _decode_connect(packet: bytes) -> dict[str, object]:
    """CONNECT taken apart by hand (MQTT 5 § 3.1 / 3.1.1 § 3.1)."""
    assert packet[0] == 0x10
    length, pos, shift = 0, 1, 0
    while True:
        byte = packet[pos]
        pos += 1
        length |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            break
    assert len(packet) - pos == length

    def take_str() -> bytes:
        nonlocal pos
        (n,) = struct.unpack_from("!H", packet, pos)
        pos += 2 + n
        return packet[pos - n:pos]

    out: dict[str, object] = {"name": take_str(), "level": packet[pos], "flags": packet[pos + 1]}
    (out["keepalive"],) = struct.unpack_from("!H", packet, pos + 2)
    pos += 4
    props: dict[int, int] = {}
    if out["level"] == 5:
        props_len = packet[pos]  # both our properties fit a one-byte length
        pos += 1
        end = pos + props_len
        while pos < end:
            ident = packet[pos]
            size = {0x11: 4, 0x21: 2}[ident]
            props[ident] = int.from_bytes(packet[pos + 1:pos + 1 + size], "big")
            pos += 1 + size
    out["props"] = props
    out["client_id"] = take_str()
    flags = int(out["flags"])  # type: ignore[call-overload]
    if flags & 0x80:
        out["username"] = take_str()
    if flags & 0x40:
        out["password"] = take_str()
    assert pos == len(packet)
    return out


def test_connect_packet_v5_carries_session_expiry_and_receive_maximum():
    packet = wire.connect_packet(wire.ConnectOptions(
        client_id="gw-1", keepalive_s=30, v5=True, username="scgw", password="s3cret",
        session_expiry_s=604_800, receive_maximum=1000,
    ))
    got = _decode_connect(packet)
    assert got["name"] == b"MQTT" and got["level"] == 5
    assert got["flags"] == 0xC0  # user name and password; clean start off keeps the session
    assert got["keepalive"] == 30
    assert got["props"] == {0x11: 604_800, 0x21: 1000}
    assert (got["client_id"], got["username"], got["password"]) == (b"gw-1", b"scgw", b"s3cret")


def test_connect_packet_311_has_no_properties_and_keeps_the_session():
    packet = wire.connect_packet(wire.ConnectOptions(client_id="gw-2", keepalive_s=5, v5=False))
    got = _decode_connect(packet)
    assert (got["level"], got["flags"], got["keepalive"]) == (4, 0x00, 5)
    assert got["props"] == {}
    assert got["client_id"] == b"gw-2"
