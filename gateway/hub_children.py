"""Alarms from a hub's children nobody registered, read as the hub's dialect would read them.

A hub (Zigbee2MQTT, a vendor's gateway box) publishes for children that have no account of
their own; one paired before the vendor registered it is refused as `unknown_device`. Its
smoke alarm was then a line in the dead-letter list (vendor round 6). The control room is
told instead: the alarm is decoded for each kind the dialect serves, and an urgent event of
one of them raises the hub's `device.unregistered_alarm` (gateway/alerting.py).
"""

from __future__ import annotations

from typing import Any

from devices.catalogue import CATALOGUE
from devices.errors import DecodeError
from devices.vendors import CodecSet
from gateway.envelope import RawMessage


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
