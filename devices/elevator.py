"""Elevator monitor (电梯梯控 / 电梯物联网监测): a passenger trapped (困人), the car's alarm
button, faults, doors held open, e-bikes carried into the car (电动车入梯), and where the car is.

One device per car, registered to its building and stairwell unit. Trapped passengers and the
alarm button are urgent: they page the control room and open a ticket for the lift's keeper,
like an alarm pole's press. The monitors Chinese lift makers and retrofit vendors sell report
the car's floor, direction, doors and mode on a heartbeat, and their own fault codes.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from devices.base import (
    ANY_CASE,
    DeviceConfig,
    DeviceId,
    DeviceKind,
    Event,
    SignalDbm,
    SnapshotRef,
    Telemetry,
)
from devices.extremes import danger
from devices.words import BUTTON_WORDS, aliases, stems

Direction = Annotated[Literal["up", "down", "stopped"], ANY_CASE]
# The car's operating mode: in `inspection` and `maintenance` a technician drives it; `fire`
# is firefighters' service (消防运行); `emergency` runs on emergency power or after an
# earthquake (应急运行: a mode, not the alarm button); `out_of_service` stopped (停梯).
Mode = Annotated[Literal["normal", "inspection", "maintenance", "fire", "emergency",
                         "out_of_service"], ANY_CASE]

FLOOR = Field(None, ge=-10, le=200, description="Floor the car is at (basement 2 is -2)")
CAMERA = Field(None, description="Device id of the car's camera, as configured on the monitor")
SNAPSHOT = Field(None, description="Where the car's picture is: an http(s)://, rtsp(s):// or "
                 "nvr:// reference")


class ElevatorDevice(DeviceConfig):
    """Registration of one elevator car (its place: the building and stairwell unit it serves)."""

    kind: Literal["elevator"] = "elevator"


class ElevatorTelemetry(Telemetry):
    """Heartbeat: where the car is, which way it goes, its doors, load and mode."""

    floor: int | None = FLOOR
    direction: Direction | None = Field(None, description="Which way the car is moving")
    door_open: bool | None = Field(None, description="Whether the car's doors are open")
    occupied: bool | None = Field(None, description="Someone is in the car (its sensor)")
    load_pct: float | None = Field(None, ge=0, le=200, description="Load, % of rated load",
                                   json_schema_extra=danger("high"))
    mode: Mode | None = Field(None, description="Operating mode")
    signal_dbm: SignalDbm | None = None


class TrappedEvent(Event):
    """The car stopped with people inside and cannot move or open (困人)."""

    type: Literal["trapped"] = "trapped"
    floor: int | None = FLOOR
    door_open: bool | None = Field(None, description="Whether the doors are open (mostly not)")
    stopped_s: int | None = Field(
        None, ge=0, le=86_400, description="Seconds the car has stood still with people in it",
        json_schema_extra=danger("high"))
    camera_id: DeviceId | None = CAMERA
    snapshot_ref: SnapshotRef | None = SNAPSHOT


class EmergencyCallEvent(Event):
    """Someone pressed the car's alarm button (警铃 / 五方通话)."""

    type: Literal["emergency_call"] = "emergency_call"
    floor: int | None = FLOOR
    camera_id: DeviceId | None = CAMERA
    snapshot_ref: SnapshotRef | None = SNAPSHOT


class ReleasedEvent(Event):
    """The people in the car are out (困人解除): rescued, or the car moved again."""

    type: Literal["released"] = "released"
    floor: int | None = FLOOR
    detail: str | None = Field(None, max_length=200, description="How, readable")


class FaultEvent(Event):
    """The monitor reports a fault of the lift (its own code: 冲顶, 蹲底, 开门走梯, 超速 …)."""

    type: Literal["fault"] = "fault"
    code: str = Field(min_length=1, max_length=32, description="Vendor fault code")
    detail: str | None = Field(None, max_length=200, description="What is wrong, readable")
    floor: int | None = FLOOR


class FaultClearedEvent(Event):
    """The fault is gone (the lift runs normally again)."""

    type: Literal["fault_cleared"] = "fault_cleared"
    code: str | None = Field(None, max_length=32, description="The fault code that cleared")


