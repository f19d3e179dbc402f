"""Bodies of the door-plate pages (residents, no login) and the staff's plate views."""

from __future__ import annotations

from pydantic import BaseModel, Field

from api.schemas.base import StrictBody


class CategoryChoice(BaseModel):
    """A category a resident may pick."""

    key: str
    zh: str
    en: str


class PlateOpen(BaseModel):
    """What the resident page shows for a plate."""

    code: str
    label: str
    label_en: str
    categories: list[CategoryChoice]
    photo_max_bytes: int
    photo_max_side_px: int
    emergency: str


class RequestReceipt(BaseModel):
    """The receipt: ticket code and the tracking link (keep it to follow and rate)."""

    ticket_code: str
    track: str
    track_url: str
    created: bool


class TrackStep(BaseModel):
    """One of 收集→派发→处置→反馈→办结 and when it was reached."""

    step: str
    at: float | None


class TrackView(BaseModel):
    """A request as its resident follows it."""

    code: str
    plate: str
    category: str
    category_zh: str
    category_en: str
    text: str
    state: str
    step: str
    steps: list[TrackStep]
    result: str | None
    rating: int | None
    can_rate: bool
    photos: int
    created_at: float
    updated_at: float


class RatingBody(StrictBody):
    """The resident's satisfaction (closes the request)."""

    rating: int = Field(ge=1, le=5)
    note: str = Field("", max_length=500)


class ReopenBody(StrictBody):
    """Not solved: what is still wrong."""

    note: str = Field(min_length=1, max_length=500)


class PlatePublic(BaseModel):
    """A plate as admins see it."""

    code: str
    label: str
    site: str
    building: str
    unit: str
    room: str
    grid: str
    version: int | None
    issued_at: float | None
    issued_by: str | None
    url: str | None


class PlateReporter(BaseModel):
    """Who reported a plate request and what they attached (staff on the ticket)."""

    ticket_id: int
    plate: str
    label: str
    phone: str
    photos: list[int]
    created_at: float
