"""What the smoke, gas and leak detector simulators share: heartbeats, tests, faults,
removal."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any, ClassVar

from pydantic import Field

from devices.detectors import (
    AlarmClearedEvent,
    FaultEvent,
    LowBatteryEvent,
    RemovedEvent,
    SelfTestEvent,
)
from simulators.community.device_specs import (
    GasDetectorSpec,
    LeakDetectorSpec,
    SmokeDetectorSpec,
)
from simulators.community.model import Community
from simulators.kinds.base import Args, DeviceSim, Message, NoArgs


class SelfTest(Args):
    """The resident presses the test button (or the detector tests itself)."""

    ok: bool = Field(True, description="Whether the test passes")


class Fault(Args):
    """The detector reports a fault."""

    code: str = Field("sensor", min_length=1, max_length=32, description="Vendor fault code")
    detail: str | None = Field(None, max_length=200, description="Readable detail")


class LowBattery(Args):
    """The battery runs down to a level (the detector reports it below 20 %)."""

    battery_pct: float = Field(15, ge=0, le=100, description="Battery level, percent")


class DetectorSim(DeviceSim):
    """A home detector: an alarm that clears, tests, faults, a battery, a mounting base."""

    telemetry_period_s = 3600.0
    spec_type: ClassVar[type[SmokeDetectorSpec | GasDetectorSpec | LeakDetectorSpec]]
    # Meals cooked at home: when a nuisance alarm (burnt food) is likeliest.
    COOKING_HOURS: ClassVar[tuple[tuple[float, float], ...]] = ((11.0, 12.5), (17.0, 19.0))

    def __init__(self, device_id: str, community: Community, rng: random.Random, *,
                 spontaneous: bool = True, routine: bool = True, seq_base: int = 0) -> None:
        super().__init__(device_id, community, rng, spontaneous=spontaneous, routine=routine,
                         seq_base=seq_base)
        self.spec: SmokeDetectorSpec | GasDetectorSpec | LeakDetectorSpec = self.spec_as(
            self.spec_type)
        self.battery = rng.uniform(60, 100)
        self.alarming = False
        self.mounted = True

    def cooking(self, hour: float) -> bool:
        """Whether someone is likely cooking now."""
        return any(lo <= hour < hi for lo, hi in self.COOKING_HOURS)

    def tick(self, now: datetime) -> list[Message]:
        """Battery drain, a rare nuisance alarm while cooking, then the heartbeat."""
        dt = self.period_s
        self.battery = max(0.0, self.battery - 0.002 * dt / 3600)  # years on one battery
        if self.cooking(self.hour(now)) and not self.alarming and self.chance(0.002, dt):
            when = self.soon(now, dt)
            self.schedule(when, self.nuisance_alarm)
            self.schedule(when + timedelta(minutes=self.rng.uniform(2, 6)),
                          lambda t: self.act_clear(NoArgs(), t))
        return [self.message("telemetry", self.heartbeat(now))]

    def heartbeat(self, now: datetime) -> Any:
        """The kind's telemetry model for now."""
        raise NotImplementedError

    def nuisance_alarm(self, now: datetime) -> list[Message]:
        """Burnt food: a short alarm."""
        raise NotImplementedError

    def signal(self) -> int:
        """Radio signal indoors, dBm."""
        return int(self.rng.gauss(-95, 5))

    # ---- scripted actions --------------------------------------------------------------------

    def act_clear(self, args: NoArgs, now: datetime) -> list[Message]:
        """Smoke or gas gone: the alarm stops (nothing is sent if it was not sounding)."""
        if not self.alarming:
            return []
        self.alarming = False
        return [self.message("event", AlarmClearedEvent(ts=now, seq=self.seq("event")))]

    def act_self_test(self, args: SelfTest, now: datetime) -> list[Message]:
        """A self-test and its outcome."""
        return [self.message("event", SelfTestEvent(ts=now, seq=self.seq("event"), ok=args.ok,
                                                    trigger="button"))]

    def act_fault(self, args: Fault, now: datetime) -> list[Message]:
        """A fault report."""
        return [self.message("event", FaultEvent(ts=now, seq=self.seq("event"), code=args.code,
                                                 detail=args.detail))]

    def act_low_battery(self, args: LowBattery, now: datetime) -> list[Message]:
        """The battery is low: the detector says so at once."""
        self.battery = args.battery_pct
        return [self.message("event", LowBatteryEvent(ts=now, seq=self.seq("event"),
                                                      battery_pct=args.battery_pct))]

    def act_remove(self, args: NoArgs, now: datetime) -> list[Message]:
        """Taken off its base (after a nuisance alarm, often)."""
        self.mounted = False
        return [self.message("event", RemovedEvent(ts=now, seq=self.seq("event")))]

    # ---- commands ----------------------------------------------------------------------------

    def cmd_self_test(self, args: dict[str, Any], now: datetime
                      ) -> tuple[bool, dict | None, str | None]:
        """A remote self-test: answered, and the test event follows."""
        if not self.mounted:
            return False, None, "detector is off its base"
        self.schedule(now + timedelta(seconds=5),
                      lambda t: self.act_self_test(SelfTest(ok=True), t))
        return True, {"passed": True}, None


COMMON_ACTIONS: dict[str, type[Args]] = {
    "clear": NoArgs, "self_test": SelfTest, "fault": Fault, "low_battery": LowBattery,
    "remove": NoArgs,
}
