"""Where something is: the one declaration of site / building / unit / room / grid."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

PLACE_FIELDS: tuple[str, ...] = ("site", "building", "unit", "room", "grid")


class Place(BaseModel):
    """A place in the community: compound, building (楼栋), unit (单元), room, grid (网格).

    Devices, residents' door plates, alerts and tickets all carry one; every field may be
    empty (a camera on a lane has no unit or room; an alert raised for a whole site has no
    building). Frozen: two equal places are interchangeable and hashable.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    site: str = Field("", max_length=64, description="Community / compound (小区)")
    building: str = Field("", max_length=64, description="Building (楼栋)")
    unit: str = Field("", max_length=64, description="Stairwell unit (单元)")
    room: str = Field("", max_length=64, description="Flat / room (室)")
    grid: str = Field("", max_length=64, description="Grid cell (网格) responsible for it")

    @classmethod
    def of(cls, thing: Any) -> Place:
        """The place of anything with some of the place attributes (missing ones: empty)."""
        return cls.model_construct(**{f: getattr(thing, f, "") or "" for f in PLACE_FIELDS})

    @classmethod
    def coerce(cls, value: Place | Mapping[str, str] | None) -> Place:
        """A place from a place, a mapping of its fields (validated), or nothing (empty)."""
        if value is None:
            return EMPTY
        if isinstance(value, Place):
            return value
        return cls.model_validate(dict(value))

    def as_dict(self) -> dict[str, str]:
        """The five fields (for payloads and rows)."""
        return {f: getattr(self, f) for f in PLACE_FIELDS}

    def label_zh(self) -> str:
        """How people write it: 3号楼2单元301室 (empty parts left out)."""
        return "".join(text for value, text in (
            (self.building, f"{self.building}号楼"), (self.unit, f"{self.unit}单元"),
            (self.room, f"{self.room}室")) if value)

    def label_en(self) -> str:
        """The same in English: Bldg 3, Unit 2, Rm 301."""
        return ", ".join(text for value, text in (
            (self.building, f"Bldg {self.building}"), (self.unit, f"Unit {self.unit}"),
            (self.room, f"Rm {self.room}")) if value)

    def within(self, other: Place) -> bool:
        """Whether this place lies inside `other` (every field `other` names matches)."""
        return all(not getattr(other, f) or getattr(other, f) == getattr(self, f)
                   for f in PLACE_FIELDS)


EMPTY = Place()
