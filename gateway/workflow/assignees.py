"""Who may take a ticket: the grid workers of its grid (on duty first), or of another grid
chosen explicitly; anyone else is refused with a reason a person can act on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gateway.workflow.ports import TicketStore
    from gateway.workflow.records import Ticket
    from gateway.workflow.service import WorkflowService

OPEN_STATES = ("dispatched", "handling", "escalated")


class AssigneeError(ValueError):
    """A dispatch to an account that may not take this ticket (unknown, not a grid worker,
    disabled, or of another grid without saying so)."""


@dataclass(frozen=True, slots=True)
class Candidate:
    """A grid worker the dispatch form offers."""

    username: str
    name: str
    grid: str
    on_duty: bool
    same_grid: bool
    open_tickets: int


def check_assignee(db: TicketStore, ticket: Ticket, assignee: str, *,
                   other_grid: bool) -> str:
    """The assignee's grid, if they may take the ticket; AssigneeError (zh first) if not."""
    row = db.account(assignee)
    if row is None:
        raise AssigneeError(f"“{assignee}”不是系统中的账号，请从网格员列表中选择"
                            f" (no account {assignee!r}; choose a grid worker)")
    role, grid, disabled = row
    if role != "grid_worker":
        raise AssigneeError(f"“{assignee}”不是网格员账号，工单只能派给网格员"
                            f" ({assignee!r} is a {role} account, not a grid worker)")
    if disabled:
        raise AssigneeError(f"网格员“{assignee}”的账号已停用"
                            f" (grid worker {assignee!r} is disabled)")
    if ticket.grid and grid != ticket.grid and not other_grid:
        raise AssigneeError(
            f"“{assignee}”负责{grid}，不是本工单的网格 {ticket.grid}；跨网格派发请明确选择其他网格"
            f" ({assignee!r} works grid {grid}, not {ticket.grid}: set other_grid to send it"
            " across grids)")
    return str(grid or "")


def candidates(db: TicketStore, service: WorkflowService, ticket: Ticket, now: float) -> list[
        Candidate]:
    """Enabled grid workers: the ticket's grid first, on duty (by the rota) before off duty,
    then the least busy."""
    busy = db.open_counts_by_assignee(OPEN_STATES)
    rows = db.grid_workers()
    duty: dict[str, list[str]] = {}
    out = []
    for username, name, grid in rows:
        grid = grid or ""
        if grid not in duty:
            duty[grid] = service.on_duty_workers(grid, now)
        out.append(Candidate(username=username, name=name or username, grid=grid,
                             on_duty=username in duty[grid],
                             same_grid=bool(ticket.grid) and grid == ticket.grid,
                             open_tickets=int(busy.get(username, 0))))
    out.sort(key=lambda c: (not c.same_grid, not c.on_duty, c.open_tickets, c.grid, c.username))
    return out
