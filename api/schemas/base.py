"""Shared bases of the request and response bodies."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, computed_field

from devices.place import Place


class PlacedModel(BaseModel):
    """A record with place fields, shown also as one `place` object."""

    @computed_field(description="Where it is, as one object (site, building, unit, room, grid)")
    @property
    def place(self) -> Place:
        """The record's place fields together."""
        return Place.of(self)


class StrictBody(BaseModel):
    """A request body: unknown fields are refused, never ignored."""

    model_config = ConfigDict(extra="forbid")
