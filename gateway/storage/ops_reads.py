"""Aggregate reads for the operational metrics (alerts, tickets, outbox, commands, refusals)."""

from __future__ import annotations

from typing import Any

from gateway.storage.base import Reader

# One query per series family; each returns (labels…, value) rows. They run at scrape time on
# small tables (open alerts, tickets) or on indexed ones.
_QUERIES: dict[str, str] = {
    "open_alerts": "SELECT severity, kind, count(*) FROM alerts WHERE state != 'cleared'"
                   " GROUP BY severity, kind",
    "oldest_open_alert": "SELECT severity, ? - min(opened_at) FROM alerts"
                         " WHERE state != 'cleared' GROUP BY severity",
    "alert_transitions": "SELECT action, count(*) FROM alert_audit GROUP BY action",
    "tickets": "SELECT state, priority, count(*) FROM tickets GROUP BY state, priority",
    "sla_breaches": "SELECT j.value, count(*) FROM tickets, {breaches}"
                    " GROUP BY j.value",
    "escalations": "SELECT count(*) FROM ticket_events WHERE action = 'escalate'"
                   " OR action LIKE 'sla_%'",
    "outbox": "SELECT state, count(*) FROM outbox GROUP BY state",
    "outbox_failures": "SELECT coalesce(sum(attempts), 0) - count(*) FROM outbox"
                       " WHERE attempts > 0",
    "commands": "SELECT state, name, count(*) FROM commands GROUP BY state, name",
    "online": "SELECT d.kind, d.site, COALESCE(SUM(t.online), 0), COUNT(*) FROM devices d"
              " LEFT JOIN twins t ON t.device_id = d.id WHERE d.status = 'active'"
              " GROUP BY d.kind, d.site",
    "dead_letters": "SELECT d.reason, coalesce(v.vendor, ''), count(*) FROM dead_letters d"
                    " LEFT JOIN devices v ON v.id = d.device_id GROUP BY d.reason, v.vendor",
}


class OpsReads:
    """The aggregates the operational metrics are made of."""

    def __init__(self, store: Reader) -> None:
        self._store = store

    def online_by_kind_site(self) -> list[tuple[str, str, int, int]]:
        """(kind, site, online, registered) of the active devices, from the stored twins."""
        return [(k, s, int(o), int(t)) for k, s, o, t in self.read("online", 0.0)]

    def read(self, name: str, now: float) -> list[tuple[Any, ...]]:
        """Rows of one aggregate."""
        sql = _QUERIES[name].replace(
            "{breaches}", self._store.dialect.json_items("tickets.sla_breaches", "j"))
        args = (now,) if "?" in sql else ()
        return [tuple(r.values()) for r in self._store.query(sql, args)]
