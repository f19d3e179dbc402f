"""The "3G" watch protocol (`[SG*<id>*<len>*<content>]` over TCP), framed and translated.

Low-cost elderly watches speak this text protocol instead of MQTT. A frame is `[`, a two-letter
maker code (`SG`, `3G`, `CS`, …), `*`, the watch id, `*`, four hex digits giving the length of
the content, `*`, the content, `]`. Content starts with a keyword: `LK` (keep-alive, optionally
`LK,steps,rolls,battery`), `UD`/`UD2` (position, UD2 buffered while out of coverage), `AL`
(alarm: a position whose status word carries the alarm bits), `heart,72` and `bphrt,sys,dia,hr`
(vitals), and `CR` (the watch's answer to our locate-now). The server answers `LK` and `AL`
and sends `CR` to ask for a fix. This module is shared by the bridge and the simulator.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

_HEADER = re.compile(rb"\[([A-Za-z0-9]{2})\*([A-Za-z0-9_-]{1,64})\*([0-9A-Fa-f]{4})\*")
HEADER_MAX = 2 + 2 + 1 + 64 + 1 + 4 + 1  # the longest valid header
# Status-word bits of UD/AL (as watch makers and Traccar document them).
ALARM_BITS: tuple[tuple[int, str], ...] = (
    (16, "sos"), (21, "fall"), (22, "fall"), (20, "removed"), (0, "low_battery"),
    (17, "low_battery"),
)


class FrameError(ValueError):
    """Bytes that are not a frame; `reason` names what (the connection is closed)."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Frame:
    """One frame: maker code, watch id, keyword and the comma-separated values after it."""

    maker: str
    device_id: str
    keyword: str
    values: tuple[str, ...]


def encode(maker: str, device_id: str, content: str) -> bytes:
    """A frame as bytes (ASCII content)."""
    body = content.encode("ascii")
    return b"[%s*%s*%04X*%s]" % (maker.encode(), device_id.encode(), len(body), body)


class FrameReader:
    """Cuts a TCP byte stream into frames; raises FrameError on anything else."""

    def __init__(self, max_content: int) -> None:
        self._max = max_content
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[Frame]:
        """Every complete frame received so far (a partial one waits for more bytes)."""
        self._buf += data
        frames: list[Frame] = []
        buf = self._buf
        while buf:
            # Line breaks between frames are tolerated (some firmware sends them).
            while buf[:1] in (b"\r", b"\n", b" "):
                del buf[:1]
            if not buf:
                break
            if buf[:1] != b"[":
                raise FrameError("junk", f"expected '[', got {bytes(buf[:16])!r}")
            found = _HEADER.match(buf)
            if found is None:
                if len(buf) >= HEADER_MAX or (b"]" in buf):
                    raise FrameError("junk", f"not a frame header: {bytes(buf[:24])!r}")
                break  # the header may still be arriving
            length = int(found.group(3), 16)
            if length > self._max:
                raise FrameError("too_long", f"length field {length} > limit {self._max}")
            start = found.end()
            if len(buf) < start + length + 1:
                break
            if buf[start + length] != ord("]"):
                raise FrameError("bad_length", f"length field {length} does not end at ']'")
            # Groups of a match on a bytearray read the buffer lazily: take them before it shrinks.
            maker, device_id = found.group(1).decode(), found.group(2).decode()
            content = bytes(buf[start:start + length])
            del buf[:start + length + 1]
            frames.append(_frame(maker, device_id, content))
        return frames


def _frame(maker: str, device_id: str, content: bytes) -> Frame:
    try:
        text = content.decode("ascii")
    except UnicodeDecodeError:
        # Voice and picture frames are binary; their keyword still comes first.
        text = content.split(b",", 1)[0].decode("ascii", "replace")
    keyword, *values = text.split(",")
    return Frame(maker, device_id, keyword, tuple(values))


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if value == value and abs(value) != float("inf") else None


