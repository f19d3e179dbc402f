"""The rules engine's tables behind its repository protocols (rules/ports.py): alerts and
their audit, silences, rule state and rule switches."""

from __future__ import annotations

from dataclasses import fields, replace
from typing import Any

import orjson

from gateway.storage.dialect import SQLITE, Connection, Dialect
from gateway.storage.replicas_repo import select_in
from rules.muting import Silence
from rules.records import Alert, AlertChange

_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(Alert))
_WRITE = _COLUMNS[1:]
_INSERT_ALERT = (f"INSERT INTO alerts ({', '.join(_WRITE)}) "
                 f"VALUES ({', '.join('?' for _ in _WRITE)})")
_INSERT_ALERT_WITH_ID = (f"INSERT INTO alerts (id, {', '.join(_WRITE)}) "
                         f"VALUES (?, {', '.join('?' for _ in _WRITE)})")
_UPDATE_ALERT = f"UPDATE alerts SET {', '.join(f'{c} = ?' for c in _WRITE)} WHERE id = ?"
INSERT_AUDIT = ("INSERT INTO alert_audit (alert_id, at, actor, action, from_state, to_state,"
                 " note) VALUES (?, ?, ?, ?, ?, ?, ?)")
_SILENCE_COLUMNS = ("id", "device_id", "rule_id", "site", "starts_at", "expires_at", "author",
                    "reason")
_UPSERT_STATE = (
    "INSERT INTO rule_state (rule_id, device_id, data, due, updated_at) VALUES (?, ?, ?, ?, ?)"
    " ON CONFLICT (rule_id, device_id) DO UPDATE SET data = excluded.data,"
    " due = excluded.due, updated_at = excluded.updated_at")
_DELETE_STATE = "DELETE FROM rule_state WHERE rule_id = ? AND device_id = ?"


def _values(alert: Alert) -> list[Any]:
    values = []
    for name in _WRITE:
        value = getattr(alert, name)
        if name == "detail":
            value = orjson.dumps(value).decode()
        elif name == "flapping":
            value = int(value)
        values.append(value)
    return values


def alert_from_row(row: tuple[Any, ...]) -> Alert:
    """An alert from a row of every column, in the dataclass's order."""
    alert = Alert(*row)
    alert.detail = orjson.loads(alert.detail) if isinstance(alert.detail, str) else {}
    alert.flapping = bool(alert.flapping)
    return alert


