"""Accounts and their sign-in sessions: roles, argon2 password hashes, `users` and `sessions`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, get_args

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from gateway.clock import Clock
from gateway.storage.base import Store

Role = Literal["admin", "operator", "grid_worker", "family", "vendor"]
ROLES: tuple[str, ...] = get_args(Role)
_HASHER = PasswordHasher()
# Verified against when the user does not exist, so a miss costs as much as a wrong password.
_DUMMY_HASH = _HASHER.hash("no such user")


class AccountError(ValueError):
    """An account that cannot be created or changed as asked."""


@dataclass(slots=True, frozen=True)
class User:
    """A login account."""

    username: str
    role: Role
    display_name: str = ""
    grid: str | None = None
    vendor: str | None = None
    disabled: bool = False


class UserRepository:
    """Reads and writes accounts through the store."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    def add(self, username: str, password: str, role: str, *, display_name: str = "",
            grid: str | None = None, vendor: str | None = None, replace: bool = False) -> User:
        """Create (or with `replace`, overwrite) an account."""
        if role not in ROLES:
            raise AccountError(f"unknown role {role!r}; roles: {ROLES}")
        if len(password) < 8:
            raise AccountError("a password needs at least 8 characters")
        if role == "grid_worker" and not grid:
            raise AccountError("a grid worker needs --grid")
        if role == "vendor" and not vendor:
            raise AccountError("a vendor account needs --vendor")
        if not replace and self.get(username) is not None:
            raise AccountError(f"user {username!r} exists (use --replace)")
        now = self._clock.time()
        with self._store.transaction() as tx:
            if replace:  # a new password (or role) ends every session of the old account
                revoke_sessions(tx.connection, username, now, "account replaced")
            tx.connection.execute(
                "INSERT OR REPLACE INTO users (username, password_hash, role, display_name,"
                " grid, vendor, disabled, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?)",
                (username, _HASHER.hash(password), role, display_name, grid, vendor, now, now),
            )
        return User(username, role, display_name, grid, vendor)  # type: ignore[arg-type]

    def get(self, username: str) -> User | None:
        """An account by name."""
        rows = self._store.query(
            "SELECT username, role, display_name, grid, vendor, disabled FROM users"
            " WHERE username = ?", (username,))
        if not rows:
            return None
        r = rows[0]
        return User(r["username"], r["role"], r["display_name"], r["grid"], r["vendor"],
                    bool(r["disabled"]))

    def authenticate(self, username: str, password: str) -> User | None:
        """The account if the password matches and it is enabled; None otherwise."""
        rows = self._store.query(
            "SELECT password_hash FROM users WHERE username = ?", (username,))
        stored = rows[0]["password_hash"] if rows else _DUMMY_HASH
        try:
            _HASHER.verify(stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        user = self.get(username) if rows else None
        return user if user is not None and not user.disabled else None

    def set_disabled(self, username: str, disabled: bool) -> User:
        """Disable (revoking every session) or re-enable an account."""
        now = self._clock.time()
        with self._store.transaction() as tx:
            cur = tx.connection.execute(
                "UPDATE users SET disabled = ?, updated_at = ? WHERE username = ?",
                (int(disabled), now, username))
            if cur.rowcount == 0:
                raise AccountError(f"no user {username!r}")
            if disabled:
                revoke_sessions(tx.connection, username, now, "account disabled")
        user = self.get(username)
        assert user is not None
        return user

    def set_password(self, username: str, password: str, *, keep_session: str | None = None
                     ) -> None:
        """A new password; every session but `keep_session` (the caller's own) ends."""
        if len(password) < 8:
            raise AccountError("a password needs at least 8 characters")
        now = self._clock.time()
        with self._store.transaction() as tx:
            cur = tx.connection.execute(
                "UPDATE users SET password_hash = ?, updated_at = ? WHERE username = ?",
                (_HASHER.hash(password), now, username))
            if cur.rowcount == 0:
                raise AccountError(f"no user {username!r}")
            revoke_sessions(tx.connection, username, now, "password changed",
                            keep=keep_session)

    def accounts(self, role: str | None = None) -> list[User]:
        """Accounts, by username (optionally one role)."""
        rows = self._store.query(
            "SELECT username, role, display_name, grid, vendor, disabled FROM users"
            " WHERE ? IS NULL OR role = ? ORDER BY username", (role, role))
        return [User(r["username"], r["role"], r["display_name"], r["grid"], r["vendor"],
                     bool(r["disabled"])) for r in rows]


@dataclass(slots=True)
class Session:
    """A sign-in session: what the access token's `sid` names and the refresh token renews."""

    id: str
    username: str
    role: str
    created_at: float
    last_used_at: float
    idle_s: float
    expires_at: float
    refresh_hash: str
    previous_hash: str | None = None
    rotated_at: float | None = None
    revoked_at: float | None = None
    revoked_reason: str | None = None
    client_addr: str = ""
    user_agent: str = ""


SESSION_COLUMNS: tuple[str, ...] = tuple(Session.__dataclass_fields__)
KEEP_ENDED_S = 7 * 86_400  # ended sessions stay this long (who was signed in, and why it ended)


def revoke_sessions(conn: Any, username: str, now: float, reason: str, *,
                    keep: str | None = None) -> int:
    """End every live session of an account (but `keep`), inside the caller's transaction."""
    cur = conn.execute(
        "UPDATE sessions SET revoked_at = ?, revoked_reason = ? WHERE username = ?"
        " AND revoked_at IS NULL AND id IS NOT ?", (now, reason, username, keep))
    return int(cur.rowcount)


class SessionRepository:
    """The `sessions` table (the policy — limits, rotation, reuse — lives in api.security)."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def insert(self, session: Session) -> None:
        """Store a new session (and forget those that ended a week ago)."""
        marks = ", ".join("?" for _ in SESSION_COLUMNS)
        with self._store.transaction() as tx:
            tx.connection.execute("DELETE FROM sessions WHERE expires_at < ?",
                                  (session.created_at - KEEP_ENDED_S,))
            tx.connection.execute(
                f"INSERT INTO sessions ({', '.join(SESSION_COLUMNS)}) VALUES ({marks})",
                tuple(getattr(session, c) for c in SESSION_COLUMNS))

    def get(self, session_id: str) -> Session | None:
        """A session by id (revoked ones too)."""
        rows = self._store.query(
            f"SELECT {', '.join(SESSION_COLUMNS)} FROM sessions WHERE id = ?", (session_id,))
        return Session(**rows[0]) if rows else None

    def of_user(self, username: str, now: float) -> list[Session]:
        """An account's sessions that have not ended, newest first."""
        rows = self._store.query(
            f"SELECT {', '.join(SESSION_COLUMNS)} FROM sessions WHERE username = ?"
            " AND revoked_at IS NULL AND expires_at > ? ORDER BY created_at DESC",
            (username, now))
        return [Session(**r) for r in rows]

    def rotate(self, session_id: str, old_hash: str, new_hash: str, now: float) -> bool:
        """Replace the refresh token; False when another request rotated it first."""
        with self._store.transaction() as tx:
            cur = tx.connection.execute(
                "UPDATE sessions SET previous_hash = refresh_hash, refresh_hash = ?,"
                " rotated_at = ?, last_used_at = ? WHERE id = ? AND refresh_hash = ?"
                " AND revoked_at IS NULL", (new_hash, now, now, session_id, old_hash))
            return cur.rowcount == 1

    def touch(self, session_id: str, now: float) -> None:
        """Record use (the idle limit counts from here)."""
        with self._store.transaction() as tx:
            tx.connection.execute("UPDATE sessions SET last_used_at = ? WHERE id = ?"
                                  " AND last_used_at < ?", (now, session_id, now))

    def revoke(self, session_id: str, now: float, reason: str) -> None:
        """End one session."""
        with self._store.transaction() as tx:
            tx.connection.execute(
                "UPDATE sessions SET revoked_at = ?, revoked_reason = ? WHERE id = ?"
                " AND revoked_at IS NULL", (now, reason, session_id))
