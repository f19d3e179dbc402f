"""The v1 MQTT topic contract: parse and build `scgw/v1/{kind}/{device_id}/{channel}`."""

from __future__ import annotations

import re
from collections.abc import Container, Iterable
from typing import NamedTuple

from devices.base import Channel
from devices.errors import TopicError

PREFIX = "scgw/v1"
_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

# Channel name in the topic → channel in our model; `cmd/ack` is two topic levels.
_TOPIC_CHANNELS: dict[str, Channel] = {
    "telemetry": "telemetry",
    "event": "event",
    "status": "status",
    "cmd/ack": "cmd_ack",
}
INBOUND_SUFFIXES: tuple[str, ...] = tuple(_TOPIC_CHANNELS)
# What the gateway sends to one device: commands, confirmations of urgent events, and the
# reasons its messages were refused. Only that device may subscribe to them.
OUTBOUND_SUFFIXES: tuple[str, ...] = ("cmd", "event/ack", "errors")


class TopicParts(NamedTuple):
    """The pieces of an inbound topic."""

    kind: str
    device_id: str
    channel: Channel


def parse(topic: str) -> TopicParts:
    """Split an inbound topic; raise TopicError if it is not ours."""
    parts = topic.split("/")
    if len(parts) < 5 or parts[0] != "scgw" or parts[1] != "v1":
        raise TopicError(f"topic {topic!r} is not under {PREFIX}/")
    kind, device_id, rest = parts[2], parts[3], "/".join(parts[4:])
    channel = _TOPIC_CHANNELS.get(rest)
    if channel is None:
        raise TopicError(f"topic {topic!r}: unknown channel {rest!r}")
    if not _ID.match(device_id):
        raise TopicError(f"topic {topic!r}: device id {device_id!r} is not [A-Za-z0-9_-]{{1,64}}")
    return TopicParts(kind, device_id, channel)


def valid_id(device_id: str) -> bool:
    """Whether `device_id` has the shape of a device id."""
    return bool(_ID.match(device_id))


def subscriptions(kinds: list[str] | None = None) -> list[str]:
    """Topic filters the gateway subscribes to: everything under each device's prefix.

    The whole prefix, not only the known channels, so that a message on a misspelt channel
    (`…/events`, `…/Telemetry`) is dead-lettered as `bad_topic` instead of vanishing.
    """
    kind_levels = kinds if kinds else ["+"]
    return [f"{PREFIX}/{k}/+/#" for k in kind_levels]


def lane_subscriptions(reading_kinds: Iterable[str] = ()) -> list[str]:
    """Topic filters of the event lane: every device's `event` channel, and the `telemetry`
    channel of the kinds whose readings alone may be an alarm (`DeviceKind.lane_readings`)."""
    return [f"{PREFIX}/+/+/event", *(f"{PREFIX}/{k}/+/telemetry" for k in sorted(reading_kinds))]


def is_event(topic: str) -> bool:
    """Whether `topic` is a device's `event` channel."""
    return (topic.endswith("/event") and topic.startswith(f"{PREFIX}/")
            and topic.count("/") == 4)


def on_lane(topic: str, reading_kinds: Container[str] = ()) -> bool:
    """Whether `topic` is one the event lane also receives (see `lane_subscriptions`)."""
    if is_event(topic):
        return True
    # (Every reading passes here: the kind is sliced out, not split for.)
    return (topic.endswith("/telemetry") and topic.startswith(f"{PREFIX}/")
            and topic[len(PREFIX) + 1:topic.find("/", len(PREFIX) + 1)] in reading_kinds
            and topic.count("/") == 4)


def is_outbound(topic: str) -> bool:
    """Whether `topic` is one the gateway sends to a device (its own publish, seen again)."""
    parts = topic.split("/", 4)
    return (len(parts) == 5 and parts[0] == "scgw" and parts[1] == "v1"
            and parts[4] in OUTBOUND_SUFFIXES)


def topic(kind: str, device_id: str, channel: str) -> str:
    """Build a topic; `channel` is a topic channel such as `telemetry` or `cmd/ack`."""
    return f"{PREFIX}/{kind}/{device_id}/{channel}"


def command_topic(kind: str, device_id: str) -> str:
    """Topic the gateway publishes commands to."""
    return topic(kind, device_id, "cmd")
