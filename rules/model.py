"""The YAML shape of a rule file: rules, named zones and inhibitions (validated by pydantic)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from rules.conditions import Condition

Severity = Literal["critical", "major", "minor", "info"]
SEVERITY_RANK: dict[str, int] = {"info": 0, "minor": 1, "major": 2, "critical": 3}

# Alert category = the key of a ticket category in the workflow's catalogue (工单分类),
# e.g. sos, fall, health, wandering, welfare_check, access, security, falling_object, fire_lane,
# locker, device_fault. The set is the workflow's to define; unknown keys land in its `other`.
Category = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")]

RuleId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,79}$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Names(_Strict):
    """A rule's display name in Simplified Chinese and English."""

    zh: str = Field(min_length=1, max_length=100, description="Chinese name (the default)")
    en: str = Field(min_length=1, max_length=100, description="English name")


class NameBy(_Strict):
    """Another display name when a fact of the alert has a given value (a gas detector's
    alarm with `gas: co` is a carbon-monoxide alarm, not a gas leak)."""

    field: str = Field(min_length=1, max_length=64,
                       description="The alert's fact (a field of its event, or the rule's "
                       "measure) that picks the name")
    names: dict[str, Names] = Field(
        min_length=1, description="Value of the field (compared as lower-case text) → name")

    @field_validator("names", mode="after")
    @classmethod
    def _lower_keys(cls, names: dict[str, Names]) -> dict[str, Names]:
        return {key.strip().lower(): name for key, name in names.items()}

    def pick(self, facts: dict[str, object]) -> Names | None:
        """The name for these facts, or None (the rule's own)."""
        value = facts.get(self.field)
        return None if value is None else self.names.get(str(value).strip().lower())


class Selectors(_Strict):
    """Which devices a rule applies to; every given list must match (empty = any)."""

    sites: list[str] = Field(default_factory=list, description="Community / compound ids")
    buildings: list[str] = Field(default_factory=list, description="Building ids (楼栋)")
    grids: list[str] = Field(default_factory=list, description="Grid cells (网格)")
    devices: list[str] = Field(default_factory=list, description="Explicit device ids")
    resident_tags: list[str] = Field(
        default_factory=list,
        description="The device's resident must carry all of these tags, e.g. lives_alone",
    )

    def empty(self) -> bool:
        """True when the rule applies to every device of its kind."""
        return not (self.sites or self.buildings or self.grids or self.devices
                    or self.resident_tags)


class Options(_Strict):
    """How alerts of a rule behave."""

    auto_clear: bool = Field(
        True, description="Clear the alert when the condition stops holding (where it can)"
    )
    cooldown_s: float = Field(
        0, ge=0, description="After a clear, ignore new firings for this long"
    )
    ack_timeout_s: float | None = Field(
        None, ge=0, description="Re-escalate an acknowledged alert after this; default: settings"
    )
    page_stale: bool = Field(
        False, description="Page even for messages older than the stale-event limit"
    )


class Rule(_Strict):
    """One rule: which devices, what condition, and what alert it raises."""

    id: RuleId = Field(description="Stable id; alerts are keyed by (device, rule id)")
    name: Names = Field(description="Display names")
    name_by: NameBy | None = Field(
        None, description="Other display names picked by a fact of the alert")
    kind: str | list[str] = Field(description="Device kind key(s), or '*' for every kind")
    match: Selectors = Field(default_factory=Selectors, description="Optional selectors")
    condition: Condition = Field(description="When the rule fires; discriminated by `type`")
    severity: Severity = Field(description="critical / major / minor / info")
    severity_by_tag: dict[str, Severity] = Field(
        default_factory=dict,
        description="Raise severity when the resident concerned carries a tag",
    )
    category: Category = Field(description="Ticket category the alert maps to")
    options: Options = Field(default_factory=Options, description="Alert behaviour")
    enabled: bool = Field(True, description="Disabled rules are validated but not run")

    def kinds(self, known: tuple[str, ...]) -> tuple[str, ...]:
        """The kind keys this rule covers."""
        wanted = [self.kind] if isinstance(self.kind, str) else self.kind
        return known if "*" in wanted else tuple(wanted)


class Circle(_Strict):
    """A circle: centre and radius in metres."""

    lat: float = Field(ge=-90, le=90, description="Centre latitude, WGS-84")
    lon: float = Field(ge=-180, le=180, description="Centre longitude, WGS-84")
    radius_m: float = Field(gt=0, le=100_000, description="Radius, metres")


class Zone(_Strict):
    """A named area: a polygon of [lat, lon] corners or a circle."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$", description="Zone name rules refer to")
    polygon: list[tuple[float, float]] | None = Field(
        None, min_length=3, description="Corners as [lat, lon], in order"
    )
    circle: Circle | None = Field(None, description="Centre and radius")

    @model_validator(mode="after")
    def _one_shape(self) -> Zone:
        if (self.circle is None) == (self.polygon is None):
            raise ValueError("give exactly one of polygon or circle")
        return self


class Inhibition(_Strict):
    """While a source alert is open, matching target alerts are recorded but muted."""

    id: str = Field(pattern=r"^[a-z0-9_.-]{1,80}$", description="Name of the inhibition")
    source_rules: list[str] = Field(min_length=1, description="Rule ids whose alerts inhibit")
    target_rules: list[str] = Field(min_length=1, description="Rule ids that get muted")
    equal: list[Literal["site", "building", "unit", "grid", "device_id"]] = Field(
        default_factory=list, description="Labels that must be equal on source and target"
    )
    grace_s: float = Field(
        0, ge=0, description="Keep muting this long after the source alert cleared"
    )


class RuleFile(_Strict):
    """One YAML file: any of `rules`, `zones`, `inhibitions`."""

    rules: list[Rule] = Field(default_factory=list, description="Rules")
    zones: list[Zone] = Field(default_factory=list, description="Named geofence zones")
    inhibitions: list[Inhibition] = Field(default_factory=list, description="Inhibitions")
