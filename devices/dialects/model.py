"""The shape of a dialect file: a vendor's payload format described as data (pydantic, YAML).

A dialect says which device kinds it serves, where the vendor's devices publish (their own
topics, or ours), how each vendor message maps onto our typed payloads (JMESPath expressions
plus explicit conversions), how vendor event codes map onto our closed vocabularies, what
becomes of fields it does not map, and carries examples with their expected results.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Scalar = str | int | float | bool
ChannelName = Literal["telemetry", "event", "status", "cmd_ack"]
_NAME = re.compile(r"^[a-z][a-z0-9_]{1,31}$")
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
_SEGMENT = re.compile(r"^[A-Za-z0-9_.-]+$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FieldRule(_Strict):
    """How one of our fields is computed from the vendor payload (a string means `path`)."""

    path: str | None = Field(
        None, description="JMESPath expression evaluated on the vendor payload, e.g. `lat`, "
        "`pos[0]`, `data.hr`; a missing value leaves the field out")
    value: Scalar | None = Field(
        None, description="A constant instead of `path` (e.g. `source: cell`)")
    split: str | None = Field(
        None, min_length=1, max_length=4,
        description="Split a text value at this separator first (e.g. `/` for `\"128/82\"`)")
    part: int = Field(0, ge=0, le=16, description="Which piece of `split` to take (0 first)")
    table: dict[str, Scalar] | None = Field(
        None, description="Translate vendor values (compared as text) into ours, e.g. "
        "`{\"1\": true, \"0\": false}`; a value not in the table is refused")
    convert: Literal["number", "integer", "boolean", "text", "percent", "time"] | None = Field(
        None, description="Explicit type conversion (our contract is strict: a text number is "
        "refused unless converted). `number`/`integer` accept JSON numbers and decimal text; "
        "`boolean` accepts true/false, 1/0 and on/off, yes/no, open/closed words; `percent` "
        "accepts 85, \"85\" and \"85%\"; `time` turns epoch numbers (`unit`) or text "
        "(`format`, `utc_offset`) into epoch milliseconds")
    unit: Literal["s", "ms", "us"] = Field(
        "ms", description="For `convert: time` of a number: the epoch unit the vendor sends. "
        "With `s`, a number that is a plausible time only in milliseconds (a firmware that "
        "changed unit) is refused as `out_of_range` with a detail saying so, like a `ts` in "
        "seconds on our own contract; an urgent event is still salvaged (stored at its time "
        "of receipt)")
    format: str | None = Field(
        None, description="For `convert: time` of text: a strptime format such as "
        "`%Y-%m-%d %H:%M:%S` (without it, RFC 3339 / ISO 8601 text)")
    utc_offset: str | None = Field(
        None, pattern=r"^[+-]\d{2}:\d{2}$",
        description="For `convert: time` of text without an offset: the vendor's clock offset, "
        "e.g. `+08:00` (without it, such text is read as UTC: name the offset for a device on "
        "China time)")
    scale: float | None = Field(
        None, description="Multiply after conversion (1e-6 degrees: `0.000001`; 0.1 °C: `0.1`); "
        "with a scale below 1 the value must be a whole number (a fraction is refused: the "
        "device sent plain units)")
    offset: float | None = Field(None, description="Add after scaling (e.g. Kelvin → °C)")
    digits: int | None = Field(
        None, ge=0, le=9, description="Round to this many decimals after scale and offset")
    fields: dict[str, FieldSpec] | None = Field(
        None, description="A nested object of ours (e.g. `location`), built from these "
        "fields; left out when none of them has a value")
    otherwise: Scalar | None = Field(
        None, description="Value when the path gives nothing: a constant, or for `ts` the "
        "word `received_at` (when the gateway received it; for vendors whose payloads carry "
        "no time, such as Zigbee2MQTT without `last_seen`)")
    required: bool = Field(
        False, description="Refuse the message (`schema_invalid`) when the value is missing")

    @model_validator(mode="after")
    def _one_source(self) -> FieldRule:
        sources = [self.path is not None, self.value is not None, self.fields is not None]
        if sum(sources) != 1:
            raise ValueError("give exactly one of `path`, `value` or `fields`")
        if self.fields is not None and any(
                x is not None for x in (self.split, self.table, self.convert, self.scale)):
            raise ValueError("a nested `fields` object takes no conversions of its own")
        if self.format is not None and self.convert != "time":
            raise ValueError("`format` needs `convert: time`")
        return self


FieldSpec = str | FieldRule
FieldRule.model_rebuild()


class EventMap(_Strict):
    """Which vendor field holds the event code, and what each code means in our vocabulary."""

    code: str = Field(description="JMESPath expression of the vendor's event code")
    table: dict[str, str] = Field(
        min_length=1, description="Vendor code (compared as text) → our event type; a code "
        "not in the table (nor in `ignore`) is dead-lettered as `unknown_event_type`")
    ignore: list[str] = Field(
        default_factory=list, max_length=200, description="Vendor codes (compared as text) "
        "deliberately not mapped — a camera platform's routine motion or video-loss events: "
        "acknowledged and counted (`scgw_messages_ignored`), neither stored nor refused, so "
        "they raise no `device.refused` alert. An urgent type is never ignored")


class MessageRule(_Strict):
    """One kind of vendor message: when it applies, which channel it is, and its fields."""

    name: str = Field(description="Short name, used in errors and examples")
    when: str | None = Field(
        None, description="JMESPath condition on the payload (e.g. `_type == 'location'`); "
        "rules are tried in order and the first that holds is used")
    topic: str | None = Field(
        None, description="Only for messages on the vendor topic of this name")
    kinds: list[str] | None = Field(
        None, description="Only for devices of these kinds (default: every kind served)")
    channel: ChannelName = Field(description="Which of our channels the message becomes")
    event: EventMap | None = Field(
        None, description="For `channel: event`: the vendor event code and its table")
    fields: dict[str, FieldSpec] = Field(
        default_factory=dict, description="Our field name → how to compute it; `ts` and `seq` "
        "included. For `status`, `state` must come out `online` or `offline`")
    ignore: list[str] = Field(
        default_factory=list, description="Vendor fields deliberately not kept (declared, so "
        "never silently dropped); everything else unmapped goes to `extra`")

    @model_validator(mode="after")
    def _event_needs_map(self) -> MessageRule:
        if (self.channel == "event") != (self.event is not None):
            raise ValueError("`event` is required for channel event and only allowed there")
        return self


class TopicSpec(_Strict):
    """A vendor topic its devices publish on (the gateway subscribes and ACLs follow)."""

    name: str = Field(description="Short name, used by `MessageRule.topic`")
    pattern: str = Field(
        description="Topic levels with placeholders, e.g. `owntracks/{id}/{phone}`. `{id}` "
        "(required) is the device id, which is also its MQTT username, so the broker lets a "
        "device publish only on its own topics; other placeholders match one level")
    hub: bool = Field(
        False, description="Published by a hub for its devices (Zigbee2MQTT): the pattern has "
        "`{hub}` (the hub's MQTT username) and `{id}`, and the device id is `<hub>-<id>`")
    payload: Literal["json", "text"] = Field(
        "json", description="`text`: plain text, seen as `{\"text\": …}` (a JSON object is "
        "read as JSON)")
    channel: ChannelName | None = Field(
        None, description="Fixes the channel of everything on this topic (rules of other "
        "channels do not apply)")

    @field_validator("pattern")
    @classmethod
    def _levels(cls, value: str) -> str:
        levels = value.split("/")
        if levels[0] in ("scgw", "$SYS", "$CONTROL") or levels[0].startswith("$"):
            raise ValueError("a vendor topic may not start with scgw or $")
        names = []
        for level in levels:
            found = _PLACEHOLDER.fullmatch(level)
            if found:
                names.append(found.group(1))
            elif "{" in level or "}" in level or "+" in level or "#" in level:
                raise ValueError(f"level {level!r}: a placeholder fills a whole level")
            elif not _SEGMENT.match(level):
                raise ValueError(f"level {level!r} has characters a topic level may not")
        if "id" not in names:
            raise ValueError("the pattern needs the `{id}` level (the device id)")
        if len(set(names)) != len(names):
            raise ValueError("a placeholder appears twice")
        return value

    @model_validator(mode="after")
    def _hub_levels(self) -> TopicSpec:
        has_hub = "{hub}" in self.pattern.split("/")
        if has_hub != self.hub:
            raise ValueError("`{hub}` is in the pattern exactly when `hub: true`")
        return self


class HubStatus(_Strict):
    """Where a hub says it is on or off line (its MQTT will), and for which of its devices."""

    pattern: str = Field(
        description="The hub's own status topic, with `{hub}` (e.g. "
        "`zigbee2mqtt/{hub}/bridge/state`)")
    availability: str = Field(
        description="Name of the `status` topic its devices' availability comes on: an "
        "`offline` here is handed to each registered device of the hub as if it had come there")

    @field_validator("pattern")
    @classmethod
    def _hub_only(cls, value: str) -> str:
        levels = value.split("/")
        names = [m.group(1) for lv in levels if (m := _PLACEHOLDER.fullmatch(lv))]
        if names != ["hub"]:
            raise ValueError("the pattern has `{hub}` and no other placeholder")
        if any(not _SEGMENT.match(lv) for lv in levels if lv != "{hub}"):
            raise ValueError("a level has characters a topic level may not")
        if levels[0] in ("scgw",) or levels[0].startswith("$"):
            raise ValueError("a vendor topic may not start with scgw or $")
        return value


class Example(_Strict):
    """A vendor message and what it must decode to (run by `scgw dialects test`)."""

    name: str = Field(description="What the example shows")
    kind: str | None = Field(None, description="Kind of the device (default: the first served)")
    topic: str = Field(description="Topic it arrives on (use device id `DEV-1` or any)")
    payload: dict[str, Any] | str = Field(description="The vendor payload (object or text)")
    expect: dict[str, Any] | None = Field(
        None, description="Expected result: `channel` plus our payload fields (a subset)")
    reject: str | None = Field(None, description="Or: the dead-letter reason it must get")

    @model_validator(mode="after")
    def _one_outcome(self) -> Example:
        if (self.expect is None) == (self.reject is None):
            raise ValueError("give exactly one of `expect` or `reject`")
        return self


class Dialect(_Strict):
    """A vendor payload format: what a dialect file holds."""

    dialect: str = Field(
        description="Its name, which devices give as their `codec` when registered")
    title: str = Field(max_length=120, description="One line for people")
    description: str = Field("", description="Where the format comes from, what it covers")
    version: int = Field(1, ge=1, description="Bumped when the mapping changes meaning")
    kinds: list[str] = Field(min_length=1, description="Device kinds it can decode")
    topics: list[TopicSpec] = Field(
        default_factory=list, description="Vendor topics; without any, devices use our "
        "`scgw/v1/{kind}/{id}/{channel}` topics and only the payloads differ")
    hub_status: HubStatus | None = Field(
        None, description="A hub's own will: when it says `offline` (the hub lost power or "
        "its radio), every registered device behind it goes offline at once — a dead hub "
        "cannot publish its devices' availability")
    device_id_check: str | None = Field(
        None, description="JMESPath of an id the payload carries too (e.g. `imei`); it must "
        "equal the device id of the topic, else the message is refused")
    messages: list[MessageRule] = Field(
        min_length=1, description="Message rules, tried in order")
    passthrough: list[ChannelName] = Field(
        default_factory=lambda: ["status", "cmd_ack"],
        description="Channels that use our own v1 payloads unchanged when sent on our topics")
    unmapped: Literal["keep", "refuse"] = Field(
        "keep", description="`keep`: vendor fields no rule uses are stored under `extra`; "
        "`refuse`: such a message is dead-lettered (`schema_invalid`)")
    examples: list[Example] = Field(
        default_factory=list, description="Vendor messages with their expected results")

    @field_validator("dialect")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME.match(value) or value == "json":
            raise ValueError("a dialect name is 2–32 of a-z, 0-9, _ (starting with a letter), "
                             "and not `json`")
        return value

    @model_validator(mode="after")
    def _unique_names(self) -> Dialect:
        topic_names = [t.name for t in self.topics]
        if len(set(topic_names)) != len(topic_names):
            raise ValueError("topic names repeat")
        for rule in self.messages:
            if rule.topic is not None and rule.topic not in topic_names:
                raise ValueError(f"message {rule.name!r}: no topic named {rule.topic!r}")
        if self.hub_status is not None:
            target = next((t for t in self.topics if t.name == self.hub_status.availability),
                          None)
            if target is None or not target.hub or target.channel != "status":
                raise ValueError("hub_status.availability must name a hub topic of channel "
                                 "status")
        return self
