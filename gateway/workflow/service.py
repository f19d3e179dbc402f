"""The request workflow: open, route, transition and audit tickets; link alerts; SLAs."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Literal, get_args
from zoneinfo import ZoneInfo

from devices.place import PLACE_FIELDS, Place
from gateway.workflow.alert_jobs import AlertJobs
from gateway.workflow.alert_text import AlertText
from gateway.workflow.config import Catalogue, Department, Priority, Rota, WorkflowSettings
from gateway.workflow.grouping import SYSTEM
from gateway.workflow.ports import TicketStore, Tx
from gateway.workflow.records import Ticket
from gateway.workflow.states import FINAL, SLA_CLOCKS, TransitionError, next_state

log = logging.getLogger(__name__)

Source = Literal["alert", "resident", "reminder", "operator"]
DEPARTMENTS: tuple[str, ...] = get_args(Department)


AckAlert = Callable[[Tx, int, str, float], None]


class WorkflowService:
    """Every ticket change goes through here, inside the caller's transaction."""

    def __init__(self, settings: WorkflowSettings, catalogue: Catalogue, rota: Rota,
                 timezone: str, *, ack_alert: AckAlert | None = None,
                 names: Callable[[str], str | None] | None = None,
                 alert_name: Callable[[Any], str | None] | None = None) -> None:
        self.settings = settings
        self.catalogue = catalogue
        self.rota = rota
        self._tz = ZoneInfo(timezone)
        self._ack_alert = ack_alert
        # Residents' names as the gateway holds them (refreshed every rules tick).
        self._text = AlertText(catalogue, names)
        # What an alert is called (its rule's name in Chinese), for the lines a ticket gets.
        self.alert_name: Callable[[Any], str | None] = alert_name or (lambda alert: None)
        # Called with (ticket, action, tx) inside the transaction of every change.
        self.listeners: list[Callable[[Ticket, str, Tx], None]] = []
        self.alert_jobs = AlertJobs(self, self._text)

    def emit(self, tx: Tx, ticket: Ticket, action: str) -> None:
        """Tell the listeners of a ticket change (inside its transaction)."""
        for listener in self.listeners:
            listener(ticket, action, tx)

    # -- creating ------------------------------------------------------------------------

    def open_ticket(self, tx: Tx, *, source: Source, category: str, now: float,
                    actor: str = SYSTEM, priority: Priority | None = None,
                    place: Place | Mapping[str, str] | None = None, resident_id: str | None = None,
                    device_id: str | None = None, title: str = "", description: str = "",
                    attachments: list[str] | None = None,
                    dedup_key: str | None = None, alert_count: int = 0,
                    clock_skew_s: float | None = None, new_key: bool = False) -> Ticket:
        """Collect a ticket, then route it (dispatch, queue, or hand to 12345); `new_key`:
        the caller knows no ticket holds `dedup_key` yet (it names an alert raised in this
        very transaction)."""
        db = tx.tickets
        if dedup_key is not None and not new_key:
            existing = db.by_dedup_key(dedup_key)
            if existing is not None:
                return existing
        cat = self.catalogue.get(category)
        prio: Priority = priority or cat.priority
        sla = self.catalogue.sla(cat, prio)
        ticket = Ticket(
            id=0, code="", source=source, category=cat.key, priority=prio, state="collected",
            **Place.coerce(place).as_dict(),
            resident_id=resident_id, device_id=device_id, title=title or cat.zh,
            description=description, attachments=list(attachments or []),
            created_at=now, updated_at=now, sla_dispatch_due=now + sla.dispatch_s,
            sla_resolve_due=now + sla.resolve_s, dedup_key=dedup_key,
            alert_count=alert_count, clock_skew_s=clock_skew_s,
        )
        if cat.big_matter:
            # Routing hands it to the 12345 outbox, whose row refers to the ticket's; the
            # transfer writes the row again, the code with it.
            ticket.id = db.insert(ticket)
        else:
            # Routed in memory, then written once: one statement, not an insert and an update.
            ticket.id = db.new_id()
            db.stage(ticket)
        ticket.code = f"GD{datetime.fromtimestamp(now, self._tz):%Y%m%d}-{ticket.id:05d}"
        db.add_event(ticket.id, now, actor, "collect", None, "collected",
                          f"{source}: {ticket.title}")
        if cat.critical:
            self._notify_critical(db, ticket, now)
        routed = self._route(tx, ticket, now)
        db.save_staged()
        self.emit(tx, routed, "opened")
        return routed

    def submit_request(self, tx: Tx, *, category: str, text: str, door_plate: str, now: float,
                       actor: str, resident_id: str | None = None) -> Ticket:
        """A resident's one-tap request (一键提交): the door-plate code resolves the place."""
        row = tx.tickets.door_plate(door_plate)
        if row is None:
            raise LookupError(f"unknown door-plate code {door_plate!r}")
        place = Place(**{f: v or "" for f, v in zip(PLACE_FIELDS, row, strict=True)})
        known = self.catalogue.category_keys()
        if category not in known:
            raise ValueError(f"unknown category {category!r}; known: {known}")
        return self.open_ticket(tx, source="resident", category=category, now=now, actor=actor,
                                place=place, resident_id=resident_id, description=text)

    # -- alerts --------------------------------------------------------------------------

    def on_alert_change(self, change: Any, tx: Tx) -> None:
        """Listener for the alert book: one ticket per alert episode (gateway/workflow/
        alert_jobs.py)."""
        self.alert_jobs.on_alert_change(change, tx)

    # -- transitions ---------------------------------------------------------------------

    def transition(self, tx: Tx, ticket_id: int, action: str, *, actor: str, now: float,
                   note: str = "", assignee: str | None = None, department: str | None = None,
                   rating: int | None = None, result: str | None = None,
                   reason: str | None = None, duplicate_of: int | None = None,
                   facts: dict[str, Any] | None = None, held: Ticket | None = None) -> Ticket:
        """Apply one action; illegal ones raise TransitionError and change nothing (`held`:
        the ticket as this transaction already holds it, instead of reading it again)."""
        db = tx.tickets
        ticket = held if held is not None and held.id == ticket_id else db.get(ticket_id)
        if ticket is None:
            raise LookupError(f"no ticket {ticket_id}")
        to = next_state(ticket_id, action, ticket.state)
        self._check(ticket, action, assignee, department, rating, reason, duplicate_of)
        if action in ("reject", "mark_duplicate"):
            devices = db.alert_devices(ticket_id)
            if len(devices) > 1:
                # A grouped job (a radar's fall and the band's): dismissing it as one false
                # alarm left the band's real fall with no open ticket (red team round 7).
                raise TransitionError(
                    ticket_id, action, ticket.state,
                    f"ticket {ticket_id} holds alerts of {len(devices)} devices "
                    f"({', '.join(devices[:4])}): one may be real — handle it, and close it "
                    "with the result")
        before = ticket.state
        recorded = dict(facts or {})
        if action == "dispatch":  # a re-dispatch is a reassignment: keep who had it
            recorded |= {"assignee": assignee, "previous": ticket.assignee}
        elif action == "escalate":
            recorded["department"] = department or self.catalogue.get(ticket.category).department
        self._apply(db, ticket, action, to, now, assignee=assignee, department=department,
                    rating=rating, result=result, reason=reason, duplicate_of=duplicate_of)
        db.update(ticket)
        db.add_event(ticket.id, now, actor, action, before, to, note, recorded)
        self._after(tx, ticket, action, actor, now)
        self.emit(tx, ticket, action)
        return ticket

    def _check(self, t: Ticket, action: str, assignee: str | None, department: str | None,
               rating: int | None, reason: str | None, duplicate_of: int | None) -> None:
        if action == "dispatch" and not assignee:
            raise TransitionError(t.id, action, t.state, "dispatch needs an assignee")
        if department is not None and department not in DEPARTMENTS:
            raise TransitionError(t.id, action, t.state,
                                  f"unknown department {department!r}; known: {DEPARTMENTS}")
        if action in ("reject", "mark_duplicate") and not reason:
            raise TransitionError(t.id, action, t.state, f"{action} needs a reason")
        if action == "mark_duplicate" and duplicate_of is None:
            raise TransitionError(t.id, action, t.state, "mark_duplicate needs duplicate_of")
        if rating is not None and not 1 <= rating <= 5:
            raise TransitionError(t.id, action, t.state, "rating must be 1..5")
        resident_close = action == "close" and t.source == "resident" and t.state == "feedback"
        if resident_close and rating is None:
            raise TransitionError(t.id, action, t.state,
                                  "closing a resident's request needs a 1-5 satisfaction rating")

    def _apply(self, db: TicketStore, t: Ticket, action: str, to: str, now: float,
               **kw: Any) -> None:
        t.state = to
        t.updated_at = now
        cat = self.catalogue.get(t.category)
        sla = self.catalogue.sla(cat, t.priority)  # type: ignore[arg-type]
        if action == "dispatch":
            t.assignee = kw["assignee"]
            t.team = "grid"
            t.dispatched_at = now
            t.sla_accept_due = now + sla.accept_s
        elif action in ("accept", "department_accept"):
            t.accepted_at = now
        elif action == "report":
            t.result = kw["result"] or t.result
            t.feedback_at = now
        elif action == "close":
            t.closed_at = now
            t.rating = kw["rating"]
        elif action == "escalate":
            t.department = kw["department"] or cat.department
            t.escalated_at = now
            t.sla_accept_due = now + sla.accept_s
        elif action in ("reject", "mark_duplicate"):
            t.reason = kw["reason"]
            t.duplicate_of = kw["duplicate_of"]
            t.closed_at = now

    def _after(self, tx: Tx, t: Ticket, action: str, actor: str, now: float) -> None:
        db = tx.tickets
        if action == "dispatch":
            db.notify(at=now, audience="user", recipient=t.assignee or "",
                           kind="ticket_dispatched", body=f"{t.code} {t.title}", ticket_id=t.id)
        elif action == "escalate":
            db.enqueue(ticket_id=t.id, kind=f"escalation-{t.department}",
                           payload=self._channel_payload(t, "escalation"), now=now)
        elif action == "transfer":
            db.enqueue(ticket_id=t.id, kind="transfer",
                           payload=self._channel_payload(t, "transfer"), now=now)
        elif action == "report" and t.resident_id:
            for user in db.family_of(t.resident_id):
                db.notify(at=now, audience="family", recipient=user,
                               kind="ticket_feedback", body=f"{t.title}: {t.result or ''}",
                               ticket_id=t.id, resident_id=t.resident_id)
        elif (action in ("close", "reject", "mark_duplicate")
              and self.settings.close_acknowledges_alert and self._ack_alert):
            # A rejected or duplicate job is as final as a closed one: its alert left active
            # and unacknowledged took the elder's next real press as a repeat that paged
            # nobody and opened no job (red team round 9). Acknowledged, a press pages again.
            for alert_id in db.alert_ids(t.id):
                self._ack_alert(tx, alert_id, actor, now)

    def assign(self, tx: Tx, ticket_id: int, assignee: str, *, actor: str, now: float,
               note: str = "", other_grid: bool = False) -> Ticket:
        """A person dispatches (or reassigns) a ticket: only to an enabled grid worker of the
        ticket's grid, or of another grid chosen explicitly (AssigneeError otherwise)."""
        from gateway.workflow.assignees import check_assignee

        ticket = tx.tickets.get(ticket_id)
        if ticket is None:
            raise LookupError(f"no ticket {ticket_id}")
        worker_grid = check_assignee(tx.tickets, ticket, assignee, other_grid=other_grid)
        return self.transition(tx, ticket_id, "dispatch", actor=actor, now=now, note=note,
                               assignee=assignee,
                               facts={"grid": worker_grid,
                                      "other_grid": worker_grid != ticket.grid})

    # -- routing -------------------------------------------------------------------------

    def on_duty_workers(self, grid: str, now: float) -> list[str]:
        """Every grid worker the rota has on duty for `grid` at `now`."""
        local = datetime.fromtimestamp(now, UTC).astimezone(self._tz)
        return [s.worker for s in self.rota.grids.get(grid, []) if s.covers(local)]

    def on_duty(self, grid: str, now: float) -> str | None:
        """The grid worker on duty for `grid` at `now`, if any."""
        local = datetime.fromtimestamp(now, UTC).astimezone(self._tz)
        for shift in self.rota.grids.get(grid, []):
            if shift.covers(local):
                return shift.worker
        return None

    def _route(self, tx: Tx, t: Ticket, now: float) -> Ticket:
        """Dispatch, queue or transfer a new ticket; returns it as stored after that."""
        cat = self.catalogue.get(t.category)
        if cat.big_matter:
            self.transition(tx, t.id, "transfer", actor=SYSTEM, now=now, held=t,
                            note="大事统一流转: handed to the 12345 channel")
            moved = tx.tickets.get(t.id)  # the outbox marked its delivery state in the row
            assert moved is not None
            return moved
        worker = self.on_duty(t.grid, now)
        if worker is None:
            t.team = self.rota.control_room
            tx.tickets.update(t)
            tx.tickets.add_event(t.id, now, SYSTEM, "queue", t.state, t.state,
                              f"no grid worker on duty for grid {t.grid or '-'}")
            return t
        return self.transition(tx, t.id, "dispatch", actor=SYSTEM, now=now, assignee=worker,
                               note=f"on duty for grid {t.grid}", held=t)

    def _notify_critical(self, db: TicketStore, t: Ticket, now: float) -> None:
        db.notify(at=now, audience="control_room", recipient=self.rota.control_room,
                       kind="critical_ticket", body=f"{t.title} {t.description}",
                       ticket_id=t.id, resident_id=t.resident_id)
        if t.resident_id:
            for user in db.family_of(t.resident_id):
                db.notify(at=now, audience="family", recipient=user,
                               kind="critical_ticket", body=t.title, ticket_id=t.id,
                               resident_id=t.resident_id)

    def _channel_payload(self, t: Ticket, kind: str) -> dict[str, Any]:
        cat = self.catalogue.get(t.category)
        return {
            "kind": kind, "ticket": t.code, "category": t.category, "category_zh": cat.zh,
            "priority": t.priority, "department": t.department, "title": t.title,
            "description": t.description,
            "place": t.place.as_dict(),
            "created_at": datetime.fromtimestamp(t.created_at, UTC).isoformat(),
        }

    # -- timers --------------------------------------------------------------------------

    def tick(self, now: float, tx: Tx) -> None:
        """Open the tickets whose grace ended, check SLAs (a breach escalates one level, once
        per clock) and open reminders."""
        from gateway.workflow.reminders import open_due_reminders

        self.alert_jobs.open_after_grace(tx, now)
        db = tx.tickets
        for seen in db.open_with_sla():
            if not _breached_clocks(seen, now):
                continue
            # Read again, locked: an operator on another replica may have moved it since.
            t = db.get(seen.id)
            for clock_name in _breached_clocks(t, now) if t is not None else ():
                self._breach(tx, t, clock_name, now)
        open_due_reminders(self, tx, now)

    def _breach(self, tx: Tx, t: Ticket, clock_name: str, now: float) -> None:
        db = tx.tickets
        chain = self.rota.escalation_chain
        t.sla_breaches = [*t.sla_breaches, clock_name]
        t.escalation_level = min(t.escalation_level + 1, len(chain) - 1)
        t.updated_at = now
        db.update(t)
        level = chain[t.escalation_level]
        db.add_event(t.id, now, SYSTEM, "sla_breach", t.state, t.state,
                          f"{clock_name} SLA breached; escalated to {level}",
                          {"clock": clock_name, "level": level})
        db.notify(at=now, audience="role", recipient=level, kind="sla_breach",
                       body=f"{t.code} {t.title}: {clock_name} overdue", ticket_id=t.id)
        self.emit(tx, t, "sla_breach")  # consoles show the breach without a reload
        log.warning("ticket SLA breached", extra={"ticket": t.code, "clock": clock_name,
                                                  "escalated_to": level})


def _breached_clocks(t: Ticket, now: float) -> list[str]:
    """The SLA clocks of a ticket that ran out and were not yet counted as breached."""
    if t.state in FINAL:
        return []
    return [name for name, attr, states in SLA_CLOCKS
            if t.state in states and (due := getattr(t, attr)) is not None and now >= due
            and name not in t.sla_breaches]

