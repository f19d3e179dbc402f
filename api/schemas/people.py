"""Bodies of residents, family links and what a family sees of its elder."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from api.schemas.base import StrictBody


class ResidentPublic(BaseModel):
    """A resident's profile."""

    id: str
    name: str
    tags: list[str]
    site: str


class ResidentUpdate(StrictBody):
    """Profile fields an operator may set."""

    name: str = Field("", max_length=64)
    tags: list[str] = Field(default_factory=list, max_length=20)
    site: str = Field("", max_length=64)


class FamilyLink(StrictBody):
    """Link a family account to a resident."""

    username: str
    relation: str = Field("", max_length=32)


class Location(BaseModel):
    """Where an elder is: the wristband's last fix."""

    resident_id: str
    device_id: str
    lat: float
    lon: float
    accuracy_m: float | None
    source: str | None
    fix_ts: float


class TrailPoint(BaseModel):
    """One position of an elder's trail."""

    ts: float
    device_id: str
    lat: float
    lon: float
    accuracy_m: float | None = None
    source: str | None = None


class VitalsPublic(BaseModel):
    """An elder's latest vital signs (each absent until a band reported it)."""

    heart_rate_bpm: float | None = None
    spo2_pct: float | None = None
    systolic_mmhg: float | None = None
    diastolic_mmhg: float | None = None
    glucose_mmol_l: float | None = None
    body_temp_c: float | None = None
    battery_pct: float | None = None
    measured_at: float | None = None
    worn: bool | None = Field(None, description="Whether the band is on the wrist now")
    worn_since: float | None = Field(None, description="Since when it is (or is not) worn")
    taken_at: dict[str, float] = Field(
        default_factory=dict, description="When each value shown was measured")
    missing: dict[str, str] = Field(
        default_factory=dict,
        description="Why a value is absent or old: not_worn, no_data, stale")


class AlarmHandling(BaseModel):
    """What the community did about an alarm (its ticket, in the family's words)."""

    code: str
    state: str
    assignee_name: str | None = None
    result: str | None = None
    rating: int | None = None
    steps: list[dict[str, Any]] = Field(default_factory=list,
                                        description="[{at, action, who}] oldest first")


class AlarmPublic(BaseModel):
    """An alarm of one of an elder's devices (an SOS or fall of the band, a radar's fall, a
    smoke alarm at home), with where, and what was done about it."""

    device_id: str
    type: str
    ts: float
    received_at: float | None = None
    kind: str | None = Field(None, description="The device's kind (wristband, radar, …)")
    room: str | None = Field(None, description="The room the device reported (bathroom)")
    category: str | None = Field(None, description="The category of the alert it raised")
    alert_id: int | None = None
    repeats: int = Field(0, description="Copies of the same press folded into this one")
    place_zh: str | None = None
    place_en: str | None = None
    worn: bool | None = None
    alert_state: str | None = None
    handling: AlarmHandling | None = None


class ElderPublic(BaseModel):
    """An elder as their family sees them."""

    id: str
    name: str
    devices: list[str]
    location: Location | None
