"""Request and response bodies: separate Create / Update / Public shapes per resource."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field

from devices.place import Place
from gateway.workflow.places import PlaceInWords


class _Placed(BaseModel):
    """A record with place fields, shown also as one `place` object."""

    @computed_field(description="Where it is, as one object (site, building, unit, room, grid)")
    @property
    def place(self) -> Place:
        """The record's place fields together."""
        return Place.of(self)


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Token(BaseModel):
    """OAuth2 bearer token."""

    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int
    role: str
    session_expires_at: float | None = Field(
        None, description="When the sign-in session ends however busy (epoch s)")
    session_idle_s: float | None = Field(
        None, description="The session ends after this long without a request or refresh")


class SessionPublic(BaseModel):
    """One of the caller's sign-in sessions."""

    id: str
    created_at: float
    last_used_at: float
    expires_at: float
    client_addr: str
    user_agent: str
    current: bool


class PasswordChange(_Body):
    """A new password, with the current one as proof."""

    current_password: str = Field(min_length=1, max_length=200)
    new_password: str = Field(min_length=8, max_length=200)


class UserPublic(BaseModel):
    """An account as others may see it."""

    username: str
    role: str
    display_name: str
    grid: str | None
    vendor: str | None


class TwinPublic(BaseModel):
    """A device's last known state."""

    online: bool
    online_source: str | None
    last_seen: float | None
    battery_pct: float | None
    lat: float | None
    lon: float | None
    accuracy_m: float | None
    location_ts: float | None
    last_telemetry: dict[str, Any] | None


class DeviceSummary(_Placed):
    """A registered device, without its live state."""

    id: str
    kind: str
    vendor: str
    model: str
    codec: str
    site: str
    building: str
    unit: str
    grid: str
    resident_id: str | None
    install_date: str | None
    status: str


class DevicePublic(DeviceSummary):
    """A registered device with its twin (position and readings are personal data)."""

    twin: TwinPublic | None = None


class DeviceCreated(DeviceSummary):
    """A registration's answer: the device's MQTT credentials, shown this once."""

    mqtt_username: str | None = None
    mqtt_password: str | None = None


class CommandCreate(_Body):
    """A command for a device (names and arguments are declared per kind)."""

    name: str = Field(min_length=1, max_length=64)
    args: dict[str, Any] = Field(default_factory=dict)
    ttl_s: float | None = Field(
        None, gt=0, description="How long it stays worth doing; default and ceiling per command")


class CommandPublic(BaseModel):
    """A command and what became of it (`late_*`: an ack that came after the end)."""

    id: str
    device_id: str
    name: str
    state: str
    created_at: float
    expires_at: float | None = None
    done_at: float | None
    result: dict[str, Any] | None
    late_at: float | None = None
    late_result: dict[str, Any] | None = None


class DeviceCreate(_Body):
    """Registration of a device (validated against its kind's model).

    A vendor may send only the hardware fields (id, kind, model, codec, install_date); the
    binding fields (site, building, unit, grid, resident_id) are an operator's.
    """

    id: str = Field(max_length=64, description="Device id; also its MQTT username and client id")
    kind: str
    vendor: str = ""
    model: str = ""
    codec: str = "json"
    site: str = ""
    building: str = ""
    unit: str = ""
    grid: str = ""
    resident_id: str | None = None
    install_date: str | None = None


class DeviceBinding(_Body):
    """Where a device is and whom it serves (operators and admins only)."""

    site: str = Field("", max_length=64)
    building: str = Field("", max_length=64)
    unit: str = Field("", max_length=64)
    grid: str = Field("", max_length=64)
    resident_id: str | None = Field(None, max_length=64)


class DeviceCredentials(BaseModel):
    """A device's new MQTT password, shown this once."""

    mqtt_username: str
    mqtt_password: str


class TelemetryPoint(BaseModel):
    """One reading (or the average of a bucket when downsampled)."""

    ts: float
    values: dict[str, Any]
    samples: int = 1


class AlertPublic(_Placed):
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
    ticket_id: int | None = Field(None, description="The ticket this alert opened or joined")
    ticket_code: str | None = Field(None, description="That ticket's code (GD…)")


