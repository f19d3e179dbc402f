"""The request workflow's tables: tickets, their events, alert links, notifications, the 12345
outbox, door plates, and the accounts tickets are assigned to."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

import orjson

from gateway.storage.dialect import SQLITE, Connection, Dialect
from gateway.workflow.records import Ticket

_JSON_COLUMNS = ("attachments", "sla_breaches")
_PRIORITY_RANK = ("CASE priority WHEN 'urgent' THEN 0 WHEN 'high' THEN 1 WHEN 'normal' THEN 2"
                  " ELSE 3 END")
COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(Ticket))
_WRITE = COLUMNS[1:]
_SELECT = f"SELECT {', '.join(COLUMNS)} FROM tickets"
_INSERT = f"INSERT INTO tickets ({', '.join(_WRITE)}) VALUES ({', '.join('?' for _ in _WRITE)})"
INSERT_EVENT = ("INSERT INTO ticket_events (ticket_id, at, actor, action, from_state, to_state,"
                " note, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
_INSERT_WITH_ID = (f"INSERT INTO tickets (id, {', '.join(_WRITE)})"
                   f" VALUES (?, {', '.join('?' for _ in _WRITE)})")
INSERT_LINK = "INSERT INTO ticket_alerts VALUES (?, ?, ?) ON CONFLICT DO NOTHING"
INSERT_NOTIFICATION = ("INSERT INTO notifications (at, audience, recipient, ticket_id, alert_id,"
                       " resident_id, kind, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
_UPDATE = f"UPDATE tickets SET {', '.join(f'{c} = ?' for c in _WRITE)} WHERE id = ?"
OPEN_STATES = ("collected", "dispatched", "handling", "escalated")


def _values(ticket: Ticket) -> list[Any]:
    out = []
    for name in _WRITE:
        value = getattr(ticket, name)
        if name in _JSON_COLUMNS:
            value = orjson.dumps(value).decode()
        out.append(value)
    return out


def _ticket(row: tuple[Any, ...]) -> Ticket:
    ticket = Ticket(*row)
    for name in _JSON_COLUMNS:
        setattr(ticket, name, orjson.loads(getattr(ticket, name)))
    return ticket


@dataclass(frozen=True, slots=True)
class TicketFilter:
    """Which tickets a list shows (every given field must match; `visible_to`: a grid
    worker's grid or own tickets)."""

    state: str | None = None
    category: str | None = None
    assignee: str | None = None
    grid: str | None = None
    visible_to: tuple[str, str] | None = None  # (grid, username)


class SqliteTickets:
    """Workflow reads and writes on one connection (a transaction, or a read snapshot)."""

    def __init__(self, conn: Connection, dialect: Dialect = SQLITE, *,
                 lock_rows: bool = True, event_rows: list[tuple[Any, ...]] | None = None,
                 notification_rows: list[tuple[Any, ...]] | None = None,
                 link_rows: list[tuple[Any, ...]] | None = None) -> None:
        self._conn = conn
        self._dialect = dialect
        self._event_rows = event_rows  # see add_event; None: written at once
        self._notification_rows = notification_rows  # see notify; None: written at once
        self._link_rows = link_rows  # see link_alert; None: written at once
        # New tickets held while they are routed, then written once (see stage); on
        # PostgreSQL they wait for the transaction's end, written together.
        self._new: dict[int, Ticket] = {}
        self._hold = dialect.name == "postgres" and event_rows is not None
        # SQLite has one writer: nothing to lock. PostgreSQL: the row, until commit (not in
        # a read-only snapshot, where nothing is changed and FOR UPDATE is refused).
        self._lock = " FOR UPDATE" if lock_rows and dialect.name == "postgres" else ""

    # -- tickets -------------------------------------------------------------------------

    def insert(self, ticket: Ticket) -> int:
        """A new ticket; returns its id."""
        return self._dialect.insert_id(self._conn, _INSERT, _values(ticket))

    def new_id(self) -> int:
        """The id the next new ticket gets (its code carries it)."""
        if not self._hold:
            self.settle()  # SQLite counts the rows written
        return self._dialect.new_id(self._conn, "tickets")

    def stage(self, ticket: Ticket) -> None:
        """Hold a new ticket (its id from `new_id`) while it is routed: `get`, `update`,
        `by_dedup_key` and `for_alert` work on it in memory, and `save_staged` writes the
        routed ticket as one row instead of an insert and an update (on PostgreSQL at the
        transaction's end, with the others). Any other statement writes it first."""
        if not self._hold:
            self.settle()
        self._new[ticket.id] = ticket

    def save_staged(self) -> None:
        """Write the staged tickets (PostgreSQL: leave them for the transaction's end)."""
        if not self._hold:
            self.settle()

    def settle(self) -> None:
        """Write every new ticket still held (before the rows that refer to them)."""
        if self._new:
            rows = [[t.id, *_values(t)] for t in self._new.values()]
            self._new = {}
            self._conn.executemany(_INSERT_WITH_ID, rows)

    def update(self, ticket: Ticket) -> None:
        """Write every column of an existing ticket."""
        if ticket.id in self._new:
            self._new[ticket.id] = ticket
            return
        self._conn.execute(_UPDATE, [*_values(ticket), ticket.id])

    def get(self, ticket_id: int) -> Ticket | None:
        """One ticket, its row locked until the transaction ends (it is read to be changed:
        two replicas changing one ticket take turns instead of losing an update)."""
        held = self._new.get(ticket_id)
        if held is not None:
            return replace(held, attachments=list(held.attachments),
                           sla_breaches=list(held.sla_breaches))
        row = self._conn.execute(f"{_SELECT} WHERE id = ?{self._lock}",
                                 (ticket_id,)).fetchone()
        return _ticket(row) if row else None

    def by_dedup_key(self, key: str) -> Ticket | None:
        """The ticket created under an idempotency key."""
        for held in self._new.values():
            if held.dedup_key == key:
                return self.get(held.id)
        row = self._conn.execute(f"{_SELECT} WHERE dedup_key = ?", (key,)).fetchone()
        return _ticket(row) if row else None

    def for_alert(self, alert_id: int) -> Ticket | None:
        """The ticket an alert episode is linked to (the newest, when a closed job's alert
        paged again and opened another)."""
        for linked, ticket_id, _ in reversed(self._link_rows or ()):
            if linked == alert_id:  # linked in this transaction, written before its commit
                return self.get(ticket_id)
        # A link already written names a ticket already written: nothing held to settle.
        row = self._conn.execute(
            f"{_SELECT} WHERE id = (SELECT max(ticket_id) FROM ticket_alerts WHERE alert_id = ?)"
            f"{self._lock}", (alert_id,)).fetchone()
        return _ticket(row) if row else None

    def open_for_resident(self, resident_id: str, category: str,
                          since: float) -> Ticket | None:
        """The newest open ticket an alert about the resident opened in the category since
        `since` (its row locked, as `get`)."""
        for held in reversed(self._new.values()):
            if (held.resident_id == resident_id and held.category == category
                    and held.source == "alert" and held.state in OPEN_STATES
                    and held.created_at >= since):
                return self.get(held.id)
        marks = ", ".join("?" for _ in OPEN_STATES)
        row = self._conn.execute(
            f"{_SELECT} WHERE id = (SELECT max(id) FROM tickets WHERE resident_id = ?"
            f" AND created_at >= ? AND category = ? AND source = 'alert'"
            f" AND state IN ({marks})){self._lock}",
            (resident_id, since, category, *OPEN_STATES)).fetchone()
        return _ticket(row) if row else None

    def open_with_sla(self) -> list[Ticket]:
        """Tickets whose SLA clocks may still run."""
        self.settle()
        marks = ", ".join("?" for _ in OPEN_STATES)
        rows = self._conn.execute(f"{_SELECT} WHERE state IN ({marks})", OPEN_STATES)
        return [_ticket(r) for r in rows.fetchall()]

    def select(self, match: TicketFilter, limit: int = 500) -> list[Ticket]:
        """Tickets matching the filter, newest first."""
        self.settle()
        where, args = ["1=1"], []
        for column, value in (("state", match.state), ("category", match.category),
                              ("assignee", match.assignee), ("grid", match.grid)):
            if value:
                where.append(f"{column} = ?")
                args.append(value)
        if match.visible_to is not None:
            where.append("(grid = ? OR assignee = ?)")
            args += list(match.visible_to)
        rows = self._conn.execute(
            f"{_SELECT} WHERE {' AND '.join(where)} ORDER BY id DESC LIMIT ?", (*args, limit))
        return [_ticket(r) for r in rows.fetchall()]

    def column(self, state: str, clocks: tuple[str, ...], now: float, limit: int,
               visible_to: tuple[str, str] | None = None) -> tuple[list[Ticket], int, int]:
        """One board column: its `limit` most urgent tickets (the SLA clock among `clocks`
        that runs out first, breached ones first; no clock: most recently updated), how
        many tickets the column holds and how many of them are overdue."""
        self.settle()
        bad = [c for c in clocks if c not in COLUMNS or not c.startswith("sla_")]
        if bad:
            raise ValueError(f"not SLA clock columns: {bad}")
        # The earliest of the running clocks (a NULL clock is not running), in portable SQL.
        due = ""
        for c in clocks:
            due = c if not due else (f"CASE WHEN {c} IS NULL THEN {due} WHEN {due} IS NULL"
                                     f" THEN {c} WHEN {c} < {due} THEN {c} ELSE {due} END")
        # No clock: a typed NULL (PostgreSQL refuses a bare constant in ORDER BY).
        due = due or "CAST(NULL AS DOUBLE PRECISION)"
        where, args = "state = ?", [state]
        if visible_to is not None:
            where += " AND (grid = ? OR assignee = ?)"
            args += list(visible_to)
        total, overdue = self._conn.execute(
            f"SELECT count(*), coalesce(sum(CASE WHEN {due} <= ? THEN 1 ELSE 0 END), 0)"
            f" FROM tickets WHERE {where}",
            (now, *args)).fetchone()
        if limit <= 0:
            return [], int(total), int(overdue)
        # Without a clock the order is the index's (state, updated_at), read backwards: the
        # newest N of a column that only grows (closed) without sorting all of it.
        # Urgent work first, then by the clock: a flood of overdue everyday requests must not
        # push an SOS off the column (red team round 4).
        order = (f"{_PRIORITY_RANK}, ({due}) IS NULL, {due}, updated_at DESC, id" if clocks
                 else "updated_at DESC, id DESC")
        rows = self._conn.execute(
            f"{_SELECT} WHERE {where} ORDER BY {order} LIMIT ?", (*args, limit)).fetchall()
        return [_ticket(r) for r in rows], int(total), int(overdue)

    def open_counts_by_assignee(self, states: tuple[str, ...]) -> dict[str, int]:
        """How many tickets in `states` each assignee holds."""
        self.settle()
        marks = ", ".join("?" for _ in states)
        return dict(self._conn.execute(
            f"SELECT assignee, count(*) FROM tickets WHERE state IN ({marks})"
            " AND assignee IS NOT NULL GROUP BY assignee", states).fetchall())

    def set_external_state(self, ticket_id: int, state: str, at: float | None = None) -> None:
        """Where the ticket stands with the 12345 channel."""
        self.settle()
        if at is None:
            self._conn.execute("UPDATE tickets SET external_state = ? WHERE id = ?",
                               (state, ticket_id))
        else:
            self._conn.execute("UPDATE tickets SET external_state = ?, updated_at = ?"
                               " WHERE id = ?", (state, at, ticket_id))

    # -- events, links, notifications ----------------------------------------------------

    def add_event(self, ticket_id: int, at: float, actor: str, action: str,
                  from_state: str | None, to_state: str, note: str = "",
                  detail: dict[str, Any] | None = None) -> None:
        """Audit one transition or update (who, when, what, note, structured facts); written
        with the transaction's other events in one statement before its commit (the trail
        is read only after the commit)."""
        row = (ticket_id, at, actor, action, from_state, to_state, note,
               orjson.dumps(detail or {}).decode())
        if self._event_rows is not None:
            self._event_rows.append(row)
        else:
            self._conn.execute(INSERT_EVENT, row)

    def events(self, ticket_id: int) -> list[dict[str, Any]]:
        """A ticket's audit trail, oldest first (this transaction's events included)."""
        self.settle()
        if self._event_rows:
            self._conn.executemany(INSERT_EVENT, self._event_rows)
            self._event_rows.clear()
        cur = self._conn.execute(
            "SELECT at, actor, action, from_state, to_state, note, detail FROM ticket_events"
            " WHERE ticket_id = ? ORDER BY id", (ticket_id,))
        cols = [d[0] for d in cur.description]
        out = [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]
        for event in out:
            event["detail"] = orjson.loads(event["detail"] or "{}")
        return out

    def link_alert(self, alert_id: int, ticket_id: int, at: float) -> None:
        """An alert episode belongs to a ticket (once); written with the transaction's other
        links before its commit (`for_alert` and `alert_ids` see it before)."""
        if self._link_rows is not None:
            self._link_rows.append((alert_id, ticket_id, at))
        else:
            self.settle()
            self._conn.execute(INSERT_LINK, (alert_id, ticket_id, at))

    def alert_devices(self, ticket_id: int) -> list[str]:
        """The devices whose alerts are linked to a ticket, each once."""
        self._write_links()
        return [r[0] for r in self._conn.execute(
            "SELECT DISTINCT a.device_id FROM ticket_alerts ta JOIN alerts a"
            " ON a.id = ta.alert_id WHERE ta.ticket_id = ? ORDER BY a.device_id",
            (ticket_id,)).fetchall()]

    def _write_links(self) -> None:
        """Write the links held for the commit (and the new tickets they refer to) now."""
        self.settle()
        if self._link_rows:
            self._conn.executemany(INSERT_LINK, self._link_rows)
            self._link_rows.clear()

    def alert_ids(self, ticket_id: int) -> list[int]:
        """The alerts linked to a ticket."""
        self._write_links()
        return [r[0] for r in self._conn.execute(
            "SELECT alert_id FROM ticket_alerts WHERE ticket_id = ?", (ticket_id,)).fetchall()]

    def notify(self, *, at: float, audience: str, recipient: str, kind: str, body: str,
               ticket_id: int | None = None, alert_id: int | None = None,
               resident_id: str | None = None) -> None:
        """Record a notification for a person or queue (the live stream delivers it); written
        with the transaction's others in one statement before its commit (nothing reads
        them before)."""
        row = (at, audience, recipient, ticket_id, alert_id, resident_id, kind, body)
        if self._notification_rows is not None:
            self._notification_rows.append(row)
        else:
            self._conn.execute(INSERT_NOTIFICATION, row)

    def family_of(self, resident_id: str) -> list[str]:
        """Usernames of the family accounts linked to a resident."""
        return [r[0] for r in self._conn.execute(
            "SELECT username FROM family_links WHERE resident_id = ? ORDER BY username",
            (resident_id,)).fetchall()]

    def resident_name(self, resident_id: str) -> str | None:
        """A resident's name, if on file."""
        row = self._conn.execute("SELECT name FROM residents WHERE id = ?",
                                 (resident_id,)).fetchone()
        return row[0] if row and row[0] else None

    def door_plate(self, code: str) -> tuple[str, str, str, str, str] | None:
        """(site, building, unit, room, grid) of a door-plate code."""
        row = self._conn.execute(
            "SELECT site, building, unit, room, grid FROM door_plates WHERE code = ?",
            (code,)).fetchone()
        return tuple(row) if row else None  # type: ignore[return-value]

    # -- assignees -----------------------------------------------------------------------

    def account(self, username: str) -> tuple[str, str | None, bool] | None:
        """(role, grid, disabled) of an account."""
        row = self._conn.execute("SELECT role, grid, disabled FROM users WHERE username = ?",
                                 (username,)).fetchone()
        return (row[0], row[1], bool(row[2])) if row else None

    def grid_workers(self) -> list[tuple[str, str, str]]:
        """(username, display name, grid) of every enabled grid worker."""
        return [(u, n, g or "") for u, n, g in self._conn.execute(
            "SELECT username, display_name, grid FROM users WHERE role = 'grid_worker'"
            " AND disabled = 0").fetchall()]

    # -- the 12345 outbox ----------------------------------------------------------------

    def enqueue(self, *, ticket_id: int, kind: str, payload: dict[str, Any],
                now: float) -> None:
        """Queue a delivery; its key makes a retry of the caller harmless."""
        self.settle()
        key = f"scgw-ticket-{ticket_id}-{kind}"
        self._conn.execute(
            "INSERT INTO outbox (ticket_id, kind, idempotency_key, payload, state,"
            " next_attempt_at, created_at) VALUES (?, ?, ?, ?, 'pending', ?, ?)"
            " ON CONFLICT (idempotency_key) DO NOTHING",
            (ticket_id, kind, key, orjson.dumps(payload).decode(), now, now))
        self.set_external_state(ticket_id, "pending")

    def due_deliveries(self, now: float, limit: int = 100) -> list[dict[str, Any]]:
        """Pending deliveries whose next attempt is due."""
        cur = self._conn.execute(
            "SELECT id, ticket_id, kind, idempotency_key, payload, attempts FROM outbox"
            " WHERE state = 'pending' AND next_attempt_at <= ? ORDER BY id LIMIT ?",
            (now, limit))
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]

    def delivered(self, outbox_id: int, now: float) -> None:
        """A delivery the channel accepted."""
        self._conn.execute(
            "UPDATE outbox SET state = 'delivered', attempts = attempts + 1, delivered_at = ?,"
            " last_error = NULL WHERE id = ?", (now, outbox_id))

    def attempt_failed(self, outbox_id: int, *, attempts: int, error: str, retry_at: float,
                       final: bool) -> None:
        """A delivery the channel refused: retried at `retry_at`, or given up."""
        self._conn.execute(
            "UPDATE outbox SET attempts = ?, last_error = ?, next_attempt_at = ?, state = ?"
            " WHERE id = ?", (attempts, error[:500], retry_at,
                              "failed" if final else "pending", outbox_id))
