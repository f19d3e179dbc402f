"""Accounts and sign-in sessions: the `users` and `sessions` tables."""

from __future__ import annotations

from typing import Any

from gateway.storage.dialect import Connection
from gateway.users import SESSION_COLUMNS, Session, User

_USER = "username, role, display_name, grid, vendor, disabled"


def _user(row: tuple[Any, ...]) -> User:
    return User(row[0], row[1], row[2], row[3], row[4], bool(row[5]))


class SqliteAccounts:
    """Account and session reads and writes on one connection."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    # -- accounts ------------------------------------------------------------------------

    def put_user(self, *, username: str, password_hash: str, role: str, display_name: str,
                 grid: str | None, vendor: str | None, now: float) -> None:
        """Create or replace an account (enabled)."""
        self._conn.execute(
            "INSERT INTO users (username, password_hash, role, display_name, grid, vendor,"
            " disabled, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?)"
            " ON CONFLICT (username) DO UPDATE SET password_hash = excluded.password_hash,"
            " role = excluded.role, display_name = excluded.display_name,"
            " grid = excluded.grid, vendor = excluded.vendor, disabled = 0,"
            " updated_at = excluded.updated_at",
            (username, password_hash, role, display_name, grid, vendor, now, now))

    def user(self, username: str) -> User | None:
        """An account."""
        row = self._conn.execute(f"SELECT {_USER} FROM users WHERE username = ?",
                                 (username,)).fetchone()
        return _user(row) if row else None

    def password_hash(self, username: str) -> str | None:
        """An account's password hash."""
        row = self._conn.execute("SELECT password_hash FROM users WHERE username = ?",
                                 (username,)).fetchone()
        return row[0] if row else None

    def set_disabled(self, username: str, disabled: bool, now: float) -> bool:
        """Switch an account off or on; False when there is no such account."""
        return self._conn.execute(
            "UPDATE users SET disabled = ?, updated_at = ? WHERE username = ?",
            (int(disabled), now, username)).rowcount == 1

    def set_password_hash(self, username: str, password_hash: str, now: float) -> bool:
        """A new password hash; False when there is no such account."""
        return self._conn.execute(
            "UPDATE users SET password_hash = ?, updated_at = ? WHERE username = ?",
            (password_hash, now, username)).rowcount == 1

    def users(self, role: str | None = None) -> list[User]:
        """Accounts by username (optionally one role)."""
        return [_user(r) for r in self._conn.execute(
            f"SELECT {_USER} FROM users WHERE CAST(? AS TEXT) IS NULL OR role = ?"
            " ORDER BY username",
            (role, role)).fetchall()]

    # -- sessions ------------------------------------------------------------------------

    def revoke_sessions(self, username: str, now: float, reason: str, *,
                        keep: str | None = None) -> int:
        """End every live session of an account (but `keep`)."""
        return int(self._conn.execute(
            "UPDATE sessions SET revoked_at = ?, revoked_reason = ? WHERE username = ?"
            " AND revoked_at IS NULL AND (CAST(? AS TEXT) IS NULL OR id != ?)",
            (now, reason, username, keep, keep)).rowcount)

    def insert_session(self, session: Session, forget_before: float) -> None:
        """Store a new session and forget those that ended before `forget_before`."""
        self._conn.execute("DELETE FROM sessions WHERE expires_at < ?", (forget_before,))
        marks = ", ".join("?" for _ in SESSION_COLUMNS)
        self._conn.execute(
            f"INSERT INTO sessions ({', '.join(SESSION_COLUMNS)}) VALUES ({marks})",
            tuple(getattr(session, c) for c in SESSION_COLUMNS))

    def session(self, session_id: str) -> Session | None:
        """A session by id (ended ones too)."""
        cur = self._conn.execute(
            f"SELECT {', '.join(SESSION_COLUMNS)} FROM sessions WHERE id = ?", (session_id,))
        row = cur.fetchone()
        return Session(*row) if row else None

    def sessions_of(self, username: str, now: float) -> list[Session]:
        """An account's sessions that have not ended, newest first."""
        return [Session(*r) for r in self._conn.execute(
            f"SELECT {', '.join(SESSION_COLUMNS)} FROM sessions WHERE username = ?"
            " AND revoked_at IS NULL AND expires_at > ? ORDER BY created_at DESC",
            (username, now)).fetchall()]

    def rotate(self, session_id: str, old_hash: str, new_hash: str, now: float) -> bool:
        """Replace the refresh token; False when another request rotated it first."""
        return self._conn.execute(
            "UPDATE sessions SET previous_hash = refresh_hash, refresh_hash = ?,"
            " rotated_at = ?, last_used_at = ? WHERE id = ? AND refresh_hash = ?"
            " AND revoked_at IS NULL", (new_hash, now, now, session_id, old_hash)).rowcount == 1

    def touch(self, session_id: str, now: float) -> None:
        """Record use (the idle limit counts from here)."""
        self._conn.execute("UPDATE sessions SET last_used_at = ? WHERE id = ?"
                           " AND last_used_at < ?", (now, session_id, now))

    def revoke(self, session_id: str, now: float, reason: str) -> None:
        """End one session."""
        self._conn.execute("UPDATE sessions SET revoked_at = ?, revoked_reason = ? WHERE id = ?"
                           " AND revoked_at IS NULL", (now, reason, session_id))
