"""Alerts about one resident that are one job: a fall seen by the band, by the band's
no-movement rule and by the bathroom radar goes to one ticket (vendor round 6: three urgent
tickets for one fall)."""

from __future__ import annotations

from typing import Any, get_args

from gateway.workflow.alert_text import attach
from gateway.workflow.config import Priority
from gateway.workflow.ports import Tx
from gateway.workflow.records import Ticket

SEVERITY_PRIORITY: dict[str, Priority] = {
    "critical": "urgent", "major": "high", "minor": "normal", "info": "low",
}
_PRIORITY_RANK: tuple[Priority, ...] = get_args(Priority)  # most urgent first
SYSTEM = "system"  # the actor of what the gateway does by itself


def join_group(tx: Tx, alert: Any, now: float, window_s: float,
               name: str | None = None) -> Ticket | None:
    """The open ticket another alert about the same resident and category opened within
    `window_s`, with this alert (called `name`) linked to it; None: the alert needs a ticket
    of its own (no resident, grouping off, nothing to join, or an alert more urgent than the
    ticket, whose SLA is shorter)."""
    if window_s <= 0 or not alert.resident_id:
        return None
    db = tx.tickets
    ticket = db.open_for_resident(alert.resident_id, alert.category, now - window_s)
    if ticket is None:
        return None
    priority = SEVERITY_PRIORITY.get(alert.severity, "normal")
    if _PRIORITY_RANK.index(priority) < _PRIORITY_RANK.index(ticket.priority):
        return None
    db.link_alert(alert.id, ticket.id, now)
    ticket.alert_count += alert.count
    ticket.updated_at = now
    # What it is, by name: a duress that joined a forced door's ticket read as a second
    # sensor of the door (vendor round 9).
    what = f"（{name}）" if name else ""
    seen = f"另一报警 {alert.id}{what}：设备 {alert.device_id}"
    ticket.description = f"{ticket.description}；{seen}"[:2000]
    attach(ticket, alert)
    db.update(ticket)
    db.add_event(ticket.id, now, SYSTEM, "alert_grouped", ticket.state, ticket.state,
                 f"alert {alert.id} ({alert.rule_id}, device {alert.device_id})")
    return ticket
