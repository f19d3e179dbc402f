"""Bodies of alerts and silences."""

from __future__ import annotations

from pydantic import BaseModel, Field

from api.schemas.base import PlacedModel, StrictBody


class AlertPublic(PlacedModel):
    """An alert."""

    id: int
    rule_id: str
    device_id: str
    kind: str
    site: str
    building: str
    grid: str
    resident_id: str | None
    severity: str
    category: str
    state: str
    opened_at: float
    last_seen: float
    count: int
    acked_by: str | None
    flapping: bool
    muted: str | None
    clock_skew_s: float | None = None
    unit: str = ""
    acked_at: float | None = None
    ack_due: float | None = Field(
        None, description="An acknowledged alert not cleared by then pages again")
    escalations: int = Field(0, description="Times it paged again after an ack timed out")
    paged_at: float | None = Field(
        None, description="When it last paged: opened, or paged again after an ack timed out")
    name_zh: str = Field("", description="The rule's name (zh)")
    name_en: str = Field("", description="The rule's name (en)")
    worn: bool | None = Field(
        None, description="Wristband alerts: whether the band was worn when it opened "
        "(false: the alert contradicts the band; it still pages)")
    silence_max_s: float | None = Field(
        None, description="Set for a rule that pages on urgent events (SOS, fall, fire …): "
        "only a silence naming this device and this rule, of at most this many seconds, "
        "mutes it; site, device and longer silences never do")
    ticket_id: int | None = Field(None, description="The ticket this alert opened or joined")
    ticket_code: str | None = Field(None, description="That ticket's code (GD…)")
    facts: dict[str, str | int | float | bool] = Field(
        default_factory=dict, description="What raised it: the event's own fields (floor, zone, "
        "door, compartment, room, lel_pct, confidence…) and the value the rule measured "
        "(battery_pct, silent_s…). Locations, vitals and residents are never listed here")
    event_type: str | None = Field(
        None, description="The event that raised it, or its latest repeat")
    event_ts: float | None = Field(None, description="That event's device time, epoch seconds")
    snapshot_url: str | None = Field(
        None, description="The picture that event carried: GET it (JPEG) with the same token")
    snapshot_ref: str | None = Field(
        None, description="The link the device gave to a picture its camera or NVR keeps "
        "(http(s)://, rtsp(s)://, nvr://), whole: open it on the site network")
    payload_problem: str | None = Field(
        None, description="The urgent event that raised it broke the payload contract and was "
        "salvaged: what was wrong and what was repaired (a dropped location, say), as the "
        "device's confirmation said")


class AlertSummary(BaseModel):
    """Honest counts of every open alert (not one page of them)."""

    open: int
    active: int
    acknowledged: int
    muted: int
    critical: int
    critical_active: int
    by_severity: dict[str, int]


class AlertAction(StrictBody):
    """A note for ack / clear / comment."""

    note: str = Field("", max_length=1000)


class SilenceCreate(StrictBody):
    """A silence by device, rule and/or site."""

    device_id: str | None = None
    rule_id: str | None = None
    site: str | None = None
    duration_s: float = Field(ge=60, le=30 * 86_400, description="From now, seconds")
    reason: str = Field(min_length=1, max_length=500)
