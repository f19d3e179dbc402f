"""Tickets: list and board, create, resident requests, transitions (the detail view is in
`ticket_detail`)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from pydantic import BaseModel, Field

from api.access import linked_residents
from api.deps import CurrentUser, GatewayDep, IdPath, Staff, StaffOrGrid
from api.routes.ticket_detail import card_bodies, load, present
from api.schemas import (
    CommentBody,
    RequestCreate,
    TicketCreate,
    TicketPublic,
    TransitionBody,
)
from api.shared_reads import shared_json
from gateway.storage.tickets_repo import TicketFilter
from gateway.workflow.records import Ticket
from gateway.workflow.states import FINAL, SLA_CLOCKS, STATES, TransitionError

router = APIRouter(prefix="/tickets", tags=["tickets"])

GRID_WORKER_ACTIONS = frozenset({"accept", "report", "escalate"})


class Rating(BaseModel):
    """A resident's or family's satisfaction with a finished ticket."""

    rating: int = Field(ge=1, le=5)
    note: str = Field("", max_length=1000)


def _public(request: Request, gw: Any, t: Ticket) -> TicketPublic:
    return present(request, gw, [t])[0]


_load = load


def _run(gw: Any, name: str, fn: Any) -> Any:
    """Workflow changes run on the pipeline thread, like every other state change."""
    try:
        return gw.pipeline.call(name, fn, gw.clock.time())
    except TransitionError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    except LookupError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc


@router.get("", response_model=list[TicketPublic])
def list_tickets(
    request: Request, gw: GatewayDep, user: StaffOrGrid,
    state: Annotated[str | None, Query(pattern="^[a-z_]+$")] = None,
    category: str | None = None, assignee: str | None = None, grid: str | None = None,
    limit: Annotated[int, Query(ge=1, le=2000)] = 200,
) -> list[TicketPublic]:
    """Tickets, newest first; a grid worker sees its grid's and its own."""
    match = TicketFilter(state=state, category=category, assignee=assignee, grid=grid,
                         visible_to=(user.grid or "", user.username)
                         if user.role == "grid_worker" else None)
    with gw.store.snapshot() as snap:
        found = snap.tickets.select(match, limit)
    return present(request, gw, found)


@router.get("/board", response_model=dict[str, list[TicketPublic]])
def board(
    request: Request, gw: GatewayDep, user: StaffOrGrid,
    per_state: Annotated[int, Query(ge=1, le=1000)] = 200,
    final_per_state: Annotated[int, Query(ge=0, le=1000)] = 30,
) -> Response:
    """The console's kanban: for each state its `per_state` most urgent tickets — by
    priority (urgent first), then breached SLAs, then the least time left, then the most
    recently updated — and for the final
    states (closed, rejected, duplicate) the `final_per_state` most recent. Every ticket is
    counted, shown or not: the `X-Board-Totals` header is a JSON object
    `{state: [tickets, overdue]}` over the whole column."""
    mine = (user.grid or "", user.username) if user.role == "grid_worker" else None

    def build() -> tuple[bytes, dict[str, str]]:
        now = gw.clock.time()
        columns: dict[str, list[Ticket]] = {}
        totals: dict[str, list[int]] = {}
        with gw.store.snapshot() as snap:  # one snapshot: the counts match the cards
            for state in STATES:
                clocks = tuple(attr for _, attr, states in SLA_CLOCKS if state in states)
                limit = final_per_state if state in FINAL else per_state
                found, total, overdue = snap.tickets.column(state, clocks, now, limit, mine)
                columns[state] = found
                totals[state] = [total, overdue]
        cards = iter(card_bodies(request, gw, [t for found in columns.values() for t in found]))
        out = {state: [next(cards) for _ in found] for state, found in columns.items()}
        # Sent as built (tests/api check the cards against TicketPublic): the console polls
        # the board every few seconds, and building and dumping hundreds of models was half
        # its cost.
        return orjson.dumps(out), {"X-Board-Totals": json.dumps(totals, separators=(",", ":"))}

    # Every console reloads the board when a ticket changes: asked together, built once.
    return shared_json(request, user, build)


@router.post("", response_model=TicketPublic, status_code=status.HTTP_201_CREATED)
def create_ticket(body: TicketCreate, request: Request, gw: GatewayDep,
                  user: Staff) -> TicketPublic:
    """An operator opens a ticket by hand."""
    if body.category not in gw.workflow.catalogue.category_keys():
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            f"unknown category {body.category!r}")
    ticket = _run(gw, "ticket_create", lambda now, tx: gw.workflow.open_ticket(
        tx, source="operator", category=body.category, now=now, actor=user.username,
        priority=body.priority, place=body.place, resident_id=body.resident_id, title=body.title,
        description=body.description))
    return _public(request, gw, ticket)


