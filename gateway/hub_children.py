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
import threading
from collections.abc import Callable, Iterable
from typing import Any

import orjson

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
# A hub's will is handed to its devices at most once in this long (a crash-looping bridge).
WILL_HOLD_S = 60.0
_HELD_MAX = 10_000  # hubs with a will held back at once (each a registered account)


def says_offline(payload: bytes) -> bool:
    """Whether a hub's status payload says it went offline: `offline`, or a JSON object whose
    `state` is (red team round 11: `{"state": "online", "restart_reason": "… offline"}` read
    as a will, and the hub's real will that followed was taken for a repeat)."""
    if len(payload) > _WILL_MAX:
        return False
    text = payload.strip().lower()
    if not text.startswith(b"{"):
        return text.strip(b'"') == b"offline"
    try:
        obj = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return False
    state = obj.get("state") if isinstance(obj, dict) else None
    return isinstance(state, str) and state.strip().lower() == "offline"


class HubWills:
    """Hands a hub's `offline` to its registered devices: once per going offline, and at
    most once per WILL_HOLD_S per hub (red team round 10: one hub account publishing its will
    5,000 times in 1.4 s became 500,000 messages for its 100 children, ahead of any budget,
    and another family's SOS waited 12-19 s). Repeats while the hub is still offline change
    nothing: its devices are offline already, or came back with messages of their own."""

    def __init__(self, codecs: CodecSet, devices: Callable[[], Iterable[DeviceRecord]],
                 ack: Callable[[list[RawMessage]], None]) -> None:
        self._codecs = codecs
        self._devices = devices
        self._ack = ack
        self._lock = threading.Lock()
        # hub → (offline now, when its will was last handed out)
        self._state: dict[str, tuple[bool, float]] = {}
        # hub → a going offline that came within WILL_HOLD_S of the last: handed out when the
        # hold ends if the hub is still offline (red team round 11: a bridge that crashed,
        # came back and died for good within a minute left its smoke sensors online 25 h).
        self._held: dict[str, tuple[Any, RawMessage, float]] = {}
        self.dropped = 0  # wills acknowledged without being handed out (repeats)

    def expand(self, raws: list[RawMessage]) -> list[RawMessage]:
        """`raws` with each hub's first `offline` replaced by an availability message per
        registered device of that hub (vendor round 9: a dead bridge's smoke sensors showed
        online for 25 h); the will itself acknowledged here (it is retained: a gateway that
        stops before the devices' messages commit receives it again when it subscribes).
        `online` hands nothing out: each device is online again with its next message."""
        found = {i: will for i, raw in enumerate(raws) if not raw.topic.startswith("scgw/")
                 and (will := self._codecs.hub_will(raw.topic)) is not None}
        if not found:
            return raws  # every batch but a hub's will: nothing copied
        out: list[RawMessage] = []
        for i, raw in enumerate(raws):
            will = found.get(i)
            if will is None:
                out.append(raw)
            elif self._hands_out(will, raw, says_offline(raw.payload)):
                out.extend(self._handed(will, raw))
        self._ack([raws[i] for i in found])
        return out

    def due(self, now: float) -> list[RawMessage]:
        """The availability messages of the wills held back whose hold has ended, for hubs
        still offline (a scheduled job)."""
        ready: list[tuple[Any, RawMessage]] = []
        with self._lock:
            for hub, (will, raw, until) in list(self._held.items()):
                if until > now:
                    continue
                del self._held[hub]
                if self._state.get(hub, (False, 0.0))[0]:  # still offline
                    self._state[hub] = (True, now)
                    ready.append((will, raw))
        out: list[RawMessage] = []
        for will, raw in ready:
            out.extend(self._handed(will, RawMessage(
                raw.topic, raw.payload, qos=0, received_at=now, generation=raw.generation,
                arrived=raw.arrived)))
        return out

    def _hands_out(self, will: Any, raw: RawMessage, offline: bool) -> bool:
        hub, at = will.hub, raw.received_at
        with self._lock:
            was_offline, last = self._state.get(hub, (False, -WILL_HOLD_S))
            if not offline:
                self._state[hub] = (False, last)
                self._held.pop(hub, None)
                return False
            if was_offline or at - last < WILL_HOLD_S:
                self._state[hub] = (True, last)
                self.dropped += 1
                if not was_offline and len(self._held) < _HELD_MAX:
                    self._held[hub] = (will, raw, last + WILL_HOLD_S)
                return False
            self._state[hub] = (True, at)
            return True

    def _handed(self, will: Any, raw: RawMessage) -> list[RawMessage]:
        out = []
        for record in self._devices():
            topic = will.device_topic(record.id) if record.codec == will.dialect else None
            if topic is not None:
                out.append(RawMessage(topic, raw.payload, qos=0, received_at=raw.received_at,
                                      generation=raw.generation, arrived=raw.arrived))
        log.warning("hub offline: its devices go offline",
                    extra={"hub": will.hub, "dialect": will.dialect, "devices": len(out)})
        return out
