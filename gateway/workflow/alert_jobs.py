"""Alerts become jobs: one ticket per alert episode, opened at once or after its severity's
grace, joined to a resident's open job, updated on repeats, and a new one when an alert pages
again after its job was closed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gateway.workflow.alert_text import AlertText, restate, snapshot_ref
from gateway.workflow.grouping import SEVERITY_PRIORITY, SYSTEM, join_group
from gateway.workflow.ports import Tx
from gateway.workflow.records import Ticket
from gateway.workflow.states import FINAL

if TYPE_CHECKING:
    from gateway.workflow.service import WorkflowService

# How far another replica's clock may run ahead of this one's when it opens a ticket at the
# end of an alert's grace (the replicas warn past 1 s: docs/operations.md).
GRACE_SKEW_S = 60.0


class AlertJobs:
    """The alert book's listener on the workflow's side."""

    def __init__(self, service: WorkflowService, text: AlertText) -> None:
        self._service = service
        self._text = text

    def on_alert_change(self, change: Any, tx: Tx) -> None:
        """Listener for the alert book: one ticket per alert episode, updated on repeats."""
        alert = change.alert
        db = tx.tickets
        grace = self._service.settings.ticket_grace_s.get(alert.severity, 0.0)
        # No need to look for the ticket of an alert raised in this very transaction, nor of
        # one still well within its grace: a ticket is opened only once the grace is over
        # (by this replica's clock or, `GRACE_SKEW_S` earlier, by the timers' holder's).
        # A flapping minor alert clears and repeats many times before that.
        within_grace = change.at < alert.opened_at + grace - GRACE_SKEW_S
        ticket = None if change.action == "opened" or within_grace else db.for_alert(alert.id)
        if ticket is not None and ticket.state in FINAL and change.pages:
            # Pressed again (or unacknowledged past its timeout) after its job was closed:
            # a line on the closed ticket sent nobody. The same alert episode gets a new job.
            follow = self._open(tx, alert, change.at, after=ticket)
            db.add_event(ticket.id, change.at, SYSTEM, "alert_reopened", ticket.state,
                         ticket.state, f"alert {alert.id} paged again: ticket {follow.code}")
            return
        if ticket is None:
            if not change.pages:
                return
            if change.at < alert.opened_at + grace:
                return  # `tick` opens it if the alert is still open when the grace ends
            self._open(tx, alert, change.at, new=change.action == "opened")
            return
        if change.action in ("repeated", "escalated", "reescalated", "annotated"):
            # A ticket several alerts joined (see workflow/grouping.py) keeps the highest count.
            ticket.alert_count = max(ticket.alert_count, alert.count)
            ticket.updated_at = change.at
            if not restate(self._text, db, ticket, alert) and change.action == "annotated":
                return  # the same picture again: nothing for the ticket's trail (red team)
            db.update(ticket)
            db.add_event(ticket.id, change.at, SYSTEM, f"alert_{change.action}",
                         ticket.state, ticket.state, f"alert {alert.id} count {alert.count}")
            self._service.emit(tx, ticket, "alert_repeated")
        elif change.action in ("cleared", "acknowledged"):
            # Noted only: a cleared alert never closes a ticket a person is handling.
            db.add_event(ticket.id, change.at, change.actor, f"alert_{change.action}",
                         ticket.state, ticket.state, change.note or "")

    def _open(self, tx: Tx, alert: Any, now: float, new: bool = False,
              after: Ticket | None = None) -> Ticket:
        """The alert's job: an open one of its resident it joins, or a new one (`after`: the
        alert's closed job, which the new one follows)."""
        db = tx.tickets
        grouped = join_group(tx, alert, now, self._service.settings.group_window_s,
                             self._service.alert_name(alert))
        if grouped is not None:
            self._service.emit(tx, grouped, "alert_repeated")
            return grouped
        text = self._text(db, alert)
        if after is not None:
            text = f"{text}；再次报警，前一工单 {after.code} 已办结"
        ticket = self._service.open_ticket(
            tx, source="alert", category=alert.category, now=now,
            priority=SEVERITY_PRIORITY.get(alert.severity, "normal"),
            place=alert.place,
            resident_id=alert.resident_id, device_id=alert.device_id,
            description=text,
            dedup_key=f"alert-{alert.id}" if after is None else f"alert-{alert.id}-{after.id}",
            attachments=[s for s in [snapshot_ref(alert)] if s],
            alert_count=alert.count, clock_skew_s=alert.clock_skew_s, new_key=new,
        )
        db.link_alert(alert.id, ticket.id, now)
        return ticket

    def open_after_grace(self, tx: Tx, now: float, limit: int = 500) -> int:
        """Open the tickets of alerts still open when their severity's grace ended; returns
        how many (at most `limit` a tick, oldest first, so a backlog spreads over ticks)."""
        opened = 0
        for severity, grace in self._service.settings.ticket_grace_s.items():
            if grace <= 0:
                continue
            for alert in tx.alerts.awaiting_ticket(severity, now - grace, limit - opened):
                self._open(tx, alert, now)
                opened += 1
        return opened
