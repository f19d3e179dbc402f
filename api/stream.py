"""Live push: alert and ticket changes, sent after commit, filtered per subscriber's role."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from api.alert_detail import shown
from gateway.storage.live_channel import Fanout
from gateway.storage.tx import StoreTx

log = logging.getLogger(__name__)

Event = dict[str, Any]
QUEUE_LIMIT = 1000


@dataclass(eq=False)
class Subscriber:
    """One open WebSocket: its filter, its event loop and its queue."""

    accepts: Callable[[Event], bool]
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[Event] = field(default_factory=lambda: asyncio.Queue(QUEUE_LIMIT))
    dropped: int = 0

    def offer(self, event: Event) -> None:
        """Hand an event to the subscriber's loop (called from the pipeline thread)."""
        if self.accepts(event):
            self.loop.call_soon_threadsafe(self._put, event)

    def _put(self, event: Event) -> None:
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            # A stalled browser must not hold memory without bound; it reloads on reconnect.
            self.dropped += 1


ALERT_FIELDS = ("id", "rule_id", "device_id", "kind", "severity", "category", "state",
                "count", "site", "building", "unit", "grid", "resident_id", "opened_at",
                "last_seen", "muted", "acked_by", "acked_at", "ack_due", "escalations",
                "flapping", "clock_skew_s")
TICKET_FIELDS = ("id", "code", "source", "state", "category", "priority", "title",
                 "description", "site", "building", "unit", "room", "grid", "assignee", "team",
                 "department", "escalation_level", "rating", "result", "resident_id",
                 "device_id", "alert_count", "created_at", "updated_at", "dispatched_at",
                 "accepted_at", "feedback_at", "closed_at", "escalated_at", "sla_dispatch_due",
                 "sla_accept_due", "sla_resolve_due", "sla_breaches")
# Filled in after commit (queries): the wear state of a wristband alert that just opened.
Enricher = Callable[[Event], None]


class Broadcaster:
    """Collects changes during a transaction and publishes them once it committed."""

    def __init__(self, enrich: Enricher | None = None, fanout: Fanout | None = None) -> None:
        self._pending: list[Event] = []
        self._subscribers: set[Subscriber] = set()
        self._lock = threading.Lock()
        self._enrich = enrich
        # Replicas: changes travel through the database to every replica's clients (this
        # one's too), in commit order; see `before_commit` and `deliver`.
        self._fanout = fanout

    def subscribe(self, subscriber: Subscriber) -> None:
        """Start delivering to a subscriber."""
        with self._lock:
            self._subscribers.add(subscriber)

    def unsubscribe(self, subscriber: Subscriber) -> None:
        """Stop delivering to a subscriber."""
        with self._lock:
            self._subscribers.discard(subscriber)

    def count(self) -> int:
        """Open live-stream clients (a metric)."""
        with self._lock:
            return len(self._subscribers)

    def on_alert_change(self, change: Any, tx: Any) -> None:
        """Alert book listener (pipeline thread, inside the transaction)."""
        a = change.alert
        self._pending.append({
            "type": "alert", "action": change.action, "pages": change.pages,
            "resident_id": a.resident_id, "grid": a.grid, "note": change.note or "",
            "at": change.at,
            "alert": {**{k: getattr(a, k) for k in ALERT_FIELDS}, **shown(a.id, a.detail)},
        })

    def on_ticket_change(self, ticket: Any, action: str, tx: Any) -> None:
        """Workflow listener (inside the transaction)."""
        self._pending.append({
            "type": "ticket", "action": action, "resident_id": ticket.resident_id,
            "grid": ticket.grid, "assignee": ticket.assignee,
            "ticket": {k: getattr(ticket, k) for k in TICKET_FIELDS},
        })

    def before_commit(self, tx: StoreTx) -> None:
        """Replicas: hand the transaction's changes to the fan-out, inside it."""
        if self._fanout is not None and self._pending:
            events, self._pending = self._pending, []
            self._fanout.send(tx, _cause_first(events))

    def committed(self) -> None:
        """Publish what the committed transaction changed."""
        if not self._pending:
            return
        events, self._pending = self._pending, []
        for event in _cause_first(events):
            self.deliver(event)

    def deliver(self, event: Event) -> None:
        """Send one committed change to the subscribers that may see it."""
        if self._enrich is not None:
            self._enrich(event)
        with self._lock:
            subscribers = list(self._subscribers)
        for subscriber in subscribers:
            subscriber.offer(event)

    def rolled_back(self) -> None:
        """Forget what a failed transaction would have published."""
        self._pending.clear()


def _cause_first(events: list[Event]) -> list[Event]:
    # The alert first, then the ticket it opened: consoles show the cause before the effect.
    return sorted(events, key=lambda e: e["type"] != "alert")
