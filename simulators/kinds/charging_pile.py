"""E-bike charging piles: sockets busy in the evening, a battery that runs hot (and may smoke),
an overload, heartbeats every five minutes."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import ClassVar

from pydantic import Field

from devices.charging_pile import (
    AlarmClearedEvent,
    ChargingPileTelemetry,
    ChargingStartedEvent,
    ChargingStoppedEvent,
    OverloadEvent,
    OverTemperatureEvent,
    SmokeAlarmEvent,
)
from simulators.community.model import ChargingPileSpec, Community
from simulators.kinds.base import Args, DeviceSim, Message

AMBIENT_C = 24.0


class Overheat(Args):
    """A socket's battery runs hot; past `smoke_at_c` it smokes; cooled after `for_s`."""

    port: int = Field(4, ge=1, le=64, description="Socket")
    temperature_c: float = Field(86, ge=40, le=200, description="How hot it gets, °C")
    smoke: bool = Field(False, description="Whether the battery smokes")
    for_s: int = Field(600, ge=60, le=7200, description="Seconds until it has cooled")


class Overload(Args):
    """A socket draws more than it is rated for and is cut."""

    port: int = Field(2, ge=1, le=64, description="Socket")
    power_w: float = Field(1450, ge=0, le=50_000, description="Power drawn, W")


class ChargingPileSim(DeviceSim):
    """A pile of sockets in the charging shed."""

    kind = "charging_pile"
    telemetry_period_s = 300.0
    actions: ClassVar[dict[str, type[Args]]] = {"overheat": Overheat, "overload": Overload}

    def __init__(self, device_id: str, community: Community, rng: random.Random, *,
                 spontaneous: bool = True, routine: bool = True, seq_base: int = 0) -> None:
        super().__init__(device_id, community, rng, spontaneous=spontaneous, routine=routine,
                         seq_base=seq_base)
        self.spec = self.spec_as(ChargingPileSpec)
        self.busy: set[int] = set()
        self.hot_c: float | None = None

    def tick(self, now: datetime) -> list[Message]:
        """Sockets taken and freed (busiest in the evening), then the heartbeat."""
        out: list[Message] = []
        evening = 18 <= self.hour(now) < 23
        free = [p for p in range(1, self.spec.ports + 1) if p not in self.busy]
        if free and self.chance(4.0 if evening else 0.8, self.period_s, routine=True):
            port = self.rng.choice(free)
            self.busy.add(port)
            out.append(self.message("event", ChargingStartedEvent(
                ts=now, seq=self.seq("event"), port=port)))
        if self.busy and self.chance(1.5, self.period_s, routine=True):
            port = self.rng.choice(sorted(self.busy))
            self.busy.discard(port)
            out.append(self.message("event", ChargingStoppedEvent(
                ts=now, seq=self.seq("event"), port=port,
                energy_wh=round(self.rng.uniform(200, 900)))))
        out.append(self.message("telemetry", ChargingPileTelemetry(
            ts=now, seq=self.seq("telemetry"), power_w=round(len(self.busy) * 180.0),
            ports_in_use=len(self.busy),
            temperature_c=round(self.hot_c or AMBIENT_C + 2.5 * len(self.busy) ** 0.5, 1),
            mains_v=round(self.rng.gauss(225, 3)), signal_dbm=int(self.rng.gauss(-82, 4)))))
        return out

    # ---- scripted actions --------------------------------------------------------------------

    def act_overheat(self, args: Overheat, now: datetime) -> list[Message]:
        """The socket reports over temperature (and smoke), then cools down."""
        self.hot_c = args.temperature_c
        out = [self.message("event", OverTemperatureEvent(
            ts=now, seq=self.seq("event"), port=args.port, temperature_c=args.temperature_c))]
        if args.smoke:
            out.append(self.message("event", SmokeAlarmEvent(
                ts=now, seq=self.seq("event"), port=args.port,
                temperature_c=args.temperature_c)))

        def cooled(t: datetime) -> list[Message]:
            self.hot_c = None
            return [self.message("event", AlarmClearedEvent(
                ts=t, seq=self.seq("event"), port=args.port))]

        self.schedule(now + timedelta(seconds=args.for_s), cooled)
        return out

    def act_overload(self, args: Overload, now: datetime) -> list[Message]:
        """The socket is cut for drawing too much."""
        self.busy.discard(args.port)
        return [self.message("event", OverloadEvent(
            ts=now, seq=self.seq("event"), port=args.port, power_w=args.power_w))]
