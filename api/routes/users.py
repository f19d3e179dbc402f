"""Accounts for admins: list, create, change role/grid/name, reset a password, disable and
enable (sessions end at once). Every change is in the admin audit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar

from fastapi import APIRouter, HTTPException, Query, Request, status
from pydantic import BaseModel, Field

from api.deps import Admin, GatewayDep, UsersDep
from api.personal import client_address
from api.schemas import UserPublic
from api.schemas.base import StrictBody
from gateway.account_admin import AccountAdmin, AccountConflictError
from gateway.account_admin import Admin as Acting
from gateway.users import AccountError, User

router = APIRouter(prefix="/users", tags=["users"])
T = TypeVar("T")



class AccountPublic(UserPublic):
    """An account as staff see it."""

    disabled: bool


class AccountCreate(StrictBody):
    """A new account; without a password one is generated and answered once."""

    username: str = Field(min_length=2, max_length=40)
    role: str = Field(max_length=20)
    display_name: str = Field("", max_length=64)
    grid: str | None = Field(None, max_length=64)
    vendor: str | None = Field(None, max_length=64)
    password: str | None = Field(None, min_length=8, max_length=200)


class AccountUpdate(StrictBody):
    """Fields to change (absent ones stay)."""

    role: str | None = Field(None, max_length=20)
    display_name: str | None = Field(None, max_length=64)
    grid: str | None = Field(None, max_length=64)
    vendor: str | None = Field(None, max_length=64)


class PasswordReset(StrictBody):
    """A new password; without one a temporary password is generated and answered once."""

    password: str | None = Field(None, min_length=8, max_length=200)


class AccountCreated(AccountPublic):
    """The new account, and its generated password (shown once)."""

    password: str | None = None


class PasswordIssued(BaseModel):
    """The generated password (shown once), or null when the admin typed one."""

    password: str | None


def _public(user: User) -> AccountPublic:
    return AccountPublic(username=user.username, role=user.role,
                         display_name=user.display_name, grid=user.grid, vendor=user.vendor,
                         disabled=user.disabled)


def _admin(gw: GatewayDep, users: UsersDep) -> AccountAdmin:
    return AccountAdmin(gw, users)


def _acting(user: User, request: Request) -> Acting:
    return Acting(user.username, user.role, client_address(request))


def _refused(fn: Callable[[], T]) -> T:
    """Run a service call; its errors become answers a person can act on."""
    try:
        return fn()
    except LookupError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc).strip("'\"")) from exc
    except AccountConflictError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    except AccountError as exc:
        if "no user" in str(exc):
            raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc


@router.get("", response_model=list[AccountPublic])
def list_accounts(
    users: UsersDep, user: Admin,
    role: Annotated[str | None, Query(pattern="^[a-z_]+$", max_length=20)] = None,
) -> list[AccountPublic]:
    """Accounts (optionally one role), without secrets (admins; dispatch pickers use
    `/tickets/{id}/assignees`)."""
    return [_public(u) for u in users.accounts(role)]


@router.post("", response_model=AccountCreated, status_code=status.HTTP_201_CREATED)
def create_account(body: AccountCreate, request: Request, gw: GatewayDep, users: UsersDep,
                   user: Admin) -> AccountCreated:
    """Create an account (a grid worker needs its grid, a vendor account its vendor)."""
    created, password = _refused(lambda: _admin(gw, users).create(
        _acting(user, request), username=body.username, role=body.role,
        display_name=body.display_name, grid=body.grid, vendor=body.vendor,
        password=body.password))
    return AccountCreated(**_public(created).model_dump(), password=password)


@router.patch("/{username}", response_model=AccountPublic)
def update_account(username: str, body: AccountUpdate, request: Request, gw: GatewayDep,
                   users: UsersDep, user: Admin) -> AccountPublic:
    """Change role, grid, vendor or display name; a new role, grid or vendor ends the
    account's sessions."""
    return _public(_refused(lambda: _admin(gw, users).update(
        _acting(user, request), username, role=body.role, display_name=body.display_name,
        grid=body.grid, vendor=body.vendor)))


@router.post("/{username}/password", response_model=PasswordIssued)
def reset_password(username: str, body: PasswordReset, request: Request, gw: GatewayDep,
                   users: UsersDep, user: Admin) -> PasswordIssued:
    """Set a new password for someone (every session of the account ends)."""
    if users.get(username) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such account")
    return PasswordIssued(password=_refused(lambda: _admin(gw, users).reset_password(
        _acting(user, request), username, body.password)))


def _set(request: Request, gw: GatewayDep, users: UsersDep, user: User, username: str,
         disabled: bool) -> AccountPublic:
    return _public(_refused(lambda: _admin(gw, users).set_disabled(
        _acting(user, request), username, disabled)))


@router.post("/{username}/disable", response_model=AccountPublic)
def disable_account(username: str, request: Request, gw: GatewayDep, users: UsersDep,
                    user: Admin) -> AccountPublic:
    """Disable an account: its sessions end at once, its logins are refused."""
    return _set(request, gw, users, user, username, True)


@router.post("/{username}/enable", response_model=AccountPublic)
def enable_account(username: str, request: Request, gw: GatewayDep, users: UsersDep,
                   user: Admin) -> AccountPublic:
    """Enable a disabled account again (it signs in afresh)."""
    return _set(request, gw, users, user, username, False)
