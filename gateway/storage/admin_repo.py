"""What the admin pages read and write beyond the existing repositories: rule-change history
and changed thresholds, account profile changes, sign-in history, and the admin audit with
every filter."""

from __future__ import annotations

from typing import Any

from gateway.storage.base import Reader
from gateway.storage.dialect import Connection

_CHANGE_COLUMNS = "id, rule_id, change, detail, reason, actor, role, at"
_ADMIN_COLUMNS = "id, at, actor, role, action, target, detail, client_addr"


class SqliteAdmin:
    """Writes inside a transaction: rule changes and account profiles."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def record_rule_change(self, *, rule_id: str, change: str, detail: str, reason: str,
                           actor: str, role: str, at: float) -> None:
        """One line of a rule's history."""
        self._conn.execute(
            f"INSERT INTO rule_changes ({_CHANGE_COLUMNS.removeprefix('id, ')})"
            " VALUES (?, ?, ?, ?, ?, ?, ?)", (rule_id, change, detail, reason, actor, role, at))

    def enabled_admins(self) -> int:
        """How many enabled admin accounts exist."""
        return int(self._conn.execute(
            "SELECT count(*) FROM users WHERE role = 'admin' AND disabled = 0").fetchone()[0])

    def update_profile(self, username: str, *, role: str, display_name: str,
                       grid: str | None, vendor: str | None, now: float) -> None:
        """Rewrite an account's role, name, grid and vendor (the password is untouched)."""
        self._conn.execute(
            "UPDATE users SET role = ?, display_name = ?, grid = ?, vendor = ?, updated_at = ?"
            " WHERE username = ?", (role, display_name, grid, vendor, now, username))


class AdminReads:
    """Read-only views for the admin pages (read connections)."""

    def __init__(self, store: Reader) -> None:
        self._store = store

    def switches(self) -> dict[str, dict[str, Any]]:
        """Rule id → its latest switch (enabled, actor, at, reason)."""
        return {r["rule_id"]: r for r in self._store.query(
            "SELECT rule_id, enabled, actor, at, reason FROM rule_switches")}

    def thresholds(self) -> dict[tuple[str, int], dict[str, Any]]:
        """(rule id, comparison index) → the stored threshold change (actor, at, reason)."""
        return {(r["rule_id"], r["cond_index"]): r for r in self._store.query(
            "SELECT rule_id, cond_index, signal, params, actor, at, reason"
            " FROM rule_thresholds")}

    def rule_changes(self, *, rule_id: str | None = None, limit: int = 200
                     ) -> list[dict[str, Any]]:
        """Rule history, newest first (one rule or all)."""
        if rule_id:
            return self._store.query(
                f"SELECT {_CHANGE_COLUMNS} FROM rule_changes WHERE rule_id = ?"
                " ORDER BY id DESC LIMIT ?", (rule_id, limit))
        return self._store.query(
            f"SELECT {_CHANGE_COLUMNS} FROM rule_changes ORDER BY id DESC LIMIT ?", (limit,))

    def admin_actions(self, *, actor: str | None = None, action: str | None = None,
                      target: str | None = None, since: float | None = None,
                      until: float | None = None, limit: int = 500) -> list[dict[str, Any]]:
        """Admin audit rows, newest first; `action` matches a prefix (`user_` finds every
        account action)."""
        where, args = ["1=1"], []
        for clause, value in (("actor = ?", actor), ("target = ?", target),
                              ("at >= ?", since), ("at < ?", until)):
            if value is not None and value != "":
                where.append(clause)
                args.append(value)
        if action:
            where.append("action LIKE ? ESCAPE '\\'")
            args.append(action.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
                        + "%")
        return self._store.query(
            f"SELECT {_ADMIN_COLUMNS} FROM admin_audit WHERE {' AND '.join(where)}"
            " ORDER BY id DESC LIMIT ?", (*args, limit))

    def sign_ins(self, *, username: str | None = None, since: float | None = None,
                 until: float | None = None, limit: int = 500) -> list[dict[str, Any]]:
        """Sign-in sessions, newest first: who, role, when, from where, how it ended."""
        where, args = ["1=1"], []
        for clause, value in (("username = ?", username), ("created_at >= ?", since),
                              ("created_at < ?", until)):
            if value is not None and value != "":
                where.append(clause)
                args.append(value)
        return self._store.query(
            "SELECT id, username, role, created_at, last_used_at, expires_at, revoked_at,"
            " revoked_reason, client_addr, user_agent FROM sessions"
            f" WHERE {' AND '.join(where)} ORDER BY created_at DESC LIMIT ?", (*args, limit))
