"""Alert records and alert changes (what the workflow subscribes to)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from devices.place import Place
from rules.ports import Tx

AlertState = Literal["active", "acknowledged", "cleared"]
Action = Literal[
    "opened",  # a new alert (pages unless muted)
    "repeated",  # the condition fired again: count and last_seen rose
    "escalated",  # severity rose on a repeat
    "acknowledged",  # an operator took it (ack ≠ clear)
    "reescalated",  # an ack timed out; active again
    "flapping",  # it toggled too often; kept open until it settles
    "muted",  # a silence, an inhibition or the stale gate now covers it
    "unmuted",  # no longer muted: pages now
    "cleared",  # condition stopped holding (system) or an operator cleared it
    "annotated",  # facts added without another firing (a picture sent after the press)
]
PAGING: frozenset[str] = frozenset({"opened", "reescalated", "unmuted", "escalated"})


@dataclass(slots=True)
class Alert:
    """One alert; at most one per (rule, device) is not cleared."""

    id: int
    rule_id: str
    device_id: str
    kind: str
    site: str
    building: str
    unit: str
    grid: str
    resident_id: str | None
    severity: str
    category: str
    state: AlertState
    opened_at: float
    first_seen: float
    last_seen: float
    count: int = 1
    acked_at: float | None = None
    acked_by: str | None = None
    ack_due: float | None = None
    escalations: int = 0
    cleared_at: float | None = None
    cleared_by: str | None = None
    clear_reason: str | None = None
    flapping: bool = False
    clear_due: float | None = None
    muted: str | None = None  # "silence:<id>", "inhibited:<id>", "stale"
    detail: dict[str, Any] = field(default_factory=dict)
    updated_at: float = 0.0
    # Device clock minus gateway clock when the event arrived (urgent events): shown to the
    # operator, because the event paged on receipt whatever its own time said.
    clock_skew_s: float | None = None

    @property
    def place(self) -> Place:
        """Where the alert is about (no room: alerts are raised for devices)."""
        return Place.of(self)

    @property
    def key(self) -> tuple[str, str]:
        """(rule id, device id)."""
        return (self.rule_id, self.device_id)

    def label(self, name: str) -> str | None:
        """A label used by inhibitions' `equal`."""
        return getattr(self, name)


@dataclass(slots=True, frozen=True)
class AlertChange:
    """A transition or update of an alert, delivered inside the transaction that made it."""

    alert: Alert  # a snapshot taken after the change
    action: Action
    actor: str
    at: float
    from_state: AlertState | None
    note: str = ""

    @property
    def pages(self) -> bool:
        """Whether this change should reach a person (new or re-escalated, and not muted)."""
        return self.action in PAGING and self.alert.muted is None and self.alert.state == "active"


Listener = Callable[[AlertChange, Tx], None]

def snapshot(alert: Alert) -> Alert:
    """A copy listeners can keep."""
    return replace(alert, detail=dict(alert.detail))