class AlertSummary(BaseModel):
    """Honest counts of every open alert (not one page of them)."""

    open: int
    active: int
    acknowledged: int
    muted: int
    critical: int
    critical_active: int
    by_severity: dict[str, int]


class AlertAction(_Body):
    """A note for ack / clear / comment."""

    note: str = Field("", max_length=1000)


class SilenceCreate(_Body):
    """A silence by device, rule and/or site."""

    device_id: str | None = None
    rule_id: str | None = None
    site: str | None = None
    duration_s: float = Field(ge=60, le=30 * 86_400, description="From now, seconds")
    reason: str = Field(min_length=1, max_length=500)


class TicketPublic(BaseModel):
    """A ticket."""

    id: int
    code: str
    source: str
    category: str
    priority: str
    state: str
    site: str
    building: str
    unit: str
    room: str
    grid: str
    resident_id: str | None
    device_id: str | None
    title: str
    description: str
    assignee: str | None
    team: str | None
    department: str | None
    escalation_level: int
    rating: int | None
    result: str | None
    alert_count: int
    external_state: str | None
    created_at: float
    updated_at: float
    clock_skew_s: float | None = None
    dispatched_at: float | None = None
    accepted_at: float | None = None
    feedback_at: float | None = None
    closed_at: float | None = None
    escalated_at: float | None = None
    sla_dispatch_due: float | None = None
    sla_accept_due: float | None = None
    sla_resolve_due: float | None = None
    sla_breaches: list[str] = Field(default_factory=list)
    sla_clock: str | None = Field(
        None, description="The SLA clock running now: dispatch, accept or resolve")
    sla_due: float | None = Field(None, description="When the running SLA clock runs out")
    overdue: bool = Field(False, description="The running SLA clock has run out")
    escalated_to: str | None = Field(
        None, description="Who an SLA breach escalated it to (escalation chain level)")
    category_zh: str = ""
    category_en: str = ""
    resident_name: str | None = None
    assignee_name: str | None = None
    note: str | None = Field(None, description="The latest note a person wrote for it")
    note_by: str | None = None
    note_at: float | None = None
    alert_ids: list[int] = Field(default_factory=list, description="Alerts linked to it")
    rule_name_zh: str | None = Field(None, description="Name of the rule that opened it")
    rule_name_en: str | None = None
    worn: bool | None = Field(
        None, description="Opened by a wearer alert: whether the band was worn then")


class TicketEvent(BaseModel):
    """One entry of a ticket's audit trail."""

    at: float
    actor: str
    action: str
    from_state: str | None
    to_state: str
    note: str
    detail: dict[str, Any] = Field(default_factory=dict)
    actor_name: str = ""


class TicketDetail(TicketPublic):
    """A ticket with its audit trail, the alerts that opened it and the same incident's."""

    events: list[TicketEvent]
    alerts: list[AlertPublic] = Field(default_factory=list)
    related: list[AlertPublic] = Field(
        default_factory=list, description="Other alerts of the same resident around then")
    place: PlaceInWords | None = Field(
        None, description="Where to go, in words and site-map ids (no coordinates)")
    rule_names: list[str] = Field(default_factory=list)


class AssigneeCandidate(BaseModel):
    """A grid worker the dispatch form may choose."""

    username: str
    name: str
    grid: str
    on_duty: bool
    same_grid: bool
    open_tickets: int


class ContactPublic(BaseModel):
    """A resident's phone and emergency contact (grid worker on the ticket; audited)."""

    resident_id: str
    resident_name: str
    phone: str
    contact_name: str
    contact_relation: str
    contact_phone: str


class ContactUpdate(_Body):
    """Staff set a resident's phone and emergency contact."""

    phone: str = Field("", max_length=32, pattern=r"^[0-9+\- ]*$")
    contact_name: str = Field("", max_length=64)
    contact_relation: str = Field("", max_length=32)
    contact_phone: str = Field("", max_length=32, pattern=r"^[0-9+\- ]*$")


class TicketCreate(_Body):
    """A ticket opened by an operator."""

    category: str
    title: str = Field("", max_length=200)
    description: str = Field("", max_length=4000)
    priority: Literal["urgent", "high", "normal", "low"] | None = None
    site: str = Field("", max_length=64)
    building: str = Field("", max_length=64)
    unit: str = Field("", max_length=64)
    grid: str = Field("", max_length=64)
    resident_id: str | None = None

    @property
    def place(self) -> Place:
        """Where the matter is."""
        return Place.of(self)