def position(values: tuple[str, ...], now_ms: int) -> dict[str, Any] | None:
    """Fields of a UD/UD2/AL body: time, fix, battery, steps, status word; None if unreadable
    (too short, or no status word).

    `date,time,A|V,lat,N|S,lon,E|W,speed,course,altitude,satellites,rssi,battery,steps,
    rolls,status,…` with date ddmmyy and time hhmmss in UTC. A watch without a fix since it
    started sends `000000,000000`: then the time of receipt stands in (an SOS pressed
    indoors looks exactly like that, and was lost with the date).
    """
    if len(values) < 16:
        return None
    try:
        status = int(values[15], 16)
    except ValueError:
        return None
    try:
        ts = round(datetime.strptime(values[0] + values[1], "%d%m%y%H%M%S")
                   .replace(tzinfo=UTC).timestamp() * 1000)
    except ValueError:
        ts = now_ms
    out: dict[str, Any] = {"ts": ts, "status": status}
    lat, lon = _number(values[3]), _number(values[5])
    if values[2] == "A" and lat is not None and lon is not None:
        out["location"] = {"lat": -lat if values[4] == "S" else lat,
                           "lon": -lon if values[6] == "W" else lon,
                           # The protocol gives no accuracy: a GPS fix with satellites is
                           # taken as 10 m, the usual figure for these chipsets.
                           "accuracy_m": 10.0, "source": "gps"}
    battery, steps = _number(values[12]), _number(values[13])
    if battery is not None:
        out["battery_pct"] = battery
    if steps is not None and steps == int(steps):
        out["steps"] = int(steps)
    return out


def alarms(status: int) -> list[str]:
    """Our event words for the alarm bits of a status word (each word once)."""
    words: list[str] = []
    for bit, word in ALARM_BITS:
        if status >> bit & 1 and word not in words:
            words.append(word)
    return words


def readable_alarm(frame: Frame) -> bool:
    """Whether an AL frame's status word could be read (its alarm bits, if any, are known):
    only then may the bridge answer it without a confirmation to wait for."""
    return position(frame.values, 0) is not None


def to_contract(frame: Frame, now_ms: int) -> list[tuple[str, dict[str, Any]]]:
    """Our v1 messages (channel, payload) for one frame; [] when it carries no reading."""
    key = frame.keyword.upper()
    values = frame.values
    if key == "LK":
        if len(values) >= 3 and _number(values[0]) is not None and _number(values[2]) is not None:
            steps = _number(values[0])
            body: dict[str, Any] = {"ts": now_ms, "battery_pct": _number(values[2])}
            if steps is not None and steps == int(steps):
                body["steps"] = int(steps)
            return [("telemetry", body)]
        return []
    if key in ("UD", "UD2", "AL"):
        fix = position(values, now_ms)
        if fix is None:
            return [("telemetry", {"ts": now_ms, "raw": ",".join(values)[:200]})]  # refused
        status = fix.pop("status")
        out: list[tuple[str, dict[str, Any]]] = [("telemetry", dict(fix))]
        if key == "AL":
            for word in alarms(status):
                event: dict[str, Any] = {"ts": fix["ts"], "type": word}
                if word in ("sos", "fall") and "location" in fix:
                    event["location"] = fix["location"]
                if word == "low_battery":
                    event["battery_pct"] = fix.get("battery_pct", 0)
                out.append(("event", event))
        return out
    if key == "HEART" and values and _number(values[0]) is not None:
        return [("telemetry", {"ts": now_ms, "heart_rate_bpm": _int(values[0])})]
    if key == "BPHRT" and len(values) >= 3:
        return [("telemetry", {"ts": now_ms, "systolic_mmhg": _int(values[0]),
                               "diastolic_mmhg": _int(values[1]),
                               "heart_rate_bpm": _int(values[2])})]
    return []


def _int(text: str) -> int | str:
    value = _number(text)
    # A value that is not a whole number goes on as text: the gateway refuses it by name.
    return int(value) if value is not None and value == int(value) else text
