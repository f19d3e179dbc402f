"""Bodies of tickets, their events, contacts and resident requests."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from api.schemas.alerts import AlertPublic
from api.schemas.base import StrictBody
from devices.place import Place
from gateway.workflow.places import PlaceInWords


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
    attachments: list[str] = Field(
        default_factory=list, description="Links to pictures its alerts' devices gave "
        "(a camera's or NVR's snapshot_ref), oldest first; open them on the site network")
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


class ContactUpdate(StrictBody):
    """Staff set a resident's phone and emergency contact."""

    phone: str = Field("", max_length=32, pattern=r"^[0-9+\- ]*$")
    contact_name: str = Field("", max_length=64)
    contact_relation: str = Field("", max_length=32)
    contact_phone: str = Field("", max_length=32, pattern=r"^[0-9+\- ]*$")


class TicketCreate(StrictBody):
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


class RequestCreate(StrictBody):
    """A resident's request (诉求), placed by its door-plate code."""

    category: str
    text: str = Field(min_length=1, max_length=4000)
    door_plate: str = Field(min_length=1, max_length=64)
    resident_id: str | None = None


class TransitionBody(StrictBody):
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


class CommentBody(StrictBody):
    """A comment on a ticket or alert."""

    text: str = Field(min_length=1, max_length=2000)
