"""Account administration for the admin page: create, change role/grid/name, reset a
password, disable and enable — each with its admin-audit row in the same transaction.

Password hashing and session handling are `gateway.users`' (called as they are); what it
has no method for (changing a role or grid without a password) is `tx.admin`'s. Guard
rails: an admin cannot demote or disable itself, and the last enabled admin stays.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gateway.users import ROLES, AccountError, User, UserRepository

if TYPE_CHECKING:
    from gateway.service import Gateway

USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,39}$")


class AccountConflictError(AccountError):
    """A change that would lock the admins out (or an account that already exists)."""


@dataclass(frozen=True, slots=True)
class Admin:
    """Who acts, for the audit row."""

    username: str
    role: str
    client_addr: str


def temporary_password() -> str:
    """A password to hand over once (the person changes it with 修改密码)."""
    return secrets.token_urlsafe(9)


def _check_profile(role: str, grid: str | None, vendor: str | None) -> None:
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r}; roles: {ROLES}")
    if role == "grid_worker" and not grid:
        raise AccountError("a grid worker needs a grid")
    if role == "vendor" and not vendor:
        raise AccountError("a vendor account needs a vendor name")


class AccountAdmin:
    """The admin page's account changes (run on the pipeline thread, one transaction each)."""

    def __init__(self, gw: Gateway, users: UserRepository) -> None:
        self._gw = gw
        self._users = users

    def _run(self, name: str, fn: Any) -> Any:
        return self._gw.pipeline.call(name, fn, self._gw.clock.time())

    def create(self, who: Admin, *, username: str, role: str, display_name: str,
               grid: str | None, vendor: str | None, password: str | None
               ) -> tuple[User, str | None]:
        """A new account; returns it and the generated password when none was given."""
        if not USERNAME.match(username):
            raise AccountError("username: 2–40 letters, digits, '.', '_' or '-'")
        _check_profile(role, grid, vendor)
        generated = None if password else temporary_password()
        secret = password or generated or ""
        if self._users.get(username) is not None:
            raise AccountConflictError(f"user {username!r} exists")

        def run(now: float, tx: Any) -> User:
            user = self._users.add(username, secret, role, display_name=display_name,
                                   grid=grid if role == "grid_worker" else None,
                                   vendor=vendor if role == "vendor" else None)
            tx.audit.record_admin(at=now, actor=who.username, role=who.role,
                                  action="user_create", target=username,
                                  detail=f"role={role} grid={grid or ''} vendor={vendor or ''}",
                                  client_addr=who.client_addr)
            return user
        return self._run("user_create", run), generated

    def update(self, who: Admin, username: str, *, role: str | None, display_name: str | None,
               grid: str | None, vendor: str | None) -> User:
        """Change role, name, grid or vendor; a changed role, grid or vendor ends the
        account's sessions (its pages sign in again and get the new view)."""
        def run(now: float, tx: Any) -> User:
            old = tx.accounts.user(username)
            if old is None:
                raise LookupError(f"no user {username!r}")
            new_role = role or old.role
            new_grid = (grid if grid is not None else old.grid) if new_role == "grid_worker" \
                else None
            new_vendor = (vendor if vendor is not None else old.vendor) \
                if new_role == "vendor" else None
            _check_profile(new_role, new_grid, new_vendor)
            if old.role == "admin" and new_role != "admin":
                if username == who.username:
                    raise AccountConflictError("an admin cannot take its own admin role away")
                if not old.disabled and tx.admin.enabled_admins() <= 1:
                    raise AccountConflictError("the last enabled admin keeps its role")
            name = display_name if display_name is not None else old.display_name
            tx.admin.update_profile(username, role=new_role, display_name=name,
                                    grid=new_grid or None, vendor=new_vendor or None, now=now)
            changed = [f"{k}={a or ''}→{b or ''}" for k, a, b in (
                ("role", old.role, new_role), ("grid", old.grid, new_grid),
                ("vendor", old.vendor, new_vendor), ("name", old.display_name, name)) if a != b]
            if (old.role, old.grid, old.vendor) != (new_role, new_grid, new_vendor):
                tx.accounts.revoke_sessions(username, now, "account changed")
            tx.audit.record_admin(at=now, actor=who.username, role=who.role,
                                  action="user_update", target=username,
                                  detail=" ".join(changed), client_addr=who.client_addr)
            user = tx.accounts.user(username)
            assert user is not None
            return user
        return self._run("user_update", run)

    def reset_password(self, who: Admin, username: str, password: str | None) -> str | None:
        """A new password (every session of the account ends); returns it when generated."""
        generated = None if password else temporary_password()
        secret = password or generated or ""

        def run(now: float, tx: Any) -> None:
            self._users.set_password(username, secret)
            tx.audit.record_admin(at=now, actor=who.username, role=who.role,
                                  action="user_password_reset", target=username,
                                  client_addr=who.client_addr)
        self._run("user_password", run)
        return generated

    def set_disabled(self, who: Admin, username: str, disabled: bool) -> User:
        """Disable (its sessions end at once) or enable an account."""
        if disabled and username == who.username:
            raise AccountConflictError("an admin cannot disable itself")

        def run(now: float, tx: Any) -> User:
            old = tx.accounts.user(username)
            if old is None:
                raise LookupError(f"no user {username!r}")
            if (disabled and old.role == "admin" and not old.disabled
                    and tx.admin.enabled_admins() <= 1):
                raise AccountConflictError("the last enabled admin stays enabled")
            user = self._users.set_disabled(username, disabled)
            tx.audit.record_admin(at=now, actor=who.username, role=who.role,
                                  action="user_disable" if disabled else "user_enable",
                                  target=username, client_addr=who.client_addr)
            return user
        return self._run("user_disable" if disabled else "user_enable", run)
