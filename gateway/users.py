"""Accounts: roles, argon2 password hashes, the `users` table (API logins, `scgw users add`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

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
