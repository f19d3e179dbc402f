"""Ticket states and the one table of legal transitions (收集 → 派发 → 处置 → 反馈 → 办结)."""

from __future__ import annotations

from typing import Literal

State = Literal[
    "collected", "dispatched", "handling", "feedback", "closed",
    "escalated", "transferred", "rejected", "duplicate",
]
Action = Literal[
    "dispatch", "accept", "report", "close", "reopen", "escalate", "department_accept",
    "transfer", "reject", "mark_duplicate",
]
STATES: tuple[State, ...] = (
    "collected", "dispatched", "handling", "feedback", "closed",
    "escalated", "transferred", "rejected", "duplicate",
)
FINAL: frozenset[State] = frozenset({"closed", "rejected", "duplicate"})
# The SLA clocks: (name, the ticket's due-time field, the states in which it runs). The
# workflow's tick breaches them; the console shows the one that runs out first.
SLA_CLOCKS: tuple[tuple[str, str, tuple[State, ...]], ...] = (
    ("dispatch", "sla_dispatch_due", ("collected",)),
    ("accept", "sla_accept_due", ("dispatched", "escalated")),
    ("resolve", "sla_resolve_due", ("collected", "dispatched", "handling", "escalated")),
)

# (action, from state) → to state. Everything not listed is refused.
TRANSITIONS: dict[tuple[Action, State], State] = {
    ("dispatch", "collected"): "dispatched",
    ("dispatch", "dispatched"): "dispatched",  # re-assign
    ("accept", "dispatched"): "handling",
    ("report", "handling"): "feedback",
    ("close", "feedback"): "closed",
    ("close", "transferred"): "closed",  # the 12345 channel reported it done
    ("reopen", "feedback"): "handling",  # resident not satisfied with the result
    ("escalate", "collected"): "escalated",
    ("escalate", "dispatched"): "escalated",
    ("escalate", "handling"): "escalated",
    ("department_accept", "escalated"): "handling",
    ("transfer", "collected"): "transferred",
    ("transfer", "dispatched"): "transferred",
    ("transfer", "handling"): "transferred",
    ("transfer", "escalated"): "transferred",
    ("reject", "collected"): "rejected",
    ("reject", "dispatched"): "rejected",
    ("mark_duplicate", "collected"): "duplicate",
    ("mark_duplicate", "dispatched"): "duplicate",
}
ACTIONS: tuple[Action, ...] = tuple(dict.fromkeys(a for a, _ in TRANSITIONS))


class TransitionError(ValueError):
    """An action the ticket's state does not allow, or one missing what it needs."""

    def __init__(self, ticket_id: int, action: str, state: str, why: str = "") -> None:
        allowed = sorted(a for (a, s) in TRANSITIONS if s == state)
        text = why or f"cannot {action} a ticket that is {state}; allowed: {allowed or 'none'}"
        super().__init__(f"ticket {ticket_id}: {text}")
        self.ticket_id = ticket_id
        self.action = action
        self.state = state


def next_state(ticket_id: int, action: str, state: str) -> State:
    """The state `action` leads to from `state`, or TransitionError."""
    to = TRANSITIONS.get((action, state))  # type: ignore[call-overload]
    if to is None:
        raise TransitionError(ticket_id, action, state)
    return to