class SqliteAlerts:
    """`alerts` and `alert_audit` in one transaction."""

    def __init__(self, conn: Connection, audit_rows: list[tuple[Any, ...]] | None = None,
                 dialect: Dialect = SQLITE) -> None:
        self._conn = conn
        self._dialect = dialect
        # Audit rows wait here for the transaction's end, written in one statement (they are
        # read only after the commit); None: written at once.
        self._audit_rows = audit_rows
        # PostgreSQL, in a write transaction: a new alert takes its id from the sequence and
        # its row waits with the others for the transaction's end (one statement, not a
        # round trip each); until then this repository answers for it from here, and any
        # other statement on `alerts` writes the waiting rows first.
        self._defer = dialect.name == "postgres" and audit_rows is not None
        self._new: dict[int, Alert] = {}
        # Likewise the new values of existing alerts (a clear, an ack, a repeat), by id: the
        # clear of every flapping reading was a round trip of its own.
        self._changed: dict[int, list[Any]] = {}

    def save_new(self) -> None:
        """Write the changes of existing alerts waiting, then the new alerts, as they stand
        (before their audit rows). Changes first: a new episode may follow the clear of the
        last one, and only one alert of a rule and device may be open."""
        if self._changed:
            changed = list(self._changed.values())
            self._changed = {}
            self._conn.executemany(_UPDATE_ALERT, changed)
        if self._new:
            rows = [[a.id, *_values(a)] for a in self._new.values()]
            self._new = {}
            self._conn.executemany(_INSERT_ALERT_WITH_ID, rows)

    def load_open(self) -> list[Alert]:
        """Every alert that is not cleared."""
        self.save_new()
        rows = self._conn.execute(
            f"SELECT {', '.join(_COLUMNS)} FROM alerts WHERE state != 'cleared'").fetchall()
        return [alert_from_row(r) for r in rows]

    def load_open_for(self, device_ids: list[str]) -> list[Alert]:
        """The open alerts of some devices (a replica revalidating its cache)."""
        self.save_new()
        rows = select_in(self._conn, f"SELECT {', '.join(_COLUMNS)} FROM alerts"
                         " WHERE state != 'cleared' AND device_id IN {ids}", device_ids)
        return [alert_from_row(r) for r in rows]

    def device_of(self, alert_id: int) -> str | None:
        """The device an alert is about, if the alert exists."""
        if alert_id in self._new:
            return self._new[alert_id].device_id
        row = self._conn.execute("SELECT device_id FROM alerts WHERE id = ?",
                                 (alert_id,)).fetchone()
        return str(row[0]) if row else None

    def timer_devices(self, now: float) -> list[str]:
        """Devices with an open alert whose ack timeout or settle-down clear is due."""
        self.save_new()
        rows = self._conn.execute(
            "SELECT DISTINCT device_id FROM alerts WHERE state != 'cleared'"
            " AND (ack_due <= ? OR clear_due <= ?)", (now, now)).fetchall()
        return [str(r[0]) for r in rows]

    def open_devices(self, rule_id: str) -> list[str]:
        """The devices with an open alert of a rule."""
        self.save_new()
        rows = self._conn.execute("SELECT DISTINCT device_id FROM alerts WHERE rule_id = ?"
                                  " AND state != 'cleared'", (rule_id,)).fetchall()
        return [str(r[0]) for r in rows]

    def system_devices(self) -> list[str]:
        """The stand-in devices (a building, the gateway) of open system alerts."""
        self.save_new()
        rows = self._conn.execute("SELECT DISTINCT device_id FROM alerts WHERE state !="
                                  " 'cleared' AND rule_id LIKE 'system.%'").fetchall()
        return [str(r[0]) for r in rows]

    def awaiting_ticket(self, severity: str, opened_before: float, limit: int) -> list[Alert]:
        """Open, unmuted alerts of `severity` raised before `opened_before` that no ticket is
        linked to, oldest first (the workflow's ticket grace)."""
        self.save_new()
        rows = self._conn.execute(
            f"SELECT {', '.join(_COLUMNS)} FROM alerts a WHERE state != 'cleared'"
            " AND muted IS NULL AND severity = ? AND opened_at <= ? AND NOT EXISTS"
            " (SELECT 1 FROM ticket_alerts l WHERE l.alert_id = a.id)"
            " ORDER BY opened_at LIMIT ?", (severity, opened_before, limit)).fetchall()
        return [alert_from_row(r) for r in rows]

    def insert(self, alert: Alert) -> int:
        """A new alert; returns its id."""
        if not self._defer:
            return self._dialect.insert_id(self._conn, _INSERT_ALERT, _values(alert))
        alert_id = self._dialect.new_id(self._conn, "alerts")
        self._new[alert_id] = replace(alert, id=alert_id, detail=dict(alert.detail))
        return alert_id

    def update(self, alert: Alert) -> None:
        """Write every column of an existing alert."""
        if alert.id in self._new:  # not written yet: it will be, as it stands now
            self._new[alert.id] = replace(alert, detail=dict(alert.detail))
        elif self._defer:
            self._changed[alert.id] = [*_values(alert), alert.id]
        else:
            self._conn.execute(_UPDATE_ALERT, [*_values(alert), alert.id])

    def update_many(self, alerts: list[Alert]) -> None:
        """Write several alerts at once (the coalesced alert path)."""
        written = []
        for alert in alerts:
            if alert.id in self._new:
                self._new[alert.id] = replace(alert, detail=dict(alert.detail))
            elif self._defer:
                self._changed[alert.id] = [*_values(alert), alert.id]
            else:
                written.append([*_values(alert), alert.id])
        if written:
            self._conn.executemany(_UPDATE_ALERT, written)

    def audit(self, change: AlertChange) -> None:
        """Record a transition with its actor and time."""
        row = (change.alert.id, change.at, change.actor, change.action, change.from_state,
               change.alert.state, change.note)
        if self._audit_rows is not None:
            self._audit_rows.append(row)
        else:
            self._conn.execute(INSERT_AUDIT, row)

    def comment(self, alert_id: int, at: float, actor: str, state: str, note: str) -> None:
        """A comment in the alert's trail (the state does not change)."""
        self.save_new()
        self._conn.execute(INSERT_AUDIT, (alert_id, at, actor, "comment", state, state, note))

    def openings_since(self, rule_id: str, device_id: str, since: float) -> int:
        """How many alerts of (rule, device) opened at or after `since` and paged (flap
        detection: an alarm shown muted because it was reported late paged nobody)."""
        row = self._conn.execute(
            "SELECT COUNT(*) FROM alerts WHERE rule_id = ? AND device_id = ? AND opened_at >= ?"
            " AND (muted IS NULL OR muted <> 'stale')",
            (rule_id, device_id, since)).fetchone()
        waiting = sum(1 for a in self._new.values() if a.rule_id == rule_id
                      and a.device_id == device_id and a.opened_at >= since
                      and a.muted != "stale")
        return int(row[0]) + waiting


