"""Smart parcel locker and shared tool cabinet (智能快递柜 / 共享工具柜)."""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import BeforeValidator, Field, model_validator
from pydantic_core import PydanticCustomError

from devices.base import DeviceConfig, DeviceKind, Event, Telemetry
from devices.commands import CommandArgs, CommandSpec

KEY = "locker"


def _label(value: object) -> object:
    """A compartment numbered, not labelled (`12`): its label is the number's text (vendor
    and red team rounds 4-6: `open_compartment` with 12 was refused 422)."""
    return str(value) if type(value) is int else value


Compartment = Annotated[str, BeforeValidator(_label)]


class LockerDevice(DeviceConfig):
    """Registration of a locker bank."""

    kind: Literal["locker"] = "locker"


class LockerTelemetry(Telemetry):
    """Occupancy counters of the bank."""

    compartments_total: int | None = Field(None, ge=0, le=1000, description="Compartments")
    compartments_occupied: int | None = Field(None, ge=0, le=1000, description="In use now")
    temperature_c: float | None = Field(None, ge=-40, le=85, description="Cabinet temperature")

    @model_validator(mode="after")
    def _occupied_within_total(self) -> Self:
        total, used = self.compartments_total, self.compartments_occupied
        if total is not None and used is not None and used > total:
            raise PydanticCustomError(
                "out_of_range", "compartments_occupied {used} exceeds compartments_total "
                "{total}", {"used": used, "total": total})
        return self


class ParcelDepositedEvent(Event):
    """A courier put a parcel in a compartment."""

    type: Literal["parcel_deposited"] = "parcel_deposited"
    compartment: Compartment = Field(min_length=1, max_length=16,
                                     description="Compartment label, e.g. L-3")
    parcel_id: str = Field(min_length=1, max_length=64, description="Courier's parcel id")
    recipient_id: str | None = Field(None, max_length=64, description="Resident, if known")


class ParcelPickedUpEvent(Event):
    """The recipient collected a parcel."""

    type: Literal["parcel_picked_up"] = "parcel_picked_up"
    compartment: Compartment = Field(min_length=1, max_length=16, description="Compartment label")
    parcel_id: str = Field(min_length=1, max_length=64, description="Courier's parcel id")


class DoorOpenTimeoutEvent(Event):
    """A compartment door was left open."""

    type: Literal["door_open_timeout"] = "door_open_timeout"
    compartment: Compartment = Field(min_length=1, max_length=16, description="Compartment label")
    open_s: int = Field(ge=0, le=7 * 86_400, description="How long it has been open, seconds")


class TamperEvent(Event):
    """The cabinet sensed prying, tilting or a cut cable."""

    type: Literal["tamper"] = "tamper"
    detail: str | None = Field(None, max_length=200, description="What the sensor saw")


class ToolBorrowedEvent(Event):
    """A resident borrowed a tool from the shared cabinet."""

    type: Literal["tool_borrowed"] = "tool_borrowed"
    compartment: Compartment = Field(min_length=1, max_length=16, description="Compartment label")
    tool: str = Field(min_length=1, max_length=64, description="Tool name")
    resident_id: str | None = Field(None, max_length=64, description="Borrower")


class ToolReturnedEvent(Event):
    """A borrowed tool came back."""

    type: Literal["tool_returned"] = "tool_returned"
    compartment: Compartment = Field(min_length=1, max_length=16, description="Compartment label")
    tool: str = Field(min_length=1, max_length=64, description="Tool name")
    resident_id: str | None = Field(None, max_length=64, description="Who returned it")


class OpenCompartmentArgs(CommandArgs):
    """Which compartment to open."""

    compartment: Compartment = Field(min_length=1, max_length=16, description="Compartment label")


OPEN_COMPARTMENT = CommandSpec(
    acts=True,
    per="compartment",
    name="open_compartment",
    description="Open one compartment (a resident who cannot use the code, say)",
    args=OpenCompartmentArgs,
    # Someone is standing at the locker waiting; later, an open door is a risk.
    ttl_s=60.0, max_ttl_s=300.0,
)


KIND = DeviceKind(
    key=KEY,
    name_zh="智能快递柜",
    name_en="Smart locker",
    config=LockerDevice,
    telemetry=LockerTelemetry,
    events=(
        ParcelDepositedEvent,
        ParcelPickedUpEvent,
        DoorOpenTimeoutEvent,
        TamperEvent,
        ToolBorrowedEvent,
        ToolReturnedEvent,
    ),
    offline_timeout_s=15 * 60,
    description="Parcel lockers and shared tool cabinets.",
    command_specs=(OPEN_COMPARTMENT,),
)
