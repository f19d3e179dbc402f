"""Elevator monitors: a car going up and down all day, an occasional e-bike, a stop with people
inside (the alarm button, the monitor's trapped report, the rescue), faults and maintenance."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import ClassVar, Literal

from pydantic import Field

from devices.elevator import (
    EbikeDetectedEvent,
    ElevatorTelemetry,
    EmergencyCallEvent,
    FaultClearedEvent,
    FaultEvent,
    InServiceEvent,
    OutOfServiceEvent,
    ReleasedEvent,
    TrappedEvent,
)
from simulators.community.model import Community, ElevatorSpec
from simulators.kinds.base import Args, DeviceSim, Message, NoArgs


class Trap(Args):
    """The car stops between floors with people inside; they press the alarm button."""

    rescue_after_s: int = Field(1200, ge=60, le=7200, description="Seconds until they are out")
    press: bool = Field(True, description="Whether they press the alarm button first")


class Fault(Args):
    """A fault of the lift, cleared after a while."""

    code: str = Field("E35", min_length=1, max_length=32, description="Vendor fault code")
    detail: str | None = Field("门锁回路断开", max_length=200, description="Readable detail")
    for_s: int = Field(1800, ge=1, le=86_400, description="Seconds until it clears")


class Maintenance(Args):
    """Planned maintenance (or another stop) for a while."""

    reason: Literal["maintenance", "inspection", "fault", "fire", "other"] = Field(
        "maintenance", description="Why it stops")
    for_s: int = Field(3600, ge=60, le=86_400, description="Seconds out of service")


class ElevatorSim(DeviceSim):
    """One car of a residential building's lift."""

    kind = "elevator"
    telemetry_period_s = 60.0
    actions: ClassVar[dict[str, type[Args]]] = {
        "trap": Trap, "fault": Fault, "maintenance": Maintenance, "ebike": NoArgs,
    }

    def __init__(self, device_id: str, community: Community, rng: random.Random, *,
                 spontaneous: bool = True, routine: bool = True, seq_base: int = 0) -> None:
        super().__init__(device_id, community, rng, spontaneous=spontaneous, routine=routine,
                         seq_base=seq_base)
        self.spec = self.spec_as(ElevatorSpec)
        self.floor = 1
        self.stuck = False
        self.in_service = True

    def tick(self, now: datetime) -> list[Message]:
        """Rare e-bikes (evenings), then the minute's heartbeat: a busy car moves, a stuck
        one stands."""
        dt, hour = self.period_s, self.hour(now)
        if self.chance(0.05 if 17 <= hour < 22 else 0.005, dt):
            self.schedule(self.soon(now, dt), lambda t: self.act_ebike(NoArgs(), t))
        moving = self.in_service and not self.stuck and self.rng.random() < 0.4
        if moving:
            self.floor = self.rng.randint(1, self.spec.floors)
        model = ElevatorTelemetry(
            ts=now, seq=self.seq("telemetry"), floor=self.floor,
            direction=self.rng.choice(("up", "down")) if moving else "stopped",
            door_open=False if moving or self.stuck else self.rng.random() < 0.2,
            occupied=self.stuck or moving,
            load_pct=round(self.rng.uniform(5, 60), 0) if moving else 0.0,
            mode="normal" if self.in_service else "out_of_service",
            signal_dbm=int(self.rng.gauss(-88, 4)))
        return [self.message("telemetry", model)]

    # ---- scripted actions --------------------------------------------------------------------

    def _camera(self, now: datetime) -> tuple[str | None, str | None]:
        camera = self.spec.camera
        ref = (f"nvr://{camera}/snapshot/{now.astimezone(self.tz):%Y%m%dT%H%M%S}"
               if camera else None)
        return camera, ref

    def act_trap(self, args: Trap, now: datetime) -> list[Message]:
        """The alarm button (if pressed), the monitor's trapped report 30 s on, the rescue."""
        self.stuck = True
        self.floor = self.rng.randint(2, self.spec.floors)
        out = []
        if args.press:
            camera, ref = self._camera(now)
            out.append(self.message("event", EmergencyCallEvent(
                ts=now, seq=self.seq("event"), floor=self.floor, camera_id=camera,
                snapshot_ref=ref)))

        def trapped(t: datetime) -> list[Message]:
            camera, ref = self._camera(t)
            return [self.message("event", TrappedEvent(
                ts=t, seq=self.seq("event"), floor=self.floor, door_open=False, stopped_s=30,
                camera_id=camera, snapshot_ref=ref))]

        def released(t: datetime) -> list[Message]:
            self.stuck = False
            return [self.message("event", ReleasedEvent(
                ts=t, seq=self.seq("event"), floor=self.floor, detail="维保人员盘车放人"))]

        self.schedule(now + timedelta(seconds=30), trapped)
        self.schedule(now + timedelta(seconds=args.rescue_after_s), released)
        return out

    def act_fault(self, args: Fault, now: datetime) -> list[Message]:
        """A fault, cleared after `for_s`."""
        self.schedule(now + timedelta(seconds=args.for_s), lambda t: [self.message(
            "event", FaultClearedEvent(ts=t, seq=self.seq("event"), code=args.code))])
        return [self.message("event", FaultEvent(ts=now, seq=self.seq("event"), code=args.code,
                                                 detail=args.detail, floor=self.floor))]

    def act_maintenance(self, args: Maintenance, now: datetime) -> list[Message]:
        """Out of service for `for_s`, then back."""
        self.in_service = False

        def back(t: datetime) -> list[Message]:
            self.in_service = True
            return [self.message("event", InServiceEvent(ts=t, seq=self.seq("event")))]

        self.schedule(now + timedelta(seconds=args.for_s), back)
        return [self.message("event", OutOfServiceEvent(ts=now, seq=self.seq("event"),
                                                        reason=args.reason))]

    def act_ebike(self, args: NoArgs, now: datetime) -> list[Message]:
        """Someone wheels an e-bike in on the ground floor; the car holds its doors."""
        camera, ref = self._camera(now)
        return [self.message("event", EbikeDetectedEvent(
            ts=now, seq=self.seq("event"), floor=1, blocked=True, camera_id=camera,
            snapshot_ref=ref))]
