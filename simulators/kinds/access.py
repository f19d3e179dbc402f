"""Door controllers: residents coming and going, denied faces, forced and held doors, fences."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import ClassVar

from pydantic import Field

from devices.access import (
    AccessTelemetry,
    DeniedEvent,
    FenceIntrusionEvent,
    ForcedOpenEvent,
    HeldOpenEvent,
    UnlockEvent,
    UnlockMethod,
)
from simulators.community.model import AccessSpec, Community
from simulators.kinds.base import Args, DeviceSim, Message

METHODS: tuple[tuple[UnlockMethod, float], ...] = (
    ("face", 0.70), ("card", 0.20), ("qr", 0.08), ("password", 0.02))
DENIAL_REASONS = {"face": "face not matched", "card": "card expired", "qr": "qr code expired",
                  "password": "wrong password", "remote": "not authorised"}


class Unlock(Args):
    """Someone opens the door (a resident, or a visitor by QR code)."""

    method: UnlockMethod = Field("face", description="How they were recognised")
    resident: str | None = Field(None, description="Resident id, if recognised")
    door: str | None = Field(None, description="Door name; default the controller's first")


class Deny(Args):
    """Someone is refused."""

    method: UnlockMethod = Field("face", description="Method that was tried")
    reason: str = Field("unknown face", max_length=200, description="Why")
    door: str | None = Field(None, description="Door name")


class DoorOnly(Args):
    """An action on one door."""

    door: str | None = Field(None, description="Door name")


class HoldOpen(Args):
    """The door has stood open for `open_s` seconds (reported now)."""

    open_s: int = Field(ge=0, le=7 * 86_400, description="Seconds open so far")
    door: str | None = Field(None, description="Door name")


class Intrusion(Args):
    """The perimeter fence trips in a zone."""

    zone: str = Field(max_length=64, description="Fence zone, e.g. north-wall")


class AccessSim(DeviceSim):
    """A unit door, household door lock, gate or perimeter fence controller."""

    kind = "access"
    telemetry_period_s = 120.0
    actions: ClassVar[dict[str, type[Args]]] = {
        "unlock": Unlock, "deny": Deny, "force_open": DoorOnly, "hold_open": HoldOpen,
        "close": DoorOnly, "fence_intrusion": Intrusion,
    }

    def __init__(self, device_id: str, community: Community, rng: random.Random, *,
                 spontaneous: bool = True, routine: bool = True, seq_base: int = 0) -> None:
        super().__init__(device_id, community, rng, spontaneous=spontaneous, routine=routine,
                         seq_base=seq_base)
        self.spec = spec = self.spec_as(AccessSpec)
        self.household = spec.resident is not None
        if spec.doors:
            self.doors = list(spec.doors)
        elif spec.building is not None:
            self.doors = [f"unit-{spec.building}-{spec.unit}"]
        else:
            self.doors = [] if spec.fence_zones else ["main"]
        if spec.resident is not None:
            self.served = [spec.resident]
        elif spec.building is not None:
            self.served = [r.id for r in community.residents
                           if (r.building, r.unit) == (spec.building, spec.unit)]
        else:
            self.served = [r.id for r in community.residents]
        self.unlocks = 0
        self.denials = 0
        self.door_open = False
        self.battery = rng.uniform(70, 100) if self.household else None

    def traffic_per_hour(self, hour: float) -> float:
        """How often people pass this door at this local hour (rush hours busiest)."""
        if self.spec.fence_zones:
            return 0.0
        base = 8.0 if (7 <= hour < 9 or 17 <= hour < 19) else 3.0 if 6 <= hour < 22 else 0.3
        if self.household:
            return 0.0 if hour < 6 or hour >= 22 else 0.6
        return base * (6 if self.spec.gate else 1)

    def tick(self, now: datetime) -> list[Message]:
        """Background traffic and rare incidents of the period, then telemetry."""
        dt, hour = self.period_s, self.hour(now)
        night = hour < 5 or hour >= 23
        out: list[Message] = []
        for _ in range(self.count(self.traffic_per_hour(hour), dt, routine=True)):
            self.schedule(self.soon(now, dt), self._someone_passes)
        if self.doors and self.chance(0.02 if night else 0.002, dt):
            self.schedule(self.soon(now, dt), lambda t: self.act_force_open(DoorOnly(), t))
        if self.spec.fence_zones and self.chance(0.05 if night else 0.005, dt):
            zone = self.rng.choice(self.spec.fence_zones)
            self.schedule(self.soon(now, dt),
                          lambda t: self.act_fence_intrusion(Intrusion(zone=zone), t))
        if self.doors and not night and self.chance(0.03, dt):
            out += self.act_hold_open(HoldOpen(open_s=self.rng.randint(180, 600)), now)
            self.schedule(now + timedelta(seconds=60), lambda t: self.act_close(DoorOnly(), t))
        if self.battery is not None:
            self.battery = max(0.0, self.battery - 0.01 * dt / 3600)
        battery = None if self.battery is None else round(self.battery, 1)
        model = AccessTelemetry(ts=now, seq=self.seq("telemetry"), door_open=self.door_open,
                                unlock_count=self.unlocks, denied_count=self.denials,
                                battery_pct=battery)
        out.append(self.message("telemetry", model))
        return out

    def _someone_passes(self, when: datetime) -> list[Message]:
        method = self.rng.choices([m for m, _ in METHODS], [w for _, w in METHODS])[0]
        if self.household:
            method = "password"
        if self.rng.random() < 0.03:
            return self.act_deny(Deny(method=method, reason=DENIAL_REASONS[method]), when)
        resident = self.rng.choice(self.served) if method in ("face", "card") else None
        return self.act_unlock(Unlock(method=method, resident=resident), when)

    def resident_passes(self, resident: str, when: datetime) -> None:
        """A simulated wearer walked through this door: unlock by face (or their own lock)."""
        method: UnlockMethod = "password" if self.household else "face"
        self.schedule(when, lambda t: self.act_unlock(Unlock(method=method, resident=resident), t))

    def _door(self, door: str | None) -> str:
        return door or (self.doors[0] if self.doors else "main")

    # ---- scripted actions --------------------------------------------------------------------

    def act_unlock(self, args: Unlock, now: datetime) -> list[Message]:
        """An unlock event."""
        self.unlocks += 1
        model = UnlockEvent(ts=now, seq=self.seq("event"), method=args.method,
                            door=self._door(args.door), resident_id=args.resident)
        return [self.message("event", model)]

    def act_deny(self, args: Deny, now: datetime) -> list[Message]:
        """A denied attempt."""
        self.denials += 1
        model = DeniedEvent(ts=now, seq=self.seq("event"), method=args.method,
                            door=self._door(args.door), reason=args.reason)
        return [self.message("event", model)]

    def act_force_open(self, args: DoorOnly, now: datetime) -> list[Message]:
        """The door opened without an unlock."""
        self.door_open = True
        model = ForcedOpenEvent(ts=now, seq=self.seq("event"), door=self._door(args.door))
        return [self.message("event", model)]

    def act_hold_open(self, args: HoldOpen, now: datetime) -> list[Message]:
        """The controller reports a door standing open."""
        self.door_open = True
        model = HeldOpenEvent(ts=now, seq=self.seq("event"), door=self._door(args.door),
                              open_s=args.open_s)
        return [self.message("event", model)]

    def act_close(self, args: DoorOnly, now: datetime) -> list[Message]:
        """The door shuts again (visible in the next telemetry)."""
        self.door_open = False
        return []

    def act_fence_intrusion(self, args: Intrusion, now: datetime) -> list[Message]:
        """The perimeter fence trips."""
        model = FenceIntrusionEvent(ts=now, seq=self.seq("event"), zone=args.zone)
        return [self.message("event", model)]

    def cmd_unlock(self, args: dict, now: datetime) -> tuple[bool, dict | None, str | None]:
        """Remote unlock from the control room."""
        if self.spec.fence_zones:
            return False, None, "a fence controller has no door"
        self.schedule(now, lambda t: self.act_unlock(Unlock(method="remote"), t))
        return True, {"door": self._door(args.get("door")), "unlocked": True}, None
