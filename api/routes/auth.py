"""Sign-in: password → session (short-lived access token + rotating refresh cookie), refresh,
logout, password change, and the caller's own account and sessions."""

from __future__ import annotations

import logging
import math
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Cookie, Depends, HTTPException, Request, Response, status
from fastapi.security import OAuth2PasswordRequestForm

from api.deps import (
    CurrentUser,
    GatewayDep,
    SessionsDep,
    SignInsDep,
    ThrottleDep,
    TokensDep,
    UsersDep,
)
from api.personal import client_address
from api.schemas import PasswordChange, SessionPublic, Token, UserPublic
from api.security import SessionError
from gateway.users import AccountError, Session, User


def same_origin(request: Request) -> None:
    """403 for a browser request another site made (CSRF): the refresh cookie is sent with
    requests to /auth only, and SameSite=Strict already keeps it from cross-site requests,
    but a sibling host of the same site (or an old browser) would still carry it. Browsers
    say where a request comes from (`Sec-Fetch-Site`, else `Origin`); API clients send
    neither and are not concerned (they hold no cookie)."""
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        if site.lower() in ("same-origin", "none"):
            return
        raise HTTPException(status.HTTP_403_FORBIDDEN, "cross-site request refused")
    origin = request.headers.get("origin")
    if origin is None:
        return
    netloc = urlsplit(origin).netloc.lower() if origin != "null" else ""
    # A page cannot set X-Forwarded-Host on a cross-site request, so a proxy's word on the
    # host the browser used is safe to accept (a proxy may rewrite Host to its upstream).
    own = {request.headers.get("host", "").lower(), request.url.netloc.lower(),
           request.headers.get("x-forwarded-host", "").split(",")[0].strip().lower()}
    gw = request.app.state.gateway
    if gw.settings.plates.public_url:
        own.add(urlsplit(gw.settings.plates.public_url).netloc.lower())
    if not netloc or netloc not in own:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "cross-site request refused")


router = APIRouter(prefix="/auth", tags=["auth"])
SameOrigin = [Depends(same_origin)]
log = logging.getLogger(__name__)

REFRESH_COOKIE = "scgw_refresh"
# Sent only to /auth (refresh, logout): no other request carries the refresh token.
COOKIE_PATH = "/auth"
NAME_KEY_MAX = 128  # no account has a longer name (the admin page allows 40)
RefreshCookie = Annotated[str | None, Cookie(alias=REFRESH_COOKIE, max_length=200)]


def _set_cookie(response: Response, request: Request, gw: GatewayDep, refresh: str,
                session: Session) -> None:
    secure = gw.settings.api.cookie_secure
    if secure is None:
        secure = request.url.scheme == "https"
    response.set_cookie(
        REFRESH_COOKIE, refresh, path=COOKIE_PATH, httponly=True, samesite="strict",
        secure=secure, max_age=max(1, int(session.expires_at - gw.clock.time())))


def _clear_cookie(response: Response) -> None:
    response.delete_cookie(REFRESH_COOKIE, path=COOKIE_PATH, httponly=True, samesite="strict")


def _token(tokens: TokensDep, user: User, session: Session) -> Token:
    return Token(access_token=tokens.issue(user, session.id), expires_in=tokens.ttl_s,
                 role=user.role, session_expires_at=session.expires_at,
                 session_idle_s=session.idle_s)


def _throttled(wait: float) -> HTTPException:
    return HTTPException(status.HTTP_429_TOO_MANY_REQUESTS,
                         "too many failed logins from this address; try again later",
                         {"Retry-After": str(math.ceil(wait))})


@router.post("/token", response_model=Token, dependencies=SameOrigin)
def login(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    request: Request,
    response: Response,
    users: UsersDep,
    tokens: TokensDep,
    sessions: SessionsDep,
    throttle: ThrottleDep,
    sign_ins: SignInsDep,
    gw: GatewayDep,
) -> Token:
    """Exchange username and password for an access token and a session (throttled after
    failures). Browsers also get the session's refresh token as an httpOnly cookie. Every
    attempt is written to the sign-in log (`/audit/sign-ins`), never the password."""
    address = client_address(request)
    agent = request.headers.get("user-agent", "")
    # The throttle remembers up to 100,000 (username, address) pairs: a name is kept by its
    # first NAME_KEY_MAX characters, so megabyte "usernames" cannot fill the memory.
    name = form.username[:NAME_KEY_MAX]
    wait = throttle.begin(name, address)
    if wait > 0:
        gw.metrics.logins.labels("throttled").inc()
        sign_ins.record(form.username, address, "throttled", user_agent=agent,
                        retry_after=wait)
        raise _throttled(wait)
    try:
        user = (users.authenticate(form.username, form.password)
                if len(form.username) <= NAME_KEY_MAX else None)
        if user is None:
            throttle.failed(name, address)
        else:
            throttle.succeeded(name, address)
    finally:
        throttle.end(name, address)
    if user is None:
        gw.metrics.logins.labels("wrong_password").inc()
        log.warning("login refused", extra={"username": name, "client": address})
        sign_ins.record(form.username, address, "wrong_password", user_agent=agent)
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong username or password",
                            {"WWW-Authenticate": "Bearer"})
    gw.metrics.logins.labels("ok").inc()
    sign_ins.record(form.username, address, "ok", role=user.role, user_agent=agent)
    session, refresh = sessions.start(user, address, agent)
    _set_cookie(response, request, gw, refresh, session)
    return _token(tokens, user, session)