@router.post("/requests", response_model=TicketPublic, status_code=status.HTTP_201_CREATED)
def submit_request(body: RequestCreate, request: Request, gw: GatewayDep,
                   user: CurrentUser) -> TicketPublic:
    """A resident's request (一键提交); families file for their own elder only."""
    if user.role not in ("admin", "operator", "family"):
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"role {user.role} may not do this")
    if user.role == "family":
        if body.resident_id not in linked_residents(gw, user):
            raise HTTPException(status.HTTP_404_NOT_FOUND, "no such elder")
        catalogue = gw.workflow.catalogue
        # Not the critical ones either (a falling object paged the critical chain from any
        # plate): a resident on the spot reports those on the plate page, a family calls.
        allowed = [c for c in gw.settings.plates.categories
                   if c in catalogue.category_keys() and not catalogue.get(c).critical]
        if body.category not in allowed:
            # Alarms (SOS, falls, fire) come from devices or 110/119/120, as on the plate page.
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                                f"a family may file {allowed}; for an emergency call 110/120/"
                                "119 (an alarm comes from the elder's band)")
        limits = request.app.state.request_limits
        wait, window, most = limits.retry_after(user.username)
        if wait > 0:
            raise HTTPException(
                status.HTTP_429_TOO_MANY_REQUESTS,
                f"at most {most} requests per {window} s from one account; try again in "
                f"{wait:.0f} s", headers={"Retry-After": str(max(1, round(wait)))})
        limits.hit(user.username)
    ticket = _run(gw, "ticket_request", lambda now, tx: gw.workflow.submit_request(
        tx, category=body.category, text=body.text, door_plate=body.door_plate, now=now,
        actor=user.username, resident_id=body.resident_id))
    return _public(request, gw, ticket)


@router.post("/{ticket_id}/transitions", response_model=TicketPublic)
def transition(ticket_id: IdPath, body: TransitionBody, request: Request, gw: GatewayDep,
               user: StaffOrGrid) -> TicketPublic:
    """Dispatch, accept, report, close, escalate, transfer, reject, … (see docs/workflow.md).

    A dispatch (or reassignment) goes only to an enabled grid worker of the ticket's grid, or
    of another grid with `other_grid: true`; anyone else is refused with 422 and the reason.
    """
    ticket = _load(gw, user, ticket_id)
    if user.role == "grid_worker" and (
        body.action not in GRID_WORKER_ACTIONS or ticket.assignee != user.username
    ):
        raise HTTPException(status.HTTP_403_FORBIDDEN,
                            "grid workers accept, report and escalate their own tickets")
    if body.action == "dispatch":
        if not body.assignee:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                                "派发需要选择网格员 (dispatch needs an assignee)")
        assignee = body.assignee
        updated = _run(gw, "ticket_dispatch", lambda now, tx: gw.workflow.assign(
            tx, ticket_id, assignee, actor=user.username, now=now, note=body.note,
            other_grid=body.other_grid))
        return _public(request, gw, updated)
    kw = body.model_dump(exclude={"action", "note", "other_grid"})
    updated = _run(gw, "ticket_transition", lambda now, tx: gw.workflow.transition(
        tx, ticket_id, body.action, actor=user.username, now=now, note=body.note, **kw))
    return _public(request, gw, updated)


@router.post("/{ticket_id}/satisfaction", response_model=TicketPublic)
def satisfaction(ticket_id: IdPath, body: Rating, request: Request, gw: GatewayDep,
                 user: CurrentUser) -> TicketPublic:
    """Rate the outcome and close (the resident's family, or staff on their behalf). A family
    rates only a result the community reported (state `feedback`): a ticket still being
    handled, or handed to the 12345 channel, is not the family's to close."""
    if user.role not in ("admin", "operator", "family"):
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"role {user.role} may not do this")
    ticket = _load(gw, user, ticket_id)
    if user.role == "family" and ticket.state != "feedback":
        raise HTTPException(status.HTTP_409_CONFLICT,
                            "社区尚未反馈处理结果，暂不能评价 (nothing reported yet to rate)")
    updated = _run(gw, "ticket_rating", lambda now, tx: gw.workflow.transition(
        tx, ticket_id, "close", actor=user.username, now=now, note=body.note,
        rating=body.rating))
    return _public(request, gw, updated)


@router.post("/{ticket_id}/comments", status_code=status.HTTP_201_CREATED)
def comment(ticket_id: IdPath, body: CommentBody, gw: GatewayDep, user: StaffOrGrid) -> dict:
    """Add a comment to the ticket's audit trail."""
    ticket = _load(gw, user, ticket_id)
    gw.pipeline.call("ticket_comment", lambda now, tx: tx.tickets.add_event(
        ticket_id, now, user.username, "comment", ticket.state, ticket.state, body.text),
        gw.clock.time())
    return {"ticket_id": ticket_id, "comment": body.text}
