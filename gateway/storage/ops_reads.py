"""Aggregate reads for the operational metrics (alerts, tickets, outbox, commands, refusals)."""

from __future__ import annotations

from typing import Any

from gateway.storage.sqlite import SqliteStore

# One query per series family; each returns (labels…, value) rows. They run at scrape time on
# small tables (open alerts, tickets) or on indexed ones.
_QUERIES: dict[str, str] = {
    "open_alerts": "SELECT severity, kind, count(*) FROM alerts WHERE state != 'cleared'"
                   " GROUP BY severity, kind",
    "oldest_open_alert": "SELECT severity, ? - min(opened_at) FROM alerts"
                         " WHERE state != 'cleared' GROUP BY severity",
    "alert_transitions": "SELECT action, count(*) FROM alert_audit GROUP BY action",
    "tickets": "SELECT state, priority, count(*) FROM tickets GROUP BY state, priority",
    "sla_breaches": "SELECT j.value, count(*) FROM tickets, json_each(tickets.sla_breaches) AS j"
                    " GROUP BY j.value",
    "escalations": "SELECT count(*) FROM ticket_events WHERE action = 'escalate'"
                   " OR action LIKE 'sla_%'",
    "outbox": "SELECT state, count(*) FROM outbox GROUP BY state",
    "outbox_failures": "SELECT coalesce(sum(attempts), 0) - count(*) FROM outbox"
                       " WHERE attempts > 0",
    "commands": "SELECT state, name, count(*) FROM commands GROUP BY state, name",
    "dead_letters": "SELECT d.reason, coalesce(v.vendor, ''), count(*) FROM dead_letters d"
                    " LEFT JOIN devices v ON v.id = d.device_id GROUP BY d.reason, v.vendor",
}


class OpsReads:
    """The aggregates the operational metrics are made of."""

    def __init__(self, store: SqliteStore) -> None:
        self._store = store

    def read(self, name: str, now: float) -> list[tuple[Any, ...]]:
        """Rows of one aggregate."""
        sql = _QUERIES[name]
        args = (now,) if "?" in sql else ()
        return [tuple(r.values()) for r in self._store.query(sql, args)]
