"""Device records of the community model, one shape per kind (discriminated by `kind`)."""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from simulators.community.geo import Point

Date = Annotated[str, Field(pattern=r"^\d{4}-\d{2}-\d{2}$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _DeviceBase(_Strict):
    id: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="Device id = MQTT username")
    name: str = Field("", description="Display name")
    vendor: str = Field("", description="Manufacturer")
    model: str = Field("", description="Model name")
    install_date: Date | None = Field(None, description="Installation date")
    grid: str | None = Field(None, description="Grid; derived from the placement when omitted")


class WristbandSpec(_DeviceBase):
    """A wristband bound to its wearer."""

    kind: Literal["wristband"] = "wristband"
    resident: str = Field(description="Wearer's resident id")


class AccessSpec(_DeviceBase):
    """A door controller at a unit door or a gate, or a perimeter-fence controller."""

    kind: Literal["access"] = "access"
    building: str | None = Field(None, description="Building of a unit door")
    unit: str | None = Field(None, description="Unit of a unit door")
    gate: str | None = Field(None, description="Gate id of a gate controller")
    doors: list[str] = Field(default_factory=list, description="Door names; default derived")
    fence_zones: list[str] = Field(default_factory=list, description="Fence zones it watches")
    resident: str | None = Field(
        None, description="Household door sensor of this resident (with building+unit)"
    )

    @model_validator(mode="after")
    def _one_placement(self) -> Self:
        placements = [self.unit is not None, self.gate is not None, bool(self.fence_zones)]
        if sum(placements) != 1 or (self.unit is None) != (self.building is None):
            raise ValueError("give exactly one of building+unit, gate or fence_zones")
        return self


class CameraSpec(_DeviceBase):
    """A camera watching a fire lane or a high-rise facade."""

    kind: Literal["camera"] = "camera"
    fire_lane: str | None = Field(None, description="Fire-lane id it watches")
    facade: str | None = Field(None, description="Building id whose facade it watches")

    @model_validator(mode="after")
    def _one_target(self) -> Self:
        if (self.fire_lane is None) == (self.facade is None):
            raise ValueError("give exactly one of fire_lane or facade")
        return self


class LockerSpec(_DeviceBase):
    """A parcel locker bank or a shared tool cabinet."""

    kind: Literal["locker"] = "locker"
    at: Point = Field(description="Position, local metres")
    parcel_compartments: int = Field(0, ge=0, le=1000, description="Parcel compartments L-1…")
    tools: dict[str, str] = Field(default_factory=dict, description="Tool compartment → tool")

    @model_validator(mode="after")
    def _has_compartments(self) -> Self:
        if not self.parcel_compartments and not self.tools:
            raise ValueError("a locker needs parcel_compartments or tools")
        return self

    def compartments(self) -> list[str]:
        """Every compartment label: parcels L-1…L-n, then tool compartments."""
        return [f"L-{i}" for i in range(1, self.parcel_compartments + 1)] + list(self.tools)


class AlarmPoleSpec(_DeviceBase):
    """A one-button alarm pole in a yard, a square or at a gate (grid from its building, or
    given)."""

    kind: Literal["alarm_pole"] = "alarm_pole"
    at: Point = Field(description="Position, local metres")
    building: str | None = Field(None, description="Building it stands by, if any")
    camera: str | None = Field(None, description="Camera watching the pole (on its presses)")


class _HomeSpec(_DeviceBase):
    """A device in a resident's home: placed at the home, bound to the householder."""

    resident: str = Field(description="Householder's resident id")
    room: str = Field("kitchen", max_length=32, description="Room it is installed in")


class SmokeDetectorSpec(_HomeSpec):
    """A smoke detector in a home."""

    kind: Literal["smoke_detector"] = "smoke_detector"


class GasDetectorSpec(_HomeSpec):
    """A gas detector in a kitchen, perhaps with a linked shut-off valve."""

    kind: Literal["gas_detector"] = "gas_detector"
    gas: Literal["natural_gas", "lpg", "coal_gas"] = Field("natural_gas", description="Gas")
    valve: bool = Field(False, description="Whether a shut-off valve is linked to it")


class LeakDetectorSpec(_HomeSpec):
    """A water-leak probe on the floor of a room of a home."""

    kind: Literal["leak_detector"] = "leak_detector"
    room: str = Field("bathroom", max_length=32, description="Room it lies in")


class WaterMeterSpec(_HomeSpec):
    """A household water meter with its register reading at the start of a simulation."""

    kind: Literal["water_meter"] = "water_meter"
    room: str = Field("meter_box", max_length=32, description="Where it is installed")
    start_l: float = Field(0, ge=0, le=1e10, description="Register at the start, litres")
    valve: bool = Field(True, description="Whether it has a remote shut-off valve")


class ExtinguisherSpec(_DeviceBase):
    """A smart extinguisher hanging in a stairwell (its unit and floor) with its expiry."""

    kind: Literal["extinguisher"] = "extinguisher"
    building: str = Field(description="Building")
    unit: str = Field(description="Stairwell unit")
    floor: int = Field(1, ge=-5, le=200, description="Floor it hangs on")
    expires_on: Date = Field(description="When the extinguisher expires")


class ElevatorSpec(_DeviceBase):
    """One elevator car of a building's stairwell unit."""

    kind: Literal["elevator"] = "elevator"
    building: str = Field(description="Building")
    unit: str = Field(description="Stairwell unit it serves")
    floors: int = Field(11, ge=2, le=200, description="Highest floor it serves")
    camera: str | None = Field(None, description="The car's camera (on its alarms)")


class ChargingPileSpec(_DeviceBase):
    """An e-bike charging pile in a compound's charging shed (by a building)."""

    kind: Literal["charging_pile"] = "charging_pile"
    building: str = Field(description="Building the shed stands by")
    ports: int = Field(10, ge=1, le=64, description="Sockets on the pile")


class RadarSpec(_HomeSpec):
    """A fall and presence radar on the ceiling of a room of a home."""

    kind: Literal["radar"] = "radar"
    room: str = Field("bathroom", max_length=32, description="Room it watches")


HomeSpec = SmokeDetectorSpec | GasDetectorSpec | LeakDetectorSpec | WaterMeterSpec | RadarSpec

DeviceSpec = Annotated[
    WristbandSpec | AccessSpec | CameraSpec | LockerSpec | AlarmPoleSpec | SmokeDetectorSpec
    | GasDetectorSpec | LeakDetectorSpec | WaterMeterSpec | ExtinguisherSpec | ElevatorSpec
    | RadarSpec | ChargingPileSpec,
    Field(discriminator="kind"),
]
