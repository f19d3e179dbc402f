"""Water-leak detector (水浸探测器): a probe on the floor of a kitchen, a bathroom, a pump room
or a lift pit that sounds when it gets wet. A leak in an elder's flat floods the neighbours
below within the hour; a flooded pump room or lift pit stops the building's water or lift."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from devices.base import DeviceConfig, DeviceKind, Event
from devices.detectors import COMMON_EVENTS, OTHER_WORDS, ROOM, DetectorTelemetry
from devices.extremes import danger

KEY = "leak_detector"


class LeakDetectorDevice(DeviceConfig):
    """Registration of a leak detector: in a home (`resident_id` names the householder) or in
    a building's plant room (no resident)."""

    kind: Literal["leak_detector"] = "leak_detector"


class LeakDetectorTelemetry(DetectorTelemetry):
    """Heartbeat: battery, signal, and whether the probe is wet now."""

    water_detected: bool | None = Field(
        None, description="Whether the probe is wet at the reading (a reading, never an alarm:"
        " the alarm is the `leak` event; `false` after a leak ends the alarm)")
    temperature_c: float | None = Field(None, ge=-30, le=80, description="Air temperature, °C")


class LeakEvent(Event):
    """The probe got wet: the detector sounds and reports."""

    type: Literal["leak"] = "leak"
    room: str | None = ROOM
    depth_mm: float | None = Field(
        None, ge=0, le=2000, description="Water depth at the probe, millimetres (rope or "
        "depth probes only)", json_schema_extra=danger("high"))


KIND = DeviceKind(
    key=KEY,
    name_zh="水浸探测器",
    name_en="Water-leak detector",
    config=LeakDetectorDevice,
    telemetry=LeakDetectorTelemetry,
    events=(LeakEvent, *COMMON_EVENTS),
    # Battery detectors send a heartbeat a day, like smoke detectors.
    offline_timeout_s=25 * 3600,
    lane_readings=True,
    description="Water-leak (flood) detectors in homes, pump rooms and lift pits.",
    # A leak is property damage, not a life in danger: no urgent confirmation, no alarm
    # words guessed at (a vendor sends `leak`, or its dialect maps its own word to it).
    other_words=(*OTHER_WORDS, ("leak_cleared", "alarm_cleared"), ("漏水解除", "alarm_cleared"),
                 ("water_leak", "leak"), ("flood", "leak"), ("水浸", "leak"),
                 ("水浸报警", "leak"), ("漏水", "leak"), ("漏水报警", "leak")),
)
