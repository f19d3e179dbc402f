"""Water-leak detectors: a bathroom that floods (until someone turns the water off), a floor
mopped wet for a minute, heartbeats."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from pydantic import Field

from devices.leak_detector import LeakDetectorTelemetry, LeakEvent
from simulators.community.device_specs import LeakDetectorSpec
from simulators.kinds.base import Args, Message
from simulators.kinds.detectors import COMMON_ACTIONS, DetectorSim


class Wet(Args):
    """Water reaches the probe: it sounds and reports."""

    depth_mm: float | None = Field(3.0, ge=0, le=2000, description="Water depth, millimetres")


class LeakDetectorSim(DetectorSim):
    """A leak probe on the floor of a room."""

    kind = "leak_detector"
    spec_type = LeakDetectorSpec
    actions: ClassVar[dict[str, type[Args]]] = {"leak": Wet, **COMMON_ACTIONS}
    # When floors are mopped: the likeliest short, harmless wetting of the probe.
    COOKING_HOURS: ClassVar[tuple[tuple[float, float], ...]] = ((8.0, 9.5), (19.0, 20.0))

    def heartbeat(self, now: datetime) -> LeakDetectorTelemetry:
        """Battery, signal and whether the probe is wet."""
        return LeakDetectorTelemetry(
            ts=now, seq=self.seq("telemetry"), battery_pct=round(self.battery, 1),
            signal_dbm=self.signal(), water_detected=self.alarming,
            temperature_c=round(self.rng.gauss(18, 1.5), 1))

    def nuisance_alarm(self, now: datetime) -> list[Message]:
        """A mop splashed the probe."""
        return self.act_leak(Wet(depth_mm=None), now)

    def act_leak(self, args: Wet, now: datetime) -> list[Message]:
        """The probe is wet (one taken away senses nothing)."""
        if not self.mounted:
            return []
        self.alarming = True
        model = LeakEvent(ts=now, seq=self.seq("event"), room=self.spec.room,
                          depth_mm=args.depth_mm)
        return [self.message("event", model)]
