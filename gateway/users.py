"""Accounts and their sign-in sessions: roles, argon2 password hashes, the rules around them."""

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
        password_hash = _HASHER.hash(password)
        now = self._clock.time()
        with self._store.transaction() as tx:
            if tx.accounts.user(username) is not None:
                if not replace:
                    raise AccountError(f"user {username!r} exists (use --replace)")
                # a new password (or role) ends every session of the old account
                tx.accounts.revoke_sessions(username, now, "account replaced")
            tx.accounts.put_user(username=username, password_hash=password_hash, role=role,
                                 display_name=display_name, grid=grid, vendor=vendor, now=now)
        return User(username, role, display_name, grid, vendor)  # type: ignore[arg-type]

    def get(self, username: str) -> User | None:
        """An account by name."""
        with self._store.snapshot() as db:
            return db.accounts.user(username)

    def authenticate(self, username: str, password: str) -> User | None:
        """The account if the password matches and it is enabled; None otherwise."""
        with self._store.snapshot() as db:
            stored = db.accounts.password_hash(username)
            user = db.accounts.user(username) if stored is not None else None
        try:
            _HASHER.verify(stored if stored is not None else _DUMMY_HASH, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        return user if user is not None and not user.disabled else None

    def set_disabled(self, username: str, disabled: bool) -> User:
        """Disable (revoking every session) or re-enable an account."""
        now = self._clock.time()
        with self._store.transaction() as tx:
            if not tx.accounts.set_disabled(username, disabled, now):
                raise AccountError(f"no user {username!r}")
            if disabled:
                tx.accounts.revoke_sessions(username, now, "account disabled")
            user = tx.accounts.user(username)
        assert user is not None
        return user

    def set_password(self, username: str, password: str, *, keep_session: str | None = None
                     ) -> None:
        """A new password; every session but `keep_session` (the caller's own) ends."""
        if len(password) < 8:
            raise AccountError("a password needs at least 8 characters")
        password_hash = _HASHER.hash(password)
        now = self._clock.time()
        with self._store.transaction() as tx:
            if not tx.accounts.set_password_hash(username, password_hash, now):
                raise AccountError(f"no user {username!r}")
            tx.accounts.revoke_sessions(username, now, "password changed", keep=keep_session)

    def accounts(self, role: str | None = None) -> list[User]:
        """Accounts, by username (optionally one role)."""
        with self._store.snapshot() as db:
            return db.accounts.users(role)


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


class SessionRepository:
    """Stored sessions (the policy — limits, rotation, reuse — lives in api.security)."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def insert(self, session: Session) -> None:
        """Store a new session (and forget those that ended a week ago)."""
        with self._store.transaction() as tx:
            tx.accounts.insert_session(session, session.created_at - KEEP_ENDED_S)

    def get(self, session_id: str) -> Session | None:
        """A session by id (revoked ones too)."""
        with self._store.snapshot() as db:
            return db.accounts.session(session_id)

    def of_user(self, username: str, now: float) -> list[Session]:
        """An account's sessions that have not ended, newest first."""
        with self._store.snapshot() as db:
            return db.accounts.sessions_of(username, now)

    def rotate(self, session_id: str, old_hash: str, new_hash: str, now: float) -> bool:
        """Replace the refresh token; False when another request rotated it first."""
        with self._store.transaction() as tx:
            return bool(tx.accounts.rotate(session_id, old_hash, new_hash, now))

    def touch(self, session_id: str, now: float) -> None:
        """Record use (the idle limit counts from here)."""
        with self._store.transaction() as tx:
            tx.accounts.touch(session_id, now)

    def revoke(self, session_id: str, now: float, reason: str) -> None:
        """End one session."""
        with self._store.transaction() as tx:
            tx.accounts.revoke(session_id, now, reason)