class RequestCreate(_Body):
    """A resident's request (诉求), placed by its door-plate code."""

    category: str
    text: str = Field(min_length=1, max_length=4000)
    door_plate: str = Field(min_length=1, max_length=64)
    resident_id: str | None = None


class TransitionBody(_Body):
    """An action on a ticket."""

    action: Literal["dispatch", "accept", "report", "close", "reopen", "escalate",
                    "department_accept", "transfer", "reject", "mark_duplicate"]
    note: str = Field("", max_length=1000)
    assignee: str | None = Field(None, max_length=64)
    other_grid: bool = Field(
        False, description="Dispatch: the assignee works another grid, chosen on purpose")
    department: str | None = None
    rating: int | None = Field(None, ge=1, le=5)
    result: str | None = Field(None, max_length=2000)
    reason: str | None = Field(None, max_length=500)
    duplicate_of: int | None = Field(None, ge=1, le=2**63 - 1)


class CommentBody(_Body):
    """A comment on a ticket or alert."""

    text: str = Field(min_length=1, max_length=2000)


class ResidentPublic(BaseModel):
    """A resident's profile."""

    id: str
    name: str
    tags: list[str]
    site: str


class ResidentUpdate(_Body):
    """Profile fields an operator may set."""

    name: str = Field("", max_length=64)
    tags: list[str] = Field(default_factory=list, max_length=20)
    site: str = Field("", max_length=64)


class FamilyLink(_Body):
    """Link a family account to a resident."""

    username: str
    relation: str = Field("", max_length=32)


class Location(BaseModel):
    """Where an elder is: the wristband's last fix."""

    resident_id: str
    device_id: str
    lat: float
    lon: float
    accuracy_m: float | None
    source: str | None
    fix_ts: float


class TrailPoint(BaseModel):
    """One position of an elder's trail."""

    ts: float
    device_id: str
    lat: float
    lon: float
    accuracy_m: float | None = None
    source: str | None = None


class VitalsPublic(BaseModel):
    """An elder's latest vital signs (each absent until a band reported it)."""

    heart_rate_bpm: float | None = None
    spo2_pct: float | None = None
    systolic_mmhg: float | None = None
    diastolic_mmhg: float | None = None
    glucose_mmol_l: float | None = None
    body_temp_c: float | None = None
    battery_pct: float | None = None
    measured_at: float | None = None
    worn: bool | None = Field(None, description="Whether the band is on the wrist now")
    worn_since: float | None = Field(None, description="Since when it is (or is not) worn")
    taken_at: dict[str, float] = Field(
        default_factory=dict, description="When each value shown was measured")
    missing: dict[str, str] = Field(
        default_factory=dict,
        description="Why a value is absent or old: not_worn, no_data, stale")


class AlarmHandling(BaseModel):
    """What the community did about an alarm (its ticket, in the family's words)."""

    code: str
    state: str
    assignee_name: str | None = None
    result: str | None = None
    rating: int | None = None
    steps: list[dict[str, Any]] = Field(default_factory=list,
                                        description="[{at, action, who}] oldest first")


class AlarmPublic(BaseModel):
    """An SOS or fall from an elder's band, with where, and what was done about it."""

    device_id: str
    type: str
    ts: float
    received_at: float | None = None
    place_zh: str | None = None
    place_en: str | None = None
    worn: bool | None = None
    alert_state: str | None = None
    handling: AlarmHandling | None = None


class ElderPublic(BaseModel):
    """An elder as their family sees them."""

    id: str
    name: str
    devices: list[str]
    location: Location | None


class DeadLetterPublic(BaseModel):
    """A refused message."""

    id: int
    received_at: float
    topic: str
    reason: str
    detail: str
    device_id: str | None
    payload_size: int
    payload_preview: str


class RulePublic(BaseModel):
    """A loaded rule."""

    id: str
    kind: str
    severity: str
    category: str
    condition: str
    name_zh: str
    name_en: str
    enabled: bool


class RuleSwitch(_Body):
    """Why a rule is switched off or on (kept with the switch)."""

    reason: str = Field("", max_length=500)
