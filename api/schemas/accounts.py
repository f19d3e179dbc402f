"""Bodies of sign-in, sessions and accounts."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from api.schemas.base import StrictBody


class Token(BaseModel):
    """OAuth2 bearer token."""

    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int
    role: str
    session_expires_at: float | None = Field(
        None, description="When the sign-in session ends however busy (epoch s)")
    session_idle_s: float | None = Field(
        None, description="The session ends after this long without a request or refresh")


class SessionPublic(BaseModel):
    """One of the caller's sign-in sessions."""

    id: str
    created_at: float
    last_used_at: float
    expires_at: float
    client_addr: str
    user_agent: str
    current: bool


class PasswordChange(StrictBody):
    """A new password, with the current one as proof."""

    current_password: str = Field(min_length=1, max_length=200)
    new_password: str = Field(min_length=8, max_length=200)


class UserPublic(BaseModel):
    """An account as others may see it."""

    username: str
    role: str
    display_name: str
    grid: str | None
    vendor: str | None
