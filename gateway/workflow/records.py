"""Ticket records and their SQL: one dataclass mirrors the `tickets` table."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field, fields
from typing import Any

import orjson

_JSON_COLUMNS = ("attachments", "sla_breaches")


@dataclass(slots=True)
class Ticket:
    """A ticket (工单) as stored."""

    id: int
    code: str
    source: str
    category: str
    priority: str
    state: str
    site: str = ""
    building: str = ""
    unit: str = ""
    room: str = ""
    grid: str = ""
    resident_id: str | None = None
    device_id: str | None = None
    title: str = ""
    description: str = ""
    attachments: list[str] = field(default_factory=list)
    assignee: str | None = None
    team: str | None = None
    department: str | None = None
    escalation_level: int = 0
    rating: int | None = None
    result: str | None = None
    reason: str | None = None
    duplicate_of: int | None = None
    alert_count: int = 0
    external_state: str | None = None
    created_at: float = 0.0
    updated_at: float = 0.0
    dispatched_at: float | None = None
    accepted_at: float | None = None
    feedback_at: float | None = None
    closed_at: float | None = None
    escalated_at: float | None = None
    sla_dispatch_due: float | None = None
    sla_accept_due: float | None = None
    sla_resolve_due: float | None = None
    sla_breaches: list[str] = field(default_factory=list)
    dedup_key: str | None = None
    clock_skew_s: float | None = None  # of the device whose urgent event opened it


COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(Ticket))
_WRITE = COLUMNS[1:]
_SELECT = f"SELECT {', '.join(COLUMNS)} FROM tickets"


def _values(ticket: Ticket) -> list[Any]:
    out = []
    for name in _WRITE:
        value = getattr(ticket, name)
        if name in _JSON_COLUMNS:
            value = orjson.dumps(value).decode()
        out.append(value)
    return out


def from_row(row: tuple[Any, ...]) -> Ticket:
    """A ticket from a `SELECT <COLUMNS>` row."""
    ticket = Ticket(*row)
    for name in _JSON_COLUMNS:
        setattr(ticket, name, orjson.loads(getattr(ticket, name)))
    return ticket


def insert(conn: sqlite3.Connection, ticket: Ticket) -> int:
    """Insert; returns the new id."""
    sql = f"INSERT INTO tickets ({', '.join(_WRITE)}) VALUES ({', '.join('?' for _ in _WRITE)})"
    return int(conn.execute(sql, _values(ticket)).lastrowid or 0)


def update(conn: sqlite3.Connection, ticket: Ticket) -> None:
    """Write every column of an existing ticket."""
    sql = f"UPDATE tickets SET {', '.join(f'{c} = ?' for c in _WRITE)} WHERE id = ?"
    conn.execute(sql, [*_values(ticket), ticket.id])


def get(conn: sqlite3.Connection, ticket_id: int) -> Ticket | None:
    """One ticket by id."""
    row = conn.execute(f"{_SELECT} WHERE id = ?", (ticket_id,)).fetchone()
    return from_row(row) if row else None


def by_dedup_key(conn: sqlite3.Connection, key: str) -> Ticket | None:
    """The ticket created under an idempotency key."""
    row = conn.execute(f"{_SELECT} WHERE dedup_key = ?", (key,)).fetchone()
    return from_row(row) if row else None


def for_alert(conn: sqlite3.Connection, alert_id: int) -> Ticket | None:
    """The ticket an alert episode is linked to."""
    row = conn.execute(
        f"{_SELECT} WHERE id = (SELECT ticket_id FROM ticket_alerts WHERE alert_id = ?)",
        (alert_id,),
    ).fetchone()
    return from_row(row) if row else None


def open_with_sla(conn: sqlite3.Connection) -> list[Ticket]:
    """Tickets whose SLA clocks may still run."""
    rows = conn.execute(
        f"{_SELECT} WHERE state IN ('collected', 'dispatched', 'handling', 'escalated')"
    ).fetchall()
    return [from_row(r) for r in rows]


def select(conn: sqlite3.Connection, where: str = "1=1", args: tuple[Any, ...] = (),
           limit: int = 500) -> list[Ticket]:
    """Tickets matching a WHERE clause written by our own code (never user text)."""
    rows = conn.execute(
        f"{_SELECT} WHERE {where} ORDER BY id DESC LIMIT ?", (*args, limit)
    ).fetchall()
    return [from_row(r) for r in rows]


def add_event(conn: sqlite3.Connection, ticket_id: int, at: float, actor: str, action: str,
              from_state: str | None, to_state: str, note: str = "",
              detail: dict[str, Any] | None = None) -> None:
    """Audit one transition or update (who, when, what, note, structured facts)."""
    conn.execute(
        "INSERT INTO ticket_events (ticket_id, at, actor, action, from_state, to_state, note,"
        " detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (ticket_id, at, actor, action, from_state, to_state, note,
         orjson.dumps(detail or {}).decode()),
    )


def events(conn: sqlite3.Connection, ticket_id: int) -> list[dict[str, Any]]:
    """A ticket's audit trail, oldest first."""
    cur = conn.execute(
        "SELECT at, actor, action, from_state, to_state, note, detail FROM ticket_events "
        "WHERE ticket_id = ? ORDER BY id", (ticket_id,),
    )
    cols = [d[0] for d in cur.description]
    out = [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]
    for event in out:
        event["detail"] = orjson.loads(event["detail"] or "{}")
    return out


