"""Smart extinguishers: a daily heartbeat with the expiry date, a slow leak, a fire, a theft."""

from __future__ import annotations

import random
from datetime import date, datetime
from typing import ClassVar

from pydantic import Field

from devices.extinguisher import (
    DischargedEvent,
    ExtinguisherTelemetry,
    LowBatteryEvent,
    LowPressureEvent,
    RemovedEvent,
    ReplacedEvent,
)
from simulators.community.model import Community, ExtinguisherSpec
from simulators.kinds.base import Args, DeviceSim, Message, NoArgs

CHARGED_MPA = 1.2
LOW_MPA = 1.0  # the bottom of the gauge's green band


class Leak(Args):
    """The cylinder loses pressure down to a level (a worn valve seal)."""

    pressure_mpa: float = Field(0.8, ge=0, le=10, description="Pressure it falls to, MPa")


class LowBattery(Args):
    """The sensor cap's battery runs down to a level."""

    battery_pct: float = Field(15, ge=0, le=100, description="Battery level, percent")


class ExtinguisherSim(DeviceSim):
    """An extinguisher with a sensor cap, hanging in a stairwell."""

    kind = "extinguisher"
    telemetry_period_s = 86_400.0  # NB-IoT: one heartbeat a day
    actions: ClassVar[dict[str, type[Args]]] = {
        "leak": Leak, "take": NoArgs, "hang_back": NoArgs, "discharge": NoArgs,
        "low_battery": LowBattery,
    }

    def __init__(self, device_id: str, community: Community, rng: random.Random, *,
                 spontaneous: bool = True, routine: bool = True, seq_base: int = 0) -> None:
        super().__init__(device_id, community, rng, spontaneous=spontaneous, routine=routine,
                         seq_base=seq_base)
        self.spec = self.spec_as(ExtinguisherSpec)
        self.pressure = CHARGED_MPA + rng.uniform(-0.05, 0.05)
        self.battery = rng.uniform(60, 100)
        self.in_place = True

    def tick(self, now: datetime) -> list[Message]:
        """The day's heartbeat: pressure, bracket, battery and the expiry date."""
        self.battery = max(0.0, self.battery - 0.01)
        model = ExtinguisherTelemetry(
            ts=now, seq=self.seq("telemetry"), battery_pct=round(self.battery, 1),
            pressure_mpa=round(self.pressure, 2), in_place=self.in_place,
            expires_on=date.fromisoformat(self.spec.expires_on),
            signal_dbm=int(self.rng.gauss(-95, 5)))
        return [self.message("telemetry", model)]

    # ---- scripted actions --------------------------------------------------------------------

    def act_leak(self, args: Leak, now: datetime) -> list[Message]:
        """The pressure falls; below the green band the cap reports it."""
        self.pressure = args.pressure_mpa
        if self.pressure >= LOW_MPA:
            return []
        return [self.message("event", LowPressureEvent(
            ts=now, seq=self.seq("event"), pressure_mpa=round(self.pressure, 2)))]

    def act_take(self, args: NoArgs, now: datetime) -> list[Message]:
        """Someone takes it off its bracket."""
        self.in_place = False
        return [self.message("event", RemovedEvent(ts=now, seq=self.seq("event")))]

    def act_hang_back(self, args: NoArgs, now: datetime) -> list[Message]:
        """It is hung back on its bracket."""
        self.in_place = True
        return [self.message("event", ReplacedEvent(ts=now, seq=self.seq("event")))]

    def act_discharge(self, args: NoArgs, now: datetime) -> list[Message]:
        """Someone fights a fire with it: off the bracket, then emptied."""
        out = [] if not self.in_place else self.act_take(NoArgs(), now)
        self.pressure = 0.1
        out.append(self.message("event", DischargedEvent(
            ts=now, seq=self.seq("event"), pressure_mpa=self.pressure)))
        return out

    def act_low_battery(self, args: LowBattery, now: datetime) -> list[Message]:
        """The cap's battery runs low."""
        self.battery = args.battery_pct
        return [self.message("event", LowBatteryEvent(
            ts=now, seq=self.seq("event"), battery_pct=args.battery_pct))]
