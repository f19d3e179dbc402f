"""A hub's children: alarms from those nobody registered, read as the hub's dialect would read
them, and the hub's own will handed to those registered.

A hub (Zigbee2MQTT, a vendor's gateway box) publishes for children that have no account of
their own; one paired before the vendor registered it is refused as `unknown_device`. Its
smoke alarm was then a line in the dead-letter list (vendor round 6). The control room is
told instead: the alarm is decoded for each kind the dialect serves, and an urgent event of
one of them raises the hub's `device.unregistered_alarm` (gateway/alerting.py). A hub that
lost power cannot publish its children's availability: its own will (Zigbee2MQTT's
`bridge/state` offline) is handed to each of them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from devices.catalogue import CATALOGUE
from devices.errors import DecodeError
from devices.vendors import CodecSet
from gateway.envelope import RawMessage
from gateway.storage.records import DeviceRecord

log = logging.getLogger(__name__)


def unregistered_alarm(codecs: CodecSet, raw: RawMessage) -> tuple[str, str, dict[str, Any]] | None:
    """(hub, kind, detail) when `raw`, on a hub topic, names an unregistered child's urgent
    event; None otherwise."""
    route = codecs.route(raw.topic)
    if route is None or not route.match.hub or not route.match.device_id:
        return None
    codec = route.codec
    for key in codec.dialect.kinds:
        kind = CATALOGUE.get(key)
        if kind is None or not kind.urgent:
            continue
        try:
            channel, model = codec.decode_routed(kind, raw.payload, route.topic.channel,
                                                 route.topic, route.match.device_id,
                                                 raw.received_at)
            said = getattr(model, "type", None) if channel == "event" else None
        except DecodeError:
            said = None
        if said not in kind.urgent:
            continue
        return route.match.hub, key, {
            "type": said, "kind": key, "unregistered_device": route.match.device_id,
            "topic": raw.topic[:200],
            "hint": f"register {route.match.device_id} (codec {codec.name}) to place it"}
    return None


# A will is a word or a small JSON object (`offline`, `{"state": "offline"}`).
_WILL_MAX = 256


def says_offline(payload: bytes) -> bool:
    """Whether a hub's status payload says it went offline."""
    return len(payload) <= _WILL_MAX and b"offline" in payload.lower()


def expand_hub_wills(raws: list[RawMessage], codecs: CodecSet,
                     devices: Callable[[], Iterable[DeviceRecord]],
                     ack: Callable[[list[RawMessage]], None]) -> list[RawMessage]:
    """`raws` with each hub's `offline` replaced by an availability message per registered
    device of that hub (vendor round 9: a dead bridge's smoke sensors showed online for 25 h).

    The will itself is acknowledged here: it is retained, so a gateway that stops before the
    devices' messages commit receives it again when it subscribes. `online` changes nothing:
    each device is online again with its next message."""
    found = {i: will for i, raw in enumerate(raws) if not raw.topic.startswith("scgw/")
             and (will := codecs.hub_will(raw.topic)) is not None}
    if not found:
        return raws  # every batch but a hub's will: nothing copied
    out: list[RawMessage] = []
    for i, raw in enumerate(raws):
        will = found.get(i)
        if will is None:
            out.append(raw)
            continue
        if not says_offline(raw.payload):
            continue
        handed = 0
        for record in devices():
            topic = will.device_topic(record.id) if record.codec == will.dialect else None
            if topic is not None:
                out.append(RawMessage(topic, raw.payload, qos=0, received_at=raw.received_at,
                                      generation=raw.generation, arrived=raw.arrived))
                handed += 1
        log.warning("hub offline: its devices go offline",
                    extra={"hub": will.hub, "dialect": will.dialect, "devices": handed})
    ack([raws[i] for i in found])
    return out
