"""Water meters: a household's day of water use, leaks, the valve, a replaced meter."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar

from pydantic import Field

from devices.water_meter import LowBatteryEvent, TamperEvent, ValveFaultEvent, WaterMeterTelemetry
from simulators.community.model import Community, WaterMeterSpec
from simulators.kinds.base import Args, DeviceSim, Message, NoArgs

# Uses per hour by local hour in a one-person home (about 120 L a day): mornings and evenings
# busy, a toilet visit now and then at night.
_RATES = ((0, 0.05), (6, 1.6), (9, 0.6), (11, 1.0), (13, 0.45), (17, 1.1), (21, 0.6), (22, 0.1))
# (litres, minutes, weight): a flush, washing hands or face, cooking, dishes, a shower.
_USES = ((6.0, 0.5, 5), (3.0, 1.5, 5), (8.0, 3.0, 2), (15.0, 6.0, 1.5), (45.0, 9.0, 0.6))


def uses_per_hour(hour: float) -> float:
    """Expected water uses per hour at a local hour."""
    rate = 0.0
    for start, value in _RATES:
        if hour >= start:
            rate = value
    return rate


@dataclass
class Use:
    """Water running at `rate` litres/min from `start` to `end`."""

    start: datetime
    end: datetime
    rate: float


class UseWater(Args):
    """Someone uses water now (a flush is 6 L in half a minute)."""

    litres: float = Field(10.0, gt=0, le=2000, description="How much")
    minutes: float = Field(2.0, gt=0, le=600, description="Over how long")


class Quiet(Args):
    """Nobody uses water for a while (away, ill, or fallen): routine use stops."""

    for_s: int = Field(ge=1, le=30 * 86_400, description="Seconds without use")


class Leak(Args):
    """A pipe or a cistern starts leaking: water runs until it is fixed or the valve closes."""

    flow_l_min: float = Field(2.0, gt=0, le=100, description="Leak flow, litres per minute")


class Replace(Args):
    """The meter is replaced (or its register reset): the register starts again."""

    start_l: float = Field(0.0, ge=0, le=1e10, description="Register of the new meter")


class Detail(Args):
    """A tamper or valve-fault report."""

    detail: str | None = Field(None, max_length=200, description="What happened")


class Battery(Args):
    """The battery runs low."""

    battery_pct: float = Field(15, ge=0, le=100, description="Battery level, percent")


class WaterMeterSim(DeviceSim):
    """A household meter reporting every 15 minutes."""

    kind = "water_meter"
    telemetry_period_s = 900.0
    actions: ClassVar[dict[str, type[Args]]] = {
        "use": UseWater, "quiet": Quiet, "leak": Leak, "fix_leak": NoArgs,
        "close_valve": NoArgs, "open_valve": NoArgs, "replace": Replace, "tamper": Detail,
        "valve_fault": Detail, "low_battery": Battery,
    }

    def __init__(self, device_id: str, community: Community, rng: random.Random, *,
                 spontaneous: bool = True, routine: bool = True, seq_base: int = 0) -> None:
        super().__init__(device_id, community, rng, spontaneous=spontaneous, routine=routine,
                         seq_base=seq_base)
        self.spec = self.spec_as(WaterMeterSpec)
        self.total = self.spec.start_l
        self.uses: list[Use] = []
        self.leak = 0.0
        self.valve_open = True
        self.quiet_until: datetime | None = None
        self.battery = rng.uniform(55, 100)
        self._counted: datetime | None = None  # the register holds every drop up to here

    # ---- the register ------------------------------------------------------------------------

    def _flow_between(self, start: datetime, end: datetime) -> float:
        litres = 0.0
        for use in self.uses:
            overlap = (min(use.end, end) - max(use.start, start)).total_seconds()
            litres += use.rate * max(0.0, overlap) / 60
        return litres + self.leak * (end - start).total_seconds() / 60

    def count_up(self, now: datetime) -> None:
        """Add the water that ran since the last count (none through a closed valve)."""
        if self._counted is not None and now > self._counted and self.valve_open:
            self.total += self._flow_between(self._counted, now)
        self._counted = now if self._counted is None else max(self._counted, now)
        self.uses = [u for u in self.uses if u.end > now]

    def flow_now(self, now: datetime) -> float:
        """Litres per minute running at this instant."""
        if not self.valve_open:
            return 0.0
        return self.leak + sum(u.rate for u in self.uses if u.start <= now < u.end)

    def start_use(self, litres: float, minutes: float, now: datetime) -> list[Message]:
        """Water starts running for a use."""
        self.count_up(now)
        self.uses.append(Use(now, now + timedelta(minutes=minutes), litres / minutes))
        return []

    # ---- time --------------------------------------------------------------------------------

    def tick(self, now: datetime) -> list[Message]:
        """Uses of the coming period, rare incidents, then the reading."""
        dt, hour = self.period_s, self.hour(now)
        quiet = self.quiet_until is not None and now < self.quiet_until
        if not quiet:
            for _ in range(self.count(uses_per_hour(hour), dt, routine=True)):
                litres, minutes, _ = self.rng.choices(_USES, [w for *_, w in _USES])[0]
                self.schedule(self.soon(now, dt),
                              lambda t, v=litres, m=minutes: self.start_use(v, m, t))
        if self.leak == 0 and self.chance(0.0001, dt):  # a cistern that keeps running
            start = self.soon(now, dt)
            self.schedule(start, lambda t: self.act_leak(Leak(flow_l_min=1.5), t))
            fixed = start + timedelta(hours=self.rng.uniform(3, 6))
            self.schedule(fixed, lambda t: self.act_fix_leak(NoArgs(), t))
        self.count_up(now)
        self.battery = max(0.0, self.battery - 0.002 * dt / 3600)
        model = WaterMeterTelemetry(
            ts=now, seq=self.seq("telemetry"), total_l=round(self.total, 1),
            flow_l_min=round(self.flow_now(now), 2),
            valve=("open" if self.valve_open else "closed") if self.spec.valve else None,
            battery_pct=round(self.battery, 1), signal_dbm=int(self.rng.gauss(-98, 4)))
        return [self.message("telemetry", model)]

    # ---- scripted actions --------------------------------------------------------------------

    def act_use(self, args: UseWater, now: datetime) -> list[Message]:
        """Water used now (seen in the next readings)."""
        return self.start_use(args.litres, args.minutes, now)

    def act_quiet(self, args: Quiet, now: datetime) -> list[Message]:
        """No routine use for a while."""
        self.quiet_until = now + timedelta(seconds=args.for_s)
        return []

    def act_leak(self, args: Leak, now: datetime) -> list[Message]:
        """A leak starts."""
        self.count_up(now)
        self.leak = args.flow_l_min
        return []

    def act_fix_leak(self, args: NoArgs, now: datetime) -> list[Message]:
        """The leak is repaired."""
        self.count_up(now)
        self.leak = 0.0
        return []

    def act_close_valve(self, args: NoArgs, now: datetime) -> list[Message]:
        """The shut-off valve closes (by hand or by command)."""
        self.count_up(now)
        self.valve_open = False
        return []

    def act_open_valve(self, args: NoArgs, now: datetime) -> list[Message]:
        """The valve opens again."""
        self.count_up(now)
        self.valve_open = True
        return []

    def act_replace(self, args: Replace, now: datetime) -> list[Message]:
        """A new meter: its register starts at `start_l` (lower than the old one's)."""
        self.count_up(now)
        self.total = args.start_l
        return []

    def act_tamper(self, args: Detail, now: datetime) -> list[Message]:
        """A magnet on the meter."""
        return [self.message("event", TamperEvent(ts=now, seq=self.seq("event"),
                                                  detail=args.detail or "magnetic field"))]

    def act_valve_fault(self, args: Detail, now: datetime) -> list[Message]:
        """The valve is stuck."""
        return [self.message("event", ValveFaultEvent(ts=now, seq=self.seq("event"),
                                                      detail=args.detail))]

    def act_low_battery(self, args: Battery, now: datetime) -> list[Message]:
        """The battery runs low: the meter says so at once."""
        self.battery = args.battery_pct
        return [self.message("event", LowBatteryEvent(ts=now, seq=self.seq("event"),
                                                      battery_pct=args.battery_pct))]

    # ---- commands ----------------------------------------------------------------------------

    def cmd_set_valve(self, args: dict[str, Any], now: datetime
                      ) -> tuple[bool, dict | None, str | None]:
        """Drive the valve (refused by a meter without one)."""
        state = args.get("state")
        if not self.spec.valve:
            return False, None, "this meter has no valve"
        if state not in ("open", "closed"):
            return False, None, "state must be open or closed"
        self.count_up(now)
        self.valve_open = state == "open"
        return True, {"valve": state}, None