@router.post("/refresh", response_model=Token, dependencies=SameOrigin,
             responses={401: {"description": "No live session: sign in again"},
                        403: {"description": "A request another site made (CSRF)"}})
def refresh(request: Request, response: Response, users: UsersDep, tokens: TokensDep,
            sessions: SessionsDep, gw: GatewayDep, cookie: RefreshCookie = None) -> Token:
    """A new access token from the session's refresh cookie; the cookie rotates."""
    if not cookie:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "no session")
    try:
        renewal = sessions.refresh(cookie)
    except SessionError as exc:
        _clear_cookie(response)
        # The cookie must go even though the answer is an error.
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, exc.reason,
                            {"set-cookie": response.headers["set-cookie"]}) from exc
    user = users.get(renewal.session.username)
    if user is None or user.disabled:
        sessions.end(renewal.session.id, "account disabled")
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "account disabled")
    if renewal.refresh_token is not None:
        _set_cookie(response, request, gw, renewal.refresh_token, renewal.session)
    return _token(tokens, user, renewal.session)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, dependencies=SameOrigin)
def logout(response: Response, sessions: SessionsDep, cookie: RefreshCookie = None) -> None:
    """End this browser's session (named by its refresh cookie) and drop the cookie; its
    access tokens stop working at once. API clients end a session with
    `DELETE /auth/sessions/{id}`."""
    if cookie:
        sessions.end_by_token(cookie, "logout")
    _clear_cookie(response)


@router.post("/password", status_code=status.HTTP_204_NO_CONTENT,
             responses={400: {"description": "Current password wrong"},
                        429: {"description": "Too many wrong passwords: wait Retry-After"}})
def change_password(body: PasswordChange, request: Request, user: CurrentUser,
                    users: UsersDep, throttle: ThrottleDep) -> None:
    """Change one's own password; every other session of the account ends. A wrong current
    password counts as a failed login (the same back-off): a stolen access token is not a
    way to guess the password quickly."""
    address = client_address(request)
    wait = throttle.begin(user.username, address)
    if wait > 0:
        raise _throttled(wait)
    try:
        known = users.authenticate(user.username, body.current_password) is not None
        if known:
            throttle.succeeded(user.username, address)
        else:
            throttle.failed(user.username, address)
    finally:
        throttle.end(user.username, address)
    if not known:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "current password is wrong")
    try:
        users.set_password(user.username, body.new_password,
                           keep_session=request.state.session.id)
    except AccountError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc


@router.get("/me", response_model=UserPublic)
def me(user: CurrentUser) -> UserPublic:
    """Who the token belongs to."""
    return UserPublic(username=user.username, role=user.role, display_name=user.display_name,
                      grid=user.grid, vendor=user.vendor)


@router.get("/sessions", response_model=list[SessionPublic])
def my_sessions(request: Request, user: CurrentUser, sessions: SessionsDep,
                gw: GatewayDep) -> list[SessionPublic]:
    """The caller's sessions that have not ended."""
    current = request.state.session.id
    return [SessionPublic(id=s.id, created_at=s.created_at, last_used_at=s.last_used_at,
                          expires_at=s.expires_at, client_addr=s.client_addr,
                          user_agent=s.user_agent, current=s.id == current)
            for s in sessions.repo.of_user(user.username, gw.clock.time())]


@router.delete("/sessions/{session_id}", status_code=status.HTTP_204_NO_CONTENT)
def end_session(session_id: str, user: CurrentUser, sessions: SessionsDep) -> None:
    """End one of the caller's sessions (e.g. a phone left signed in)."""
    session = sessions.repo.get(session_id)
    if session is None or session.username != user.username:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such session")
    sessions.end(session_id, "ended by user")
