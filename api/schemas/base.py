"""Shared bases of the request and response bodies."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, computed_field, model_validator
from pydantic_core import PydanticCustomError

from devices.place import Place


class PlacedModel(BaseModel):
    """A record with place fields, shown also as one `place` object."""

    @computed_field(description="Where it is, as one object (site, building, unit, room, grid)")
    @property
    def place(self) -> Place:
        """The record's place fields together."""
        return Place.of(self)


# Unknown fields named one by one up to this many; beyond, one error for them all: pydantic
# builds an error per unknown key, on the event loop — 60,000 keys cost 0.2 s a request, and
# a few such anonymous requests at once delayed other bands' SOS (red team round 3c).
UNKNOWN_FIELDS_LISTED = 20


class StrictBody(BaseModel):
    """A request body: unknown fields are refused, never ignored."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _not_thousands_of_unknown_fields(cls, data: Any) -> Any:
        if isinstance(data, dict) and len(data) > len(cls.model_fields) + UNKNOWN_FIELDS_LISTED:
            unknown = [k for k in data if k not in cls.model_fields]
            raise PydanticCustomError(
                "extra_forbidden", "{n} unknown fields (e.g. {names}): send only the body's "
                "own fields", {"n": len(unknown), "names": ", ".join(
                    str(k)[:40] for k in unknown[:5])})
        return data
