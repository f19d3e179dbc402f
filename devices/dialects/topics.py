"""Vendor topic patterns: matching an incoming topic, the subscription filter, the ACL topics."""

from __future__ import annotations

import re
from typing import NamedTuple

from devices.dialects.errors import DialectError, Loc
from devices.dialects.model import TopicSpec
from devices.topics import valid_id

# A hub's device name: no '-', so `<hub>-<name>` splits one way only and a hub can never
# name a device of another hub whose name starts like its own.
_HUB_NAME = re.compile(r"^[A-Za-z0-9_]{1,40}$")


class TopicMatch(NamedTuple):
    """A topic that fits a pattern: the device it names and, for a hub topic, the hub."""

    device_id: str
    hub: str | None


class CompiledTopic:
    """One vendor topic pattern, ready to match topics and to write filters."""

    def __init__(self, spec: TopicSpec, loc: Loc = ()) -> None:
        self.spec = spec
        self.name = spec.name
        self.text = spec.payload == "text"
        self.channel = spec.channel
        self.hub = spec.hub
        self.levels: tuple[str, ...] = tuple(spec.pattern.split("/"))
        self._slots: dict[str, int] = {}
        for i, level in enumerate(self.levels):
            if level.startswith("{"):
                self._slots[level[1:-1]] = i
        if not self.levels[0] or self.levels[0].startswith("{"):
            raise DialectError("a vendor topic must start with a fixed level",
                               loc=(*loc, "pattern"))
        self.first = self.levels[0]

    @property
    def filter(self) -> str:
        """The MQTT filter the gateway subscribes with (placeholders as `+`)."""
        return "/".join("+" if lv.startswith("{") else lv for lv in self.levels)

    def match(self, parts: list[str]) -> TopicMatch | None:
        """The device a topic's levels name, or None when the topic does not fit."""
        if len(parts) != len(self.levels):
            return None
        for level, part in zip(self.levels, parts, strict=True):
            if not level.startswith("{") and level != part:
                return None
        name = parts[self._slots["id"]]
        if self.hub:
            hub = parts[self._slots["hub"]]
            if not (valid_id(hub) and _HUB_NAME.match(name)):
                return TopicMatch("", hub)  # fits the pattern, names no possible device
            return TopicMatch(f"{hub}-{name}", hub)
        return TopicMatch(name if valid_id(name) else "", None)

    def device_topic(self, device_id: str) -> str:
        """The ACL topic of one device's own account (other placeholders: `+`)."""
        return "/".join(device_id if lv == "{id}" else "+" if lv.startswith("{") else lv
                        for lv in self.levels)

    def hub_base(self, hub: str) -> str:
        """Everything under one hub's level (`zigbee2mqtt/<hub>/#`): the hub account's ACL."""
        upto = self._slots["hub"]
        return "/".join((*self.levels[:upto], hub, "#"))

    def overlaps(self, other: CompiledTopic) -> bool:
        """Whether some topic could match both patterns."""
        if len(self.levels) != len(other.levels):
            return False
        return all(a.startswith("{") or b.startswith("{") or a == b
                   for a, b in zip(self.levels, other.levels, strict=True))


def split_hub_device(device_id: str) -> tuple[str, str] | None:
    """(hub, name) of a device id made by a hub topic, or None when it cannot be one."""
    hub, sep, name = device_id.rpartition("-")
    if not sep or not hub or not _HUB_NAME.match(name):
        return None
    return hub, name
