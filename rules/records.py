"""Alert records, alert changes (what the workflow subscribes to), and their SQL."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from typing import Any, Literal

import orjson

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

COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(Alert))
_WRITE_COLUMNS = COLUMNS[1:]
INSERT_ALERT = (
    f"INSERT INTO alerts ({', '.join(_WRITE_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in _WRITE_COLUMNS)})"
)
UPDATE_ALERT = (
    f"UPDATE alerts SET {', '.join(f'{c} = ?' for c in _WRITE_COLUMNS)} WHERE id = ?"
)
INSERT_AUDIT = (
    "INSERT INTO alert_audit (alert_id, at, actor, action, from_state, to_state, note) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)


def _values(alert: Alert) -> list[Any]:
    values = []
    for name in _WRITE_COLUMNS:
        value = getattr(alert, name)
        if name == "detail":
            value = orjson.dumps(value).decode()
        elif name == "flapping":
            value = int(value)
        values.append(value)
    return values


def insert(conn: sqlite3.Connection, alert: Alert) -> int:
    """Insert a new alert; returns its id."""
    cur = conn.execute(INSERT_ALERT, _values(alert))
    return int(cur.lastrowid or 0)


def update(conn: sqlite3.Connection, alert: Alert) -> None:
    """Write every column of an existing alert."""
    conn.execute(UPDATE_ALERT, [*_values(alert), alert.id])


def audit(conn: sqlite3.Connection, change: AlertChange) -> None:
    """Record a transition with its actor and time."""
    conn.execute(INSERT_AUDIT, (change.alert.id, change.at, change.actor, change.action,
                                change.from_state, change.alert.state, change.note))


def from_row(row: tuple[Any, ...]) -> Alert:
    """An alert from a `SELECT <COLUMNS>` row."""
    alert = Alert(*row)
    alert.detail = orjson.loads(alert.detail) if isinstance(alert.detail, str) else {}
    alert.flapping = bool(alert.flapping)
    return alert


def load_open(conn: sqlite3.Connection) -> list[Alert]:
    """Every alert that is not cleared."""
    rows = conn.execute(
        f"SELECT {', '.join(COLUMNS)} FROM alerts WHERE state != 'cleared'"
    ).fetchall()
    return [from_row(r) for r in rows]


def openings_since(conn: sqlite3.Connection, rule_id: str, device_id: str, since: float) -> int:
    """How many alerts of (rule, device) opened at or after `since` (flap detection)."""
    row = conn.execute(
        "SELECT COUNT(*) FROM alerts WHERE rule_id = ? AND device_id = ? AND opened_at >= ?",
        (rule_id, device_id, since),
    ).fetchone()
    return int(row[0])


def snapshot(alert: Alert) -> Alert:
    """A copy listeners can keep."""
    return replace(alert, detail=dict(alert.detail))
