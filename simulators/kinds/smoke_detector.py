"""Smoke detectors: a kitchen alarm that clears, nuisance alarms while cooking, heartbeats."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from pydantic import Field

from devices.smoke_detector import SmokeAlarmEvent, SmokeDetectorTelemetry
from simulators.community.device_specs import SmokeDetectorSpec
from simulators.kinds.base import Args, Message
from simulators.kinds.detectors import COMMON_ACTIONS, DetectorSim


class Smoke(Args):
    """Smoke reaches the detector: it sounds and reports."""

    obscuration_pct_m: float = Field(8.0, ge=0, le=50, description="Obscuration, %/m")
    temperature_c: float | None = Field(None, ge=-30, le=120, description="Air temperature")


class SmokeDetectorSim(DetectorSim):
    """A smoke detector in a home."""

    kind = "smoke_detector"
    spec_type = SmokeDetectorSpec
    actions: ClassVar[dict[str, type[Args]]] = {"smoke": Smoke, **COMMON_ACTIONS}

    def heartbeat(self, now: datetime) -> SmokeDetectorTelemetry:
        """Battery, signal and a clean chamber."""
        return SmokeDetectorTelemetry(
            ts=now, seq=self.seq("telemetry"), battery_pct=round(self.battery, 1),
            signal_dbm=self.signal(), obscuration_pct_m=round(abs(self.rng.gauss(0, 0.05)), 2),
            temperature_c=round(self.rng.gauss(19, 1.5), 1))

    def nuisance_alarm(self, now: datetime) -> list[Message]:
        """Burnt food."""
        return self.act_smoke(Smoke(obscuration_pct_m=round(self.rng.uniform(4, 7), 1)), now)

    def act_smoke(self, args: Smoke, now: datetime) -> list[Message]:
        """The alarm sounds (a detector off its base senses nothing)."""
        if not self.mounted:
            return []
        self.alarming = True
        model = SmokeAlarmEvent(ts=now, seq=self.seq("event"), room=self.spec.room,
                                obscuration_pct_m=args.obscuration_pct_m,
                                temperature_c=args.temperature_c)
        return [self.message("event", model)]
