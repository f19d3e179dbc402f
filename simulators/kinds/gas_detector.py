"""Gas detectors: a kitchen leak (the linked valve closes), heartbeats with the concentration."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from pydantic import Field

from devices.gas_detector import GasAlarmEvent, GasDetectorTelemetry
from simulators.community.device_specs import GasDetectorSpec
from simulators.kinds.base import Args, Message
from simulators.kinds.detectors import COMMON_ACTIONS, DetectorSim


class Gas(Args):
    """Gas above the alarm level reaches the detector."""

    lel_pct: float = Field(25.0, ge=0, le=100, description="Concentration, %LEL")


class GasDetectorSim(DetectorSim):
    """A gas detector in a kitchen, with or without a shut-off valve."""

    kind = "gas_detector"
    spec_type = GasDetectorSpec
    actions: ClassVar[dict[str, type[Args]]] = {"gas": Gas, **COMMON_ACTIONS}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.level = 0.0  # %LEL now
        self.valve_closed = False

    def heartbeat(self, now: datetime) -> GasDetectorTelemetry:
        """Battery-less (mains) detectors send no battery; the concentration is always sent."""
        level = self.level if self.alarming else round(abs(self.rng.gauss(0, 0.3)), 1)
        return GasDetectorTelemetry(ts=now, seq=self.seq("telemetry"), signal_dbm=self.signal(),
                                    lel_pct=level)

    def nuisance_alarm(self, now: datetime) -> list[Message]:
        """A flame blown out by a pot boiling over."""
        return self.act_gas(Gas(lel_pct=round(self.rng.uniform(12, 20), 1)), now)

    def act_gas(self, args: Gas, now: datetime) -> list[Message]:
        """The alarm sounds; a linked valve closes by itself."""
        if not self.mounted:
            return []
        self.alarming = True
        self.level = args.lel_pct
        spec = self.spec
        assert isinstance(spec, GasDetectorSpec)
        if spec.valve:
            self.valve_closed = True
        model = GasAlarmEvent(ts=now, seq=self.seq("event"), room=spec.room,
                              lel_pct=args.lel_pct, gas=spec.gas,
                              valve_closed=self.valve_closed if spec.valve else None)
        return [self.message("event", model)]

    def cmd_close_valve(self, args: dict[str, Any], now: datetime
                        ) -> tuple[bool, dict | None, str | None]:
        """Close the linked valve (refused when there is none)."""
        spec = self.spec
        assert isinstance(spec, GasDetectorSpec)
        if not spec.valve:
            return False, None, "no shut-off valve is linked to this detector"
        self.valve_closed = True
        return True, {"valve_closed": True}, None
