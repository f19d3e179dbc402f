"""Bodies of the administrators' views: dead letters and rules."""

from __future__ import annotations

from pydantic import BaseModel, Field

from api.schemas.base import StrictBody


class DeadLetterPublic(BaseModel):
    """A refused message."""

    id: int
    received_at: float
    topic: str
    reason: str
    detail: str
    device_id: str | None
    payload_size: int
    payload_preview: str


class RulePublic(BaseModel):
    """A loaded rule."""

    id: str
    kind: str
    severity: str
    category: str
    condition: str
    name_zh: str
    name_en: str
    enabled: bool


class RuleSwitch(StrictBody):
    """Why a rule is switched off or on (kept with the switch)."""

    reason: str = Field("", max_length=500)


class AdminActionPublic(BaseModel):
    """One administrative action: accounts, devices (register, bind, disable, enable,
    rotate), rules, door plates."""

    id: int
    at: float
    actor: str
    role: str
    action: str
    target: str
    detail: str
    client_addr: str
