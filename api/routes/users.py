"""Accounts for admins: who exists, and disabling one (its sessions end at once)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status

from api.deps import Admin, UsersDep
from api.schemas import UserPublic
from gateway.users import AccountError, User

router = APIRouter(prefix="/users", tags=["users"])


class AccountPublic(UserPublic):
    """An account as staff see it."""

    disabled: bool


def _public(user: User) -> AccountPublic:
    return AccountPublic(username=user.username, role=user.role,
                         display_name=user.display_name, grid=user.grid, vendor=user.vendor,
                         disabled=user.disabled)


@router.get("", response_model=list[AccountPublic])
def list_accounts(
    users: UsersDep, user: Admin,
    role: Annotated[str | None, Query(pattern="^[a-z_]+$", max_length=20)] = None,
) -> list[AccountPublic]:
    """Accounts (optionally one role), without secrets (admins; dispatch pickers use
    `/tickets/{id}/assignees`)."""
    return [_public(u) for u in users.accounts(role)]


def _set(users: UsersDep, username: str, disabled: bool) -> AccountPublic:
    try:
        return _public(users.set_disabled(username, disabled))
    except AccountError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc


@router.post("/{username}/disable", response_model=AccountPublic)
def disable_account(username: str, users: UsersDep, user: Admin) -> AccountPublic:
    """Disable an account: its sessions end at once, its logins are refused."""
    if username == user.username:
        raise HTTPException(status.HTTP_409_CONFLICT, "an admin cannot disable itself")
    return _set(users, username, True)


@router.post("/{username}/enable", response_model=AccountPublic)
def enable_account(username: str, users: UsersDep, user: Admin) -> AccountPublic:
    """Enable a disabled account again (it signs in afresh)."""
    return _set(users, username, False)
