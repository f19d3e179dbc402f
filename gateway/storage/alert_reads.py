"""Alert reads for the API and the family page: filters, open counts, trails, silences."""

from __future__ import annotations

from typing import Any

import orjson

from gateway.storage.base import Reader

ALERT_COLUMNS = ("id", "rule_id", "device_id", "kind", "site", "building", "unit", "grid",
                 "resident_id", "severity", "category", "state", "opened_at", "last_seen",
                 "count", "acked_by", "acked_at", "ack_due", "escalations", "flapping", "muted",
                 "clock_skew_s", "detail")
_FIELDS = ", ".join(ALERT_COLUMNS)
# An alert as the API lists it: with the ticket it opened or joined (if any; the newest), so
# a console links it without having that ticket loaded.
_LISTED = (", ".join(f"a.{c}" for c in ALERT_COLUMNS)
           + ", t.id AS ticket_id, t.code AS ticket_code FROM alerts a"
           " LEFT JOIN ticket_alerts ta ON ta.alert_id = a.id AND ta.ticket_id ="
           " (SELECT max(l.ticket_id) FROM ticket_alerts l WHERE l.alert_id = a.id)"
           " LEFT JOIN tickets t ON t.id = ta.ticket_id")
_SEVERITY_RANK = ("CASE a.severity WHEN 'critical' THEN 0 WHEN 'major' THEN 1 WHEN 'minor' THEN 2"
                  " ELSE 3 END")
# Columns an alert list may be filtered on by equality (names are checked against this).
FILTERABLE = frozenset({"severity", "device_id", "rule_id", "site", "resident_id", "grid"})


class AlertReads:
    """Read-only alert queries (read connections; never wait for the writer)."""

    def __init__(self, store: Reader) -> None:
        self._store = store

    def one(self, alert_id: int) -> dict[str, Any] | None:
        """One alert as the API shows it."""
        rows = self._store.query(f"SELECT {_LISTED} WHERE a.id = ?", (alert_id,))
        return rows[0] if rows else None

    def find(self, *, state: str | None, equal: dict[str, str], limit: int
             ) -> list[dict[str, Any]]:
        """Alerts newest first; `state="open"`: not cleared; `equal`: column → value."""
        where, args = ["1=1"], []
        if state == "open":
            where.append("a.state != 'cleared'")
        elif state:
            where.append("a.state = ?")
            args.append(state)
        for column, value in equal.items():
            if column not in FILTERABLE:
                raise ValueError(f"alerts cannot be filtered on {column!r}")
            where.append(f"a.{column} = ?")
            args.append(value)
        return self._store.query(
            f"SELECT {_LISTED} WHERE {' AND '.join(where)} ORDER BY a.id DESC LIMIT ?",
            (*args, limit))

    def open_counts(self, grid: str | None = None) -> list[dict[str, Any]]:
        """(state, severity, muted, n) over every alert not cleared (optionally one grid)."""
        mine = " AND grid = ?" if grid is not None else ""
        return self._store.query(
            "SELECT state, severity, CASE WHEN muted IS NULL THEN 0 ELSE 1 END AS muted,"
            " count(*) AS n FROM alerts"
            f" WHERE state != 'cleared'{mine} GROUP BY 1, 2, 3",
            (grid,) if grid is not None else ())

    def last_repage(self, alert_id: int) -> float | None:
        """When the alert last paged again after an ack timed out."""
        rows = self._store.query("SELECT max(at) AS at FROM alert_audit WHERE alert_id = ?"
                                 " AND action = 'reescalated'", (alert_id,))
        return rows[0]["at"] if rows else None

    def trail(self, alert_id: int) -> list[dict[str, Any]]:
        """Every transition and comment of an alert, in order."""
        return self._store.query("SELECT at, actor, action, from_state, to_state, note"
                                 " FROM alert_audit WHERE alert_id = ? ORDER BY id", (alert_id,))

    def around(self, device_id: str, category: str | None, at: float, slack_s: float,
               event_type: str | None = None) -> dict[str, Any] | None:
        """The alert (id, state, category, ticket_id) a device's event at `at` opened or
        joined: of `category`, or (None) the one whose event was of `event_type`, else the
        most severe of the device's then (vendor round 9: a lock's forced door, 3 s after its
        duress alarm, was listed with the duress alert)."""
        # The job the event went to: an alert paged again after its job closed has another,
        # linked later.
        which, rank = ((" AND a.category = ?", "") if category is not None
                       else ("", f"{_SEVERITY_RANK}, "))
        rows = self._store.query(
            "SELECT a.id, a.state, a.category, t.ticket_id, a.detail FROM alerts a"
            " LEFT JOIN ticket_alerts t ON t.alert_id = a.id AND t.linked_at <= ?"
            f" WHERE a.device_id = ?{which} AND a.opened_at <= ?"
            " AND (a.cleared_at IS NULL OR a.cleared_at >= ?)"
            f" ORDER BY {rank}a.opened_at DESC, t.ticket_id DESC LIMIT 20",
            (at + slack_s, device_id, *(() if category is None else (category,)),
             at + slack_s, at - slack_s))
        if not rows:
            return None
        chosen = next((r for r in rows if event_type is not None
                       and _event_type(r["detail"]) == event_type), rows[0])
        return {k: v for k, v in chosen.items() if k != "detail"}

    def of_ticket(self, ticket_id: int) -> list[dict[str, Any]]:
        """The alerts linked to a ticket, oldest first."""
        return self._store.query(
            f"SELECT {_FIELDS} FROM alerts WHERE id IN (SELECT alert_id FROM ticket_alerts"
            " WHERE ticket_id = ?) ORDER BY opened_at", (ticket_id,))

    def of_resident(self, resident_id: str, start: float, end: float) -> list[dict[str, Any]]:
        """A resident's alerts opened between `start` and `end`, oldest first."""
        return self._store.query(
            f"SELECT {_FIELDS} FROM alerts WHERE resident_id = ? AND opened_at BETWEEN ? AND ?"
            " ORDER BY opened_at", (resident_id, start, end))

    def live_silences(self, now: float) -> list[dict[str, Any]]:
        """Silences that have not ended."""
        return self._store.query(
            "SELECT id, device_id, rule_id, site, starts_at, expires_at, author, reason"
            " FROM silences WHERE ended_at IS NULL AND expires_at > ? ORDER BY id", (now,))

    def silence_exists(self, silence_id: int) -> bool:
        """Whether a silence (ended or not) exists."""
        return bool(self._store.query("SELECT id FROM silences WHERE id = ?", (silence_id,)))


def _event_type(detail: object) -> object:
    """The type of the event an alert's stored detail names (the row holds JSON text on
    SQLite, a mapping on PostgreSQL)."""
    if isinstance(detail, str | bytes):
        try:
            detail = orjson.loads(detail)
        except orjson.JSONDecodeError:
            return None
    event = detail.get("event") if isinstance(detail, dict) else None
    return event.get("type") if isinstance(event, dict) else None
