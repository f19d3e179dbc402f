"""Messages that carry several readings or events at once, split into one message each.

Cheap 4G bands queue what happened while the modem slept and send the queue as one message:
a JSON array (`[{…"type": "low_battery"}, {…"type": "sos"}]`), an object wrapping a list
(`{"records": […]}`, `{"imei": "…", "data": […]}`) or one object per line. Refused whole,
the SOS in such a queue was never confirmed or paged (vendor round 5). Each element is now
judged as the message it would have been on its own — stored, deduplicated, paged and
confirmed, or refused with its own reason — and the MQTT message is acknowledged once, when
all of them are committed. A wrapper's `ts` is the default of an element without one; its
other top-level fields (an IMEI, a message type) say nothing the topic does not.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import orjson

from gateway.envelope import RawMessage

# Elements one message may carry (a day of a band's queued events fits many times over).
PARTS_MAX = 100
# Keys that wrap a queue of readings or events; none is a field of any device kind.
WRAPPERS = ("records", "data", "events", "list", "items", "batch", "readings", "values")
_WRAPPED = re.compile(rb'"(?:' + b"|".join(w.encode() for w in WRAPPERS) + rb')"\s*:\s*\[')
_NEXT_LINE = re.compile(rb"\}\s*\r?\n\s*\{")


class BatchError(ValueError):
    """A message carries more elements than one message may."""


def parts(raw: RawMessage) -> list[RawMessage] | None:
    """The messages `raw` carries when it carries several (an array, a wrapped list, one
    object per line) on a reading or event topic of ours; None for a single message (almost
    every one: decided from a glance at its bytes). BatchError past PARTS_MAX."""
    elements = _elements(raw)
    if elements is None:
        return None
    if len(elements) > PARTS_MAX:
        raise BatchError(f"{len(elements)} readings or events in one message (at most "
                         f"{PARTS_MAX}): send fewer at a time")
    return [replace(raw, payload=orjson.dumps(e)) for e in elements]


def size(raw: RawMessage) -> int:
    """How many messages `raw` counts as against its device's budget: one, or as many as it
    carries (a queue of 100 must not pass for one message, red team)."""
    payload = raw.payload
    if payload[:1] == b"{" and b"[" not in payload and b"\n" not in payload:
        return 1
    elements = _elements(raw)
    return len(elements) if elements else 1


def _elements(raw: RawMessage) -> list[dict[str, Any]] | None:
    payload = raw.payload
    first = payload[:1]
    if first == b"{" and b"[" not in payload and b"\n" not in payload:
        return None  # one object, nothing listed: almost every message, at memchr's cost
    topic = raw.topic
    if not topic.startswith("scgw/") or not topic.endswith(("/telemetry", "/event")):
        return None
    if first.isspace():
        payload = payload.strip()
        first = payload[:1]
    if first == b"[":
        elements = _loads(payload)
    elif first == b"{" and _WRAPPED.search(payload):
        elements = _unwrapped(_loads(payload))
    elif first == b"{" and _NEXT_LINE.search(payload):
        elements = [_loads(line) for line in payload.splitlines() if line.strip()]
    else:
        return None
    if not isinstance(elements, list) or len(elements) < 1 \
            or not all(isinstance(e, dict) and e for e in elements):
        return None
    return elements


def _loads(payload: bytes) -> Any:
    try:
        return orjson.loads(payload)
    except orjson.JSONDecodeError:
        return None


def _unwrapped(obj: Any) -> list[Any] | None:
    """The elements of an object wrapping one list of objects, each with the wrapper's `ts`
    as its default; None when it is not such an object."""
    if not isinstance(obj, dict):
        return None
    lists = [k for k, v in obj.items() if isinstance(v, list)]
    if len(lists) != 1 or lists[0] not in WRAPPERS or "type" in obj:
        return None
    shared = {"ts": obj["ts"]} if "ts" in obj else {}
    return [{**shared, **e} if isinstance(e, dict) else e for e in obj[lists[0]]]
