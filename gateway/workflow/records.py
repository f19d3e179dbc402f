"""The ticket record (its table is written by gateway/storage/tickets_repo.py)."""

from __future__ import annotations

from dataclasses import dataclass, field

from devices.place import Place


@dataclass(slots=True)
class Ticket:
    """A ticket (工单) as stored."""

    id: int
    code: str
    source: str
    category: str
    priority: str
    state: str
    site: str = ""
    building: str = ""
    unit: str = ""
    room: str = ""
    grid: str = ""
    resident_id: str | None = None
    device_id: str | None = None
    title: str = ""
    description: str = ""
    attachments: list[str] = field(default_factory=list)
    assignee: str | None = None
    team: str | None = None
    department: str | None = None
    escalation_level: int = 0
    rating: int | None = None
    result: str | None = None
    reason: str | None = None
    duplicate_of: int | None = None
    alert_count: int = 0
    external_state: str | None = None
    created_at: float = 0.0
    updated_at: float = 0.0
    dispatched_at: float | None = None
    accepted_at: float | None = None
    feedback_at: float | None = None
    closed_at: float | None = None
    escalated_at: float | None = None
    sla_dispatch_due: float | None = None
    sla_accept_due: float | None = None
    sla_resolve_due: float | None = None
    sla_breaches: list[str] = field(default_factory=list)
    dedup_key: str | None = None
    clock_skew_s: float | None = None  # of the device whose urgent event opened it

    @property
    def place(self) -> Place:
        """Where the matter is."""
        return Place.of(self)
