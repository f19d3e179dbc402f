"""Where something is: the one declaration of site / building / unit / room / grid."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

MAX_LENGTH = 64


class PlaceError(ValueError):
    """A place given as a mapping that is not one (unknown field, not text, too long)."""


@dataclass(frozen=True, slots=True)
class Place:
    """A place in the community: compound (小区), building (楼栋), unit (单元), room (室),
    grid (网格) responsible for it.

    Devices, door plates, alerts and tickets all carry one; any field may be empty (a camera
    on a lane has no unit or room; an alert for a whole site has no building). A frozen
    dataclass, not a model: the alert path builds one per firing, and two equal places are
    interchangeable and hashable.
    """

    site: str = ""
    building: str = ""
    unit: str = ""
    room: str = ""
    grid: str = ""

    @classmethod
    def of(cls, thing: Any) -> Place:
        """The place of anything with some of the place attributes (missing ones: empty)."""
        return cls(getattr(thing, "site", "") or "", getattr(thing, "building", "") or "",
                   getattr(thing, "unit", "") or "", getattr(thing, "room", "") or "",
                   getattr(thing, "grid", "") or "")

    @classmethod
    def coerce(cls, value: Place | Mapping[str, Any] | None) -> Place:
        """A place from a place, a mapping of its fields (checked), or nothing (empty)."""
        if value is None:
            return EMPTY
        if isinstance(value, Place):
            return value
        unknown = set(value) - set(PLACE_FIELDS)
        if unknown:
            raise PlaceError(f"not place fields: {sorted(unknown)}; fields: {PLACE_FIELDS}")
        for name, text in value.items():
            if not isinstance(text, str) or len(text) > MAX_LENGTH:
                raise PlaceError(f"place field {name!r} must be text of at most "
                                 f"{MAX_LENGTH} characters")
        return cls(**value)

    def as_dict(self) -> dict[str, str]:
        """The five fields (for payloads and rows)."""
        return {"site": self.site, "building": self.building, "unit": self.unit,
                "room": self.room, "grid": self.grid}

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


PLACE_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Place))
EMPTY = Place()
