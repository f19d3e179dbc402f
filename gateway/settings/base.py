"""What every settings section shares, and the development defaults production refuses."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

DEV_JWT_SECRET = "development-only-secret-change-me"
MIN_JWT_SECRET = 32  # characters of a production signing key
DEV_PLATE_KEY = "development-only-plate-key-change-me"
# Request categories a resident may pick on the door-plate page (keys of the workflow's
# catalogue): the everyday matters. Alarms (SOS, falls, fire) come from devices or 110/119/120.
RESIDENT_CATEGORIES = ["property", "sanitation", "water_leak", "access", "fire_lane",
                       "falling_object", "illegal_construction", "device_fault", "other"]


class Section(BaseModel):
    """A settings section: unknown keys are refused (a misspelt setting is an error)."""

    model_config = ConfigDict(extra="forbid")

