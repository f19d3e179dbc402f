"""The sign-in attempt log: every POST /auth/token, who was tried, from where, what came of it."""

from __future__ import annotations

from typing import Any

from gateway.storage.base import Reader
from gateway.storage.dialect import Connection

COLUMNS = ("id", "at", "username", "client_addr", "outcome", "role", "user_agent")


class SqliteSignIns:
    """Writes inside an open transaction: one attempt, or the retention's delete."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def record(self, *, at: float, username: str, client_addr: str, outcome: str,
               role: str | None, user_agent: str) -> None:
        """One attempt (the caller has already cut and cleaned the strings)."""
        self._conn.execute(
            "INSERT INTO sign_in_attempts (at, username, client_addr, outcome, role, user_agent)"
            " VALUES (?, ?, ?, ?, ?, ?)", (at, username, client_addr, outcome, role, user_agent))

    def prune(self, before: float) -> int:
        """Forget attempts older than `before`; how many went."""
        return int(self._conn.execute("DELETE FROM sign_in_attempts WHERE at < ?",
                                      (before,)).rowcount)


class SignInReads:
    """Read-only views of the attempt log (read connections)."""

    def __init__(self, store: Reader) -> None:
        self._store = store

    def attempts(self, *, username: str | None = None, outcome: str | None = None,
                 client_addr: str | None = None, since: float | None = None,
                 until: float | None = None, limit: int = 500) -> list[dict[str, Any]]:
        """Attempts, newest first, filtered by exact username, outcome, address and time."""
        where, args = ["1=1"], []
        for clause, value in (("username = ?", username), ("outcome = ?", outcome),
                              ("client_addr = ?", client_addr), ("at >= ?", since),
                              ("at < ?", until)):
            if value is not None and value != "":
                where.append(clause)
                args.append(value)
        return self._store.query(
            f"SELECT {', '.join(COLUMNS)} FROM sign_in_attempts WHERE {' AND '.join(where)}"
            " ORDER BY id DESC LIMIT ?", (*args, limit))
