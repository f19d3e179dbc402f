"""Login (OAuth2 password flow → short-lived JWT) and the caller's own account."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordRequestForm

from api.deps import CurrentUser, ThrottleDep, TokensDep, UsersDep
from api.schemas import Token, UserPublic

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/token", response_model=Token)
def login(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    request: Request,
    users: UsersDep,
    tokens: TokensDep,
    throttle: ThrottleDep,
) -> Token:
    """Exchange username and password for an access token (throttled after failures)."""
    client = request.client.host if request.client else "unknown"
    keys = (f"user:{form.username}", f"addr:{client}")
    wait = throttle.retry_after(*keys)
    if wait > 0:
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, "too many failed logins",
                            {"Retry-After": str(int(wait) + 1)})
    user = users.authenticate(form.username, form.password)
    if user is None:
        throttle.failed(*keys)
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong username or password",
                            {"WWW-Authenticate": "Bearer"})
    throttle.succeeded(*keys)
    return Token(access_token=tokens.issue(user), expires_in=tokens.ttl_s, role=user.role)


@router.get("/me", response_model=UserPublic)
def me(user: CurrentUser) -> UserPublic:
    """Who the token belongs to."""
    return UserPublic(username=user.username, role=user.role, display_name=user.display_name,
                      grid=user.grid, vendor=user.vendor)
