"""Household gas detector (家用可燃气体探测器, 燃气报警器), often with a linked shut-off valve."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from devices.base import DeviceConfig, DeviceKind, Event
from devices.commands import CommandResult, CommandSpec
from devices.detectors import COMMON_EVENTS, OTHER_WORDS, ROOM, SELF_TEST, DetectorTelemetry
from devices.extremes import danger
from devices.words import stems

KEY = "gas_detector"

# `co`: a carbon-monoxide detector (a coal stove, a water heater), reported like the others.
Gas = Literal["natural_gas", "lpg", "coal_gas", "co"]
# Past the top of its scale (a sensor's `120`, `999`: past the lower explosive limit) a
# concentration is kept at it, over range, and judged (devices/extremes.py).
LEL = Field(None, ge=0, le=100, description="Gas concentration, percent of the lower explosive "
            "limit (%LEL)", json_schema_extra=danger("high"))
PPM = Field(None, ge=0, le=1_000_000, description="Gas concentration, parts per million (CO "
            "detectors, some methane sensors)", json_schema_extra=danger("high"))


class GasDetectorDevice(DeviceConfig):
    """Registration of a gas detector; `resident_id` names the householder it protects."""

    kind: Literal["gas_detector"] = "gas_detector"


class GasDetectorTelemetry(DetectorTelemetry):
    """Heartbeat: battery (if any), signal, and the concentration where the device reports it."""

    lel_pct: float | None = LEL
    ppm: float | None = PPM
    valve: Literal["open", "closed"] | None = Field(
        None, description="Linked shut-off valve's state (devices with a valve): a valve "
        "controller's heartbeat carries it (vendor round 7: it was refused whole)")


class ValveClosedEvent(Event):
    """The linked shut-off valve closed (by the detector on an alarm, or by a command)."""

    type: Literal["valve_closed"] = "valve_closed"
    detail: str | None = Field(None, max_length=200, description="Why, if the device says")


class ValveFaultEvent(Event):
    """The valve did not reach the state it was driven to (it may still be open in a leak)."""

    type: Literal["valve_fault"] = "valve_fault"
    detail: str | None = Field(None, max_length=200, description="What went wrong")


class GasAlarmEvent(Event):
    """The detector senses gas above its alarm level and sounds its siren."""

    type: Literal["gas_alarm"] = "gas_alarm"
    room: str | None = ROOM
    lel_pct: float | None = LEL
    ppm: float | None = PPM
    gas: Gas | None = Field(None, description="Gas the detector is made for")
    level: Literal["low", "high"] | None = Field(
        None, description="Which alarm of a two-level detector (GB 15322): low (低报) or high "
        "(高报)")
    valve_closed: bool | None = Field(
        None, description="Whether the linked shut-off valve closed (devices with a valve)")


class CloseValveResult(CommandResult):
    """The valve's state after the command."""

    valve_closed: bool | None = Field(None, description="Whether the valve is closed now")


CLOSE_VALVE = CommandSpec(
    acts=True,
    name="close_valve",
    description="Close the linked gas shut-off valve (only devices that have one)",
    result=CloseValveResult,
    # Worth doing for as long as the alarm may still be on; reopening is done on site.
    ttl_s=120.0, max_ttl_s=900.0,
)


KIND = DeviceKind(
    key=KEY,
    name_zh="燃气报警器",
    name_en="Gas detector",
    config=GasDetectorDevice,
    telemetry=GasDetectorTelemetry,
    events=(GasAlarmEvent, *COMMON_EVENTS, ValveClosedEvent, ValveFaultEvent),
    # Mains powered, with an hourly heartbeat: three silent hours is offline.
    offline_timeout_s=3 * 3600,
    lane_readings=True,
    # Mains-powered (it drives the shut-off valve): no vendor's own timeout past the kind's
    # (red team round 11: 26 h hid a dead one at a lone elder's).
    own_timeout_max_s=3 * 3600,
    description="Gas detectors in kitchens (first of all of elders who live alone).",
    command_specs=(SELF_TEST, CLOSE_VALVE),
    urgent=("gas_alarm",),
    urgent_stems=stems("gas_alarm", weak=("燃气", "可燃", "甲烷", "煤气", "天然气", "液化气",
                                          "一氧化碳", "气体", "gas", "methane", "lpg", "ch4")),
    other_words=(*OTHER_WORDS, ("gas_alarm_cleared", "alarm_cleared"),
                 ("co_alarm_cleared", "alarm_cleared"),
                 ("gas_cleared", "alarm_cleared"), ("燃气报警解除", "alarm_cleared"),
                 ("关阀", "valve_closed"), ("阀门关闭", "valve_closed"),
                 ("valve_close", "valve_closed"), ("valve_off", "valve_closed"),
                 ("阀门故障", "valve_fault"), ("valve_error", "valve_fault")),
    urgent_aliases=(("gas_leak", "gas_alarm"), ("leak", "gas_alarm"), ("gas", "gas_alarm"),
                    ("alarm", "gas_alarm"), ("gas_detected", "gas_alarm"),
                    ("gas_leakage", "gas_alarm"), ("leakage", "gas_alarm"),
                    ("combustible_gas", "gas_alarm"),
                    ("gas_warning", "gas_alarm"), ("alarm_gas", "gas_alarm"),
                    ("燃气泄漏", "gas_alarm"), ("燃气报警", "gas_alarm"),
                    ("可燃气体报警", "gas_alarm"),
                    # Vendor round 5: the two alarm levels of GB 15322 detectors, carbon
                    # monoxide and methane (with decorations: `gas_alarm_high` is read).
                    ("low_alarm", "gas_alarm"), ("high_alarm", "gas_alarm"),
                    ("低报", "gas_alarm"), ("高报", "gas_alarm"), ("co", "gas_alarm"),
                    ("ch4", "gas_alarm"), ("methane", "gas_alarm"), ("燃气", "gas_alarm"),
                    # Red team round 6: carbon monoxide, a leak.
                    ("一氧化碳", "gas_alarm"), ("泄漏", "gas_alarm"), ("漏气", "gas_alarm"),
                    ("alarm_on", "gas_alarm"), ("再次报警", "gas_alarm"),
                    ("报警", "gas_alarm"),
                    # Red team round 7: the common variant character of 泄漏.
                    ("燃气泄露", "gas_alarm"), ("泄露", "gas_alarm"),
                    ("可燃气体泄露", "gas_alarm"), ("可燃气体泄漏", "gas_alarm"),
                    ("gas_sensor_state", "gas_alarm")),
)
