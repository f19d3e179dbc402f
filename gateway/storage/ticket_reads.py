"""Ticket facts the console's lists and cards show, read on read-only connections."""

from __future__ import annotations

from typing import Any

from gateway.storage.base import Reader


class TicketReads:
    """Ticket facts for lists and cards, on read-only connections."""

    def __init__(self, store: Reader) -> None:
        self._store = store

    def latest_notes(self, ticket_ids: list[int]) -> dict[int, dict[str, Any]]:
        """Per ticket, the latest note a person wrote on a dispatch, escalation, comment or
        transfer (what the grid worker must read)."""
        out: dict[int, dict[str, Any]] = {}
        for chunk, marks in _chunks(ticket_ids):
            for row in self._store.query(
                    "SELECT ticket_id, at, actor, action, note FROM ticket_events WHERE"
                    f" ticket_id IN ({marks}) AND note != '' AND actor != 'system'"
                    " AND action IN ('dispatch', 'escalate', 'comment', 'transfer') ORDER BY id",
                    chunk):
                out[row["ticket_id"]] = row
        return out

    def alert_rules(self, ticket_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
        """Per ticket, the alerts linked to it (id, rule, device, kind, category, severity,
        opened_at, detail), oldest first."""
        out: dict[int, list[dict[str, Any]]] = {}
        for chunk, marks in _chunks(ticket_ids):
            for row in self._store.query(
                    "SELECT ta.ticket_id, a.id, a.rule_id, a.device_id, a.kind, a.category,"
                    " a.severity, a.opened_at, a.detail"
                    " FROM ticket_alerts ta JOIN alerts a ON a.id = ta.alert_id"
                    f" WHERE ta.ticket_id IN ({marks}) ORDER BY a.id", chunk):
                out.setdefault(row.pop("ticket_id"), []).append(row)
        return out


def _chunks(ids: list[int], size: int = 500) -> list[tuple[tuple[int, ...], str]]:
    return [(tuple(ids[i:i + size]), ", ".join("?" for _ in ids[i:i + size]))
            for i in range(0, len(ids), size)]
