"""Dependencies shared by the routes: the gateway, the current user, role checks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Path, Request, status
from fastapi.security import OAuth2PasswordBearer

from api.security import LoginThrottle, SessionError, SessionService, TokenError, TokenService
from gateway.service import Gateway
from gateway.sign_ins import SignInLog
from gateway.users import Session, User, UserRepository

oauth2 = OAuth2PasswordBearer(tokenUrl="/auth/token", auto_error=False)


def get_gateway(request: Request) -> Gateway:
    """The gateway this app serves."""
    return request.app.state.gateway


def get_tokens(request: Request) -> TokenService:
    """Token issuer and checker."""
    return request.app.state.tokens


def get_users(request: Request) -> UserRepository:
    """The account repository."""
    return request.app.state.users


def get_throttle(request: Request) -> LoginThrottle:
    """Login throttling."""
    return request.app.state.throttle


def get_sessions(request: Request) -> SessionService:
    """Sign-in sessions."""
    return request.app.state.sessions


def get_sign_ins(request: Request) -> SignInLog:
    """The sign-in attempt log."""
    return request.app.state.sign_ins


GatewayDep = Annotated[Gateway, Depends(get_gateway)]
# Row ids are SQLite integers: anything outside 1..2**63-1 cannot exist.
IdPath = Annotated[int, Path(ge=1, le=2**63 - 1)]
TokensDep = Annotated[TokenService, Depends(get_tokens)]
UsersDep = Annotated[UserRepository, Depends(get_users)]
ThrottleDep = Annotated[LoginThrottle, Depends(get_throttle)]
SessionsDep = Annotated[SessionService, Depends(get_sessions)]
SignInsDep = Annotated[SignInLog, Depends(get_sign_ins)]


def authenticate(token: str | None, tokens: TokenService, users: UserRepository,
                 sessions: SessionService) -> tuple[User, Session]:
    """The enabled account and live session a bearer token belongs to, or 401."""

    def unauthorized(why: str) -> HTTPException:
        return HTTPException(status.HTTP_401_UNAUTHORIZED, why, {"WWW-Authenticate": "Bearer"})

    if not token:
        raise unauthorized("not authenticated")
    try:
        username, _, session_id = tokens.verify(token)
    except TokenError as exc:
        raise unauthorized("not authenticated") from exc
    try:
        session = sessions.check(session_id)
    except SessionError as exc:
        raise unauthorized(exc.reason) from exc
    user = users.get(username)
    if user is None or user.disabled or session.username != username:
        raise unauthorized("not authenticated")
    return user, session


def current_user(
    request: Request, token: Annotated[str | None, Depends(oauth2)], tokens: TokensDep,
    users: UsersDep, sessions: SessionsDep,
) -> User:
    """The caller, from the bearer token (its session is kept on `request.state.session`)."""
    user, session = authenticate(token, tokens, users, sessions)
    request.state.session = session
    return user


CurrentUser = Annotated[User, Depends(current_user)]


def require(*roles: str) -> Callable[[User], User]:
    """A dependency that admits only the given roles (403 for the others)."""

    def check(user: CurrentUser) -> User:
        if user.role not in roles:
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"role {user.role} may not do this")
        return user

    return check


Staff = Annotated[User, Depends(require("admin", "operator"))]
Admin = Annotated[User, Depends(require("admin"))]
StaffOrGrid = Annotated[User, Depends(require("admin", "operator", "grid_worker"))]
DeviceReaders = Annotated[User, Depends(require("admin", "operator", "grid_worker", "vendor"))]
Family = Annotated[User, Depends(require("family"))]
