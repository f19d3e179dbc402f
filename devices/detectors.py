"""What the home fire-safety detectors (烟感 / 燃气报警器) share: health telemetry and events.

`smoke_detector` and `gas_detector` are separate kinds (their alarms and readings differ), but
a detector is a detector: it clears its alarm, tests itself, reports faults and a low battery,
and can be taken off its base — which elders do after a nuisance alarm while cooking, and which
leaves the home unprotected.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from devices.base import Event, SignalDbm, Telemetry
from devices.commands import CommandResult, CommandSpec

ROOM = Field(None, max_length=32, description="Where it hangs, as set at installation (kitchen)")


class DetectorTelemetry(Telemetry):
    """Heartbeat of a detector: battery (from the base) and radio signal."""

    signal_dbm: SignalDbm | None = None


class AlarmClearedEvent(Event):
    """The detector no longer senses smoke or gas and stopped sounding."""

    type: Literal["alarm_cleared"] = "alarm_cleared"


class HushedEvent(Event):
    """Someone pressed the hush button (消音): the siren stops for a while, the detector still
    senses; the alarm is over only with `alarm_cleared` (vendor round 5: refused, three hushes
    read as a faulty device)."""

    type: Literal["hushed"] = "hushed"


class SelfTestEvent(Event):
    """The detector tested its sensor and siren (button, remote command or schedule)."""

    type: Literal["self_test"] = "self_test"
    ok: bool = Field(description="Whether the sensor and the siren passed")
    trigger: Literal["button", "remote", "scheduled"] | None = Field(
        None, description="What started the test")


class FaultEvent(Event):
    """The detector cannot sense reliably (dirty chamber, sensor end of life, ...)."""

    type: Literal["fault"] = "fault"
    code: str = Field(min_length=1, max_length=32, description="Vendor fault code")
    detail: str | None = Field(None, max_length=200, description="What is wrong, readable")


class LowBatteryEvent(Event):
    """The battery fell below the detector's own threshold."""

    type: Literal["low_battery"] = "low_battery"
    battery_pct: float = Field(ge=0, le=100, description="Battery charge, percent")


class RemovedEvent(Event):
    """The detector was taken off its mounting base (or unplugged): the home is unprotected."""

    type: Literal["removed"] = "removed"


class SelfTestResult(CommandResult):
    """The outcome of a remote self-test (the detector also sends a `self_test` event)."""

    passed: bool | None = Field(None, description="Whether the test passed")


SELF_TEST = CommandSpec(
    acts=True,
    name="self_test",
    description="Test the sensor and sound the siren briefly (tell the resident first)",
    result=SelfTestResult,
    # A siren test is arranged with the resident on the phone; later it startles them.
    ttl_s=60.0, max_ttl_s=300.0,
)

# Other words detector firmware uses for the common events (vendor round 5 re-check).
OTHER_WORDS: tuple[tuple[str, str], ...] = (
    ("alarm_clear", "alarm_cleared"), ("alarm_end", "alarm_cleared"),
    ("alarm_recovered", "alarm_cleared"), ("alarm_restore", "alarm_cleared"),
    ("recovered", "alarm_cleared"), ("restored", "alarm_cleared"), ("cleared", "alarm_cleared"),
    ("报警解除", "alarm_cleared"), ("报警恢复", "alarm_cleared"), ("恢复", "alarm_cleared"),
    ("hush", "hushed"), ("mute", "hushed"), ("muted", "hushed"), ("silence", "hushed"),
    ("silenced", "hushed"), ("消音", "hushed"), ("静音", "hushed"),
    ("dismantle", "removed"), ("dismantled", "removed"), ("tamper", "removed"),
    ("防拆", "removed"), ("拆除", "removed"))

COMMON_EVENTS: tuple[type[Event], ...] = (
    AlarmClearedEvent, HushedEvent, SelfTestEvent, FaultEvent, LowBatteryEvent, RemovedEvent,
)