def latest_notes(db: Any, ticket_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Per ticket, the latest note a person wrote on a dispatch, escalation or comment (what
    the grid worker must read: "请立即到仁和游园查看杨德福"). `db` has the store's `query`."""
    out: dict[int, dict[str, Any]] = {}
    for start in range(0, len(ticket_ids), 500):
        chunk = tuple(ticket_ids[start:start + 500])
        marks = ", ".join("?" for _ in chunk)
        for row in db.query(
            "SELECT ticket_id, at, actor, action, note FROM ticket_events WHERE ticket_id IN"
            f" ({marks}) AND note != '' AND actor != 'system'"
            " AND action IN ('dispatch', 'escalate', 'comment', 'transfer') ORDER BY id",
            chunk):
            out[row["ticket_id"]] = row
    return out


def alert_rules(db: Any, ticket_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """Per ticket, the alerts linked to it (id, rule, device, kind, category, opened_at)."""
    out: dict[int, list[dict[str, Any]]] = {}
    for start in range(0, len(ticket_ids), 500):
        chunk = tuple(ticket_ids[start:start + 500])
        marks = ", ".join("?" for _ in chunk)
        for row in db.query(
            "SELECT ta.ticket_id, a.id, a.rule_id, a.device_id, a.kind, a.category,"
            " a.opened_at FROM ticket_alerts ta JOIN alerts a ON a.id = ta.alert_id"
            f" WHERE ta.ticket_id IN ({marks}) ORDER BY a.id", chunk):
            out.setdefault(row.pop("ticket_id"), []).append(row)
    return out


def notify(conn: sqlite3.Connection, *, at: float, audience: str, recipient: str, kind: str,
           body: str, ticket_id: int | None = None, alert_id: int | None = None,
           resident_id: str | None = None) -> None:
    """Record a notification for a person or queue (the live stream delivers it)."""
    conn.execute(
        "INSERT INTO notifications (at, audience, recipient, ticket_id, alert_id, resident_id,"
        " kind, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (at, audience, recipient, ticket_id, alert_id, resident_id, kind, body),
    )


def family_of(conn: sqlite3.Connection, resident_id: str) -> list[str]:
    """Usernames of the family accounts linked to a resident."""
    rows = conn.execute(
        "SELECT username FROM family_links WHERE resident_id = ? ORDER BY username",
        (resident_id,),
    ).fetchall()
    return [r[0] for r in rows]
