"""Assets with an expiry date (fire extinguishers, inspections, certificates): bodies."""

from __future__ import annotations

from datetime import date

from pydantic import Field

from api.schemas.base import PlacedModel, StrictBody
from devices.extinguisher import EXPIRY_MAX, EXPIRY_MIN


class AssetUpsert(StrictBody):
    """What staff record about an asset; `PUT /assets/{id}` creates or replaces it."""

    kind: str = Field(min_length=1, max_length=40,
                      description="What it is, e.g. fire_extinguisher, hydrant_inspection, "
                      "health_certificate")
    name: str = Field(min_length=1, max_length=100,
                      description="How operators call it, e.g. 3号楼1单元 灭火器 A")
    expires_on: date = Field(ge=EXPIRY_MIN, le=EXPIRY_MAX,
                             description="The date it expires (YYYY-MM-DD, community time, "
                             "2000-01-01 … 2099-12-31)")
    remind_days: int | None = Field(
        None, ge=0, le=365,
        description="Open the reminder ticket this many days before; default "
        "`workflow.reminder_days` (30)")
    site: str = Field("", max_length=64, description="Compound")
    building: str = Field("", max_length=64, description="Building")
    unit: str = Field("", max_length=64, description="Stairwell unit")
    grid: str = Field("", max_length=64, description="Grid whose worker the ticket goes to")
    device_id: str | None = Field(
        None, max_length=64, description="A registered device it is (a smart extinguisher)")


class AssetPublic(PlacedModel):
    """An asset as the console lists it."""

    id: str
    kind: str
    name: str
    expires_on: date
    remind_days: int | None
    site: str
    building: str
    unit: str
    grid: str
    device_id: str | None
    reminder_ticket_id: int | None = Field(
        None, description="The reminder ticket opened for the current expiry, once it was")
