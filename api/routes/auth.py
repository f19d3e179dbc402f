"""Login (OAuth2 password flow → short-lived JWT) and the caller's own account."""

from __future__ import annotations

import logging
import math
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordRequestForm

from api.deps import CurrentUser, GatewayDep, ThrottleDep, TokensDep, UsersDep
from api.personal import client_address
from api.schemas import Token, UserPublic

router = APIRouter(prefix="/auth", tags=["auth"])
log = logging.getLogger(__name__)


@router.post("/token", response_model=Token)
def login(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    request: Request,
    users: UsersDep,
    tokens: TokensDep,
    throttle: ThrottleDep,
    gw: GatewayDep,
) -> Token:
    """Exchange username and password for an access token (throttled after failures)."""
    address = client_address(request)
    wait = throttle.retry_after(form.username, address)
    if wait > 0:
        gw.metrics.logins.labels("throttled").inc()
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS,
                            "too many failed logins from this address; try again later",
                            {"Retry-After": str(math.ceil(wait))})
    user = users.authenticate(form.username, form.password)
    if user is None:
        throttle.failed(form.username, address)
        gw.metrics.logins.labels("wrong_password").inc()
        log.warning("login refused", extra={"username": form.username, "client": address})
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong username or password",
                            {"WWW-Authenticate": "Bearer"})
    throttle.succeeded(form.username, address)
    gw.metrics.logins.labels("ok").inc()
    return Token(access_token=tokens.issue(user), expires_in=tokens.ttl_s, role=user.role)


@router.get("/me", response_model=UserPublic)
def me(user: CurrentUser) -> UserPublic:
    """Who the token belongs to."""
    return UserPublic(username=user.username, role=user.role, display_name=user.display_name,
                      grid=user.grid, vendor=user.vendor)
