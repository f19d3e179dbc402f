"""A ticket as people read it: SLA time left, names instead of ids, the note written for the
worker, the rule in words; the detail view's timeline, alerts, place and dispatch choices."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request, status

from api.access import linked_residents
from api.deps import GatewayDep, IdPath, Staff, StaffOrGrid
from api.personal import Audit
from api.schemas import (
    AlertPublic,
    AssigneeCandidate,
    TicketDetail,
    TicketEvent,
    TicketPublic,
)
from gateway.storage.alert_reads import AlertReads
from gateway.storage.context_reads import fix_near, names
from gateway.storage.ticket_reads import TicketReads
from gateway.users import User
from gateway.workflow.assignees import candidates
from gateway.workflow.places import PlaceInWords, site_geometry
from gateway.workflow.records import Ticket
from gateway.workflow.states import SLA_CLOCKS

router = APIRouter(prefix="/tickets", tags=["tickets"])

_RAW = frozenset(TicketPublic.model_fields) & frozenset(Ticket.__dataclass_fields__)


def visible(gw: Any, user: User, t: Ticket) -> bool:
    """Staff see every ticket; a grid worker its grid's and its own; a family its elders'."""
    if user.role in ("admin", "operator"):
        return True
    if user.role == "grid_worker":
        return t.grid == user.grid or t.assignee == user.username
    if user.role == "family":
        return t.resident_id is not None and t.resident_id in linked_residents(gw, user)
    return False


def load(gw: Any, user: User, ticket_id: int) -> Ticket:
    """A ticket the user may see, or 404."""
    with gw.store.snapshot() as snap:
        ticket = snap.tickets.get(ticket_id)
    if ticket is None or not visible(gw, user, ticket):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such ticket")
    return ticket


def _sla(t: Ticket, now: float) -> tuple[str | None, float | None]:
    """The running SLA clock that runs out first (breached ones included)."""
    running = [(getattr(t, attr), name) for name, attr, states in SLA_CLOCKS
               if t.state in states and getattr(t, attr) is not None]
    if not running:
        return None, None
    due, name = min(running)
    return name, due


def present(request: Request, gw: Any, tickets: list[Ticket]) -> list[TicketPublic]:
    """Tickets with what a card shows: SLA, escalation, names, latest note, rule name."""
    return [TicketPublic(**body) for body in card_bodies(request, gw, tickets)]


def card_bodies(request: Request, gw: Any, tickets: list[Ticket]) -> list[dict[str, Any]]:
    """`present` as the JSON-ready bodies the model would give (every field of
    TicketPublic): the board sends hundreds at each poll without building models."""
    if not tickets:
        return []
    db = gw.store
    ids = [t.id for t in tickets]
    people = names(db, "residents", {t.resident_id or "" for t in tickets})
    accounts = names(db, "users", {t.assignee or "" for t in tickets})
    reads = TicketReads(db)
    notes = reads.latest_notes(ids)
    linked = reads.alert_rules(ids)
    alerts_view = request.app.state.alert_views
    known = alerts_view.prefetch([found[0] for found in linked.values() if found])
    chain = gw.workflow.rota.escalation_chain
    catalogue = gw.workflow.catalogue
    now = gw.clock.time()
    out = []
    for t in tickets:
        clock, due = _sla(t, now)
        cat = catalogue.get(t.category)
        note = notes.get(t.id)
        first = _headline(linked.get(t.id) or [])
        rule = alerts_view.name_of(first["rule_id"], detail=first["detail"]) if first else None
        body = {k: getattr(t, k) for k in _RAW}
        body.update(
            sla_breaches=list(t.sla_breaches), sla_clock=clock, sla_due=due,
            overdue=due is not None and now >= due,
            escalated_to=chain[min(t.escalation_level, len(chain) - 1)]
            if t.escalation_level > 0 and chain else None,
            category_zh=cat.zh, category_en=cat.en,
            resident_name=people.get(t.resident_id or ""),
            assignee_name=accounts.get(t.assignee or ""),
            note=note["note"] if note else None, note_by=note["actor"] if note else None,
            note_at=note["at"] if note else None,
            alert_ids=[a["id"] for a in linked.get(t.id, [])], attachments=list(t.attachments),
            rule_name_zh=rule[0] if rule else None, rule_name_en=rule[1] if rule else None,
            worn=alerts_view.worn(first, known=known) if first else None)
        out.append(body)
    return out


def _place(gw: Any, t: Ticket, opened_at: float | None, auditor: Any) -> PlaceInWords | None:
    geo = site_geometry(gw.settings.api.sitemap_file)
    if geo is None:
        return None
    place: PlaceInWords | None = None
    device = gw.registry.get(t.device_id) if t.device_id else None
    if device is not None and device.kind == "wristband" and t.resident_id:
        fix = fix_near(gw.store, device.id, opened_at or t.created_at)
        if fix is not None:
            place = geo.describe(fix, from_fix=True)
            # A place derived from the wearer's position is their location: audited.
            auditor.disclosed("ticket_place", [t.resident_id], device_id=device.id,
                              detail=f"ticket {t.code}")
    if place is None and t.device_id and (at := geo.device_at(t.device_id)) is not None:
        place = geo.describe(at)
    if place is None and t.building and (at := geo.building_centre(t.building)) is not None:
        place = geo.describe(at, unit=t.unit)
    return place


def _alerts(request: Request, rows: list[dict[str, Any]]) -> list[AlertPublic]:
    present_alert = request.app.state.alert_views.public
    return [present_alert(r) for r in rows]


@router.get("/{ticket_id}", response_model=TicketDetail)
def get_ticket(ticket_id: IdPath, request: Request, gw: GatewayDep, user: StaffOrGrid,
               auditor: Audit) -> TicketDetail:
    """A ticket with its timeline (each transition, who, when, notes, structured facts), the
    alert(s) that opened it, the same resident's other alerts around then, and where to go.

    For the control room and grid workers: the timeline holds staff notes and the place in
    words. A family follows its elder's tickets on the family page (`/family/…`), which
    shows the steps meant for them."""
    ticket = load(gw, user, ticket_id)
    with gw.store.snapshot() as snap:
        trail = snap.tickets.events(ticket_id)
    actors = names(gw.store, "users", {e["actor"] for e in trail})
    reads = AlertReads(gw.store)
    linked = _alerts(request, reads.of_ticket(ticket_id))
    related: list[AlertPublic] = []
    if ticket.resident_id:
        window = gw.settings.api.incident_window_s
        start = min([a.opened_at for a in linked] or [ticket.created_at])
        related = [a for a in _alerts(request, reads.of_resident(
            ticket.resident_id, start - window, start + window))
            if a.id not in {x.id for x in linked}]
    public = present(request, gw, [ticket])[0]
    return TicketDetail(
        **public.model_dump(),
        events=[TicketEvent(**e, actor_name=actors.get(e["actor"], "")) for e in trail],
        alerts=linked, related=related,
        place=_place(gw, ticket, linked[0].opened_at if linked else None, auditor),
        rule_names=[a.name_zh for a in linked if a.name_zh])


@router.get("/{ticket_id}/assignees", response_model=list[AssigneeCandidate])
def assignees(ticket_id: IdPath, gw: GatewayDep, user: Staff) -> list[AssigneeCandidate]:
    """Who the ticket may be dispatched to: its grid's workers (on duty by the rota first),
    then the other grids' (dispatching to those needs `other_grid`)."""
    ticket = load(gw, user, ticket_id)
    with gw.store.snapshot() as snap:
        found = candidates(snap.tickets, gw.workflow, ticket, gw.clock.time())
    return [AssigneeCandidate(username=c.username, name=c.name, grid=c.grid,
                              on_duty=c.on_duty, same_grid=c.same_grid,
                              open_tickets=c.open_tickets) for c in found]


_SEVERITY = {"critical": 0, "major": 1, "minor": 2, "info": 3}


def _headline(alerts: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The alert a ticket card is named by: its most severe, the earliest of those (vendor
    round 9: a duress that joined a forced door's ticket was named 门被强行打开)."""
    if not alerts:
        return None
    return min(alerts, key=lambda a: (_SEVERITY.get(a["severity"], 4), a["opened_at"]))