class SqliteSilences:
    """`silences`."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def active(self, now: float) -> list[Silence]:
        """Silences neither ended nor expired."""
        rows = self._conn.execute(
            f"SELECT {', '.join(_SILENCE_COLUMNS)} FROM silences"
            " WHERE ended_at IS NULL AND expires_at > ?", (now,)).fetchall()
        return [Silence(*row) for row in rows]

    def add(self, *, device_id: str | None, rule_id: str | None, site: str | None,
            starts_at: float, expires_at: float, author: str, reason: str,
            now: float) -> int:
        """A new silence; returns its id."""
        cur = self._conn.execute(
            "INSERT INTO silences (device_id, rule_id, site, starts_at, expires_at, author, "
            "reason, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (device_id, rule_id, site, starts_at, expires_at, author, reason, now))
        return int(cur.fetchone()[0])

    def end(self, silence_id: int, actor: str, at: float) -> None:
        """Mark a silence ended (by a person, or `expiry`)."""
        self._conn.execute("UPDATE silences SET ended_at = ?, ended_by = ? WHERE id = ?",
                           (at, actor, silence_id))


class SqliteRuleState:
    """`rule_state`, `rule_switches` and `rule_thresholds`."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def load(self) -> list[tuple[str, str, dict[str, Any], float | None]]:
        """(rule_id, device_id, data, due) of every stored state."""
        rows = self._conn.execute(
            "SELECT rule_id, device_id, data, due FROM rule_state").fetchall()
        return [(r, d, orjson.loads(data), due) for r, d, data, due in rows]

    def load_for(self, device_ids: list[str]) -> list[tuple[str, str, dict[str, Any],
                                                            float | None]]:
        """(rule_id, device_id, data, due) of some devices' states."""
        rows = select_in(self._conn, "SELECT rule_id, device_id, data, due FROM rule_state"
                         " WHERE device_id IN {ids}", device_ids)
        return [(r, d, orjson.loads(data), due) for r, d, data, due in rows]

    def due_devices(self, now: float) -> list[str]:
        """Devices with a rule timer due at `now` (absence, duration, correlation waits)."""
        rows = self._conn.execute(
            "SELECT DISTINCT device_id FROM rule_state WHERE due <= ?", (now,)).fetchall()
        return [str(r[0]) for r in rows]

    def save(self, upserts: list[tuple[str, str, dict[str, Any], float | None]],
             deletes: list[tuple[str, str]], now: float) -> None:
        """Write changed states and drop the empty ones."""
        if upserts:
            self._conn.executemany(_UPSERT_STATE, [
                (r, d, orjson.dumps(data).decode(), due, now) for r, d, data, due in upserts])
        if deletes:
            self._conn.executemany(_DELETE_STATE, deletes)

    def switches(self) -> dict[str, bool]:
        """Rule id → switched on, for rules an operator switched."""
        return {r: bool(e) for r, e in self._conn.execute(
            "SELECT rule_id, enabled FROM rule_switches").fetchall()}

    def set_switch(self, rule_id: str, enabled: bool, actor: str, at: float,
                   reason: str) -> None:
        """Remember an operator's switch (survives restarts)."""
        self._conn.execute(
            "INSERT INTO rule_switches (rule_id, enabled, actor, at, reason)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (rule_id) DO UPDATE SET"
            " enabled = excluded.enabled, actor = excluded.actor, at = excluded.at,"
            " reason = excluded.reason", (rule_id, int(enabled), actor, at, reason))

    def thresholds(self) -> list[tuple[str, int, str, dict[str, float]]]:
        """(rule_id, index, signal, operands) of every threshold an administrator changed."""
        rows = self._conn.execute(
            "SELECT rule_id, cond_index, signal, params FROM rule_thresholds"
            " ORDER BY rule_id, cond_index").fetchall()
        return [(r, int(i), sig, orjson.loads(params)) for r, i, sig, params in rows]

    def set_threshold(self, rule_id: str, index: int, signal: str, values: dict[str, float],
                      actor: str, at: float, reason: str) -> None:
        """Remember a threshold change (survives restarts); no values: back to the file."""
        if not values:
            self._conn.execute("DELETE FROM rule_thresholds WHERE rule_id = ? AND cond_index = ?",
                               (rule_id, index))
            return
        self._conn.execute(
            "INSERT INTO rule_thresholds (rule_id, cond_index, signal, params, actor, at, reason)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (rule_id, cond_index) DO UPDATE SET"
            " signal = excluded.signal, params = excluded.params, actor = excluded.actor,"
            " at = excluded.at, reason = excluded.reason",
            (rule_id, index, signal, orjson.dumps(values).decode(), actor, at, reason))