class DoorHeldOpenEvent(Event):
    """The doors stood open longer than the monitor allows (blocked, or held)."""

    type: Literal["door_held_open"] = "door_held_open"
    floor: int | None = FLOOR
    open_s: int | None = Field(None, ge=0, le=86_400, description="Seconds they stood open")


class EbikeDetectedEvent(Event):
    """An electric bike was carried into the car (电动车入梯): a fire risk in the building."""

    type: Literal["ebike_detected"] = "ebike_detected"
    floor: int | None = FLOOR
    blocked: bool | None = Field(
        None, description="Whether the car held its doors and refused to move (梯控阻车)")
    camera_id: DeviceId | None = CAMERA
    snapshot_ref: SnapshotRef | None = SNAPSHOT
    confidence: float | None = Field(None, ge=0, le=1, description="Detector confidence")


class EbikeLeftEvent(Event):
    """The e-bike is out of the car again (电动车离开)."""

    type: Literal["ebike_left"] = "ebike_left"
    floor: int | None = FLOOR


class OutOfServiceEvent(Event):
    """The lift was taken out of service (停梯)."""

    type: Literal["out_of_service"] = "out_of_service"
    reason: Literal["maintenance", "inspection", "fault", "fire", "other"] = Field(
        "other", description="Why (left out: other); planned maintenance and inspections "
        "raise no alert")


class InServiceEvent(Event):
    """The lift is back in service."""

    type: Literal["in_service"] = "in_service"


KIND = DeviceKind(
    key="elevator",
    name_zh="电梯",
    name_en="Elevator",
    config=ElevatorDevice,
    telemetry=ElevatorTelemetry,
    events=(TrappedEvent, EmergencyCallEvent, ReleasedEvent, FaultEvent, FaultClearedEvent,
            DoorHeldOpenEvent, EbikeDetectedEvent, OutOfServiceEvent, InServiceEvent,
            EbikeLeftEvent),
    # Monitors beat every minute; five minutes of silence and nobody would hear a trapped car.
    offline_timeout_s=5 * 60,
    own_timeout_max_s=5 * 60,
    description="Elevator cars (one monitor per car): trapped passengers, alarm button, faults.",
    urgent=("trapped", "emergency_call"),
    urgent_stems=stems("trapped", strong=("困人", "被困", "关人", "困梯", "entrapment")),
    urgent_aliases=(*aliases("trapped", "困人", "电梯困人", "关人", "困梯", "passenger_trapped",
                             "people_trapped", "entrapment", "trapped_alarm", "被困",
                             # How lift-monitoring platforms class an entrapment (at a floor,
                             # between floors, in a power cut; vendor round 11: refused).
                             "平层困人", "非平层困人", "停电困人", "轿厢困人", "困人(停电)",
                             "困人故障", "停电关人", "trapped_passenger",
                             "power_outage_trapped"),
                    *aliases("emergency_call", *BUTTON_WORDS, "alarm_bell", "警铃",
                             # The car's intercom to the machine room, the control room …
                             "五方通话", "五方对讲", "对讲", "对讲呼叫", "轿厢报警", "轿厢呼救",
                             "intercom", "intercom_call", "呼救", "一键呼救")),
    other_words=(("困人解除", "released"), ("解困", "released"), ("rescued", "released"),
                 ("trapped_cleared", "released"), ("release", "released"),
                 ("故障", "fault"), ("fault_alarm", "fault"), ("故障恢复", "fault_cleared"),
                 ("fault_recovered", "fault_cleared"), ("fault_clear", "fault_cleared"),
                 ("开门超时", "door_held_open"), ("door_open_timeout", "door_held_open"),
                 ("door_open_too_long", "door_held_open"), ("电动车入梯", "ebike_detected"),
                 ("电瓶车入梯", "ebike_detected"), ("ebike", "ebike_detected"),
                 ("e_bike", "ebike_detected"), ("electric_bike", "ebike_detected"),
                 ("电动车离开", "ebike_left"), ("ebike_gone", "ebike_left"),
                 ("停梯", "out_of_service"), ("out_of_order", "out_of_service"),
                 ("恢复运行", "in_service"), ("back_in_service", "in_service")),
)
