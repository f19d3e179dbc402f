"""Cameras: fire-lane occupation with a dwell threshold, and objects thrown from height."""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta
from typing import ClassVar

from pydantic import Field

from devices.camera.models import (
    CameraTelemetry,
    FallingObjectEvent,
    FireLaneBlockedEvent,
    FireLaneClearedEvent,
    TrackPoint,
)
from simulators.community.model import CameraSpec, Community
from simulators.kinds.base import Args, DeviceSim, Message, NoArgs

FRAME_W, FRAME_H = 1280, 720
DWELL_S = 120.0  # the analyzer reports a vehicle only after it stood this long
FLOOR_M = 3.0
G = 9.81


class ParkCar(Args):
    """A vehicle stops in the watched fire lane for `for_s` seconds."""

    for_s: float = Field(gt=0, description="How long it stands there")
    confidence: float = Field(0.88, ge=0, le=1, description="Detector confidence")


class Blocked(Args):
    """Report the lane blocked now."""

    dwell_s: float = Field(DWELL_S, ge=0, description="How long it has stood there")
    confidence: float = Field(0.88, ge=0, le=1, description="Detector confidence")


class Thrown(Args):
    """Something falls from a floor of the watched facade."""

    floor: int | None = Field(None, ge=1, le=200, description="Floor; random if omitted")
    confidence: float = Field(0.93, ge=0, le=1, description="Detector confidence")


class CameraSim(DeviceSim):
    """A smart camera (or our analyzer beside a plain one) watching a lane or a facade."""

    kind = "camera"
    telemetry_period_s = 60.0
    actions: ClassVar[dict[str, type[Args]]] = {
        "park_car": ParkCar, "fire_lane_blocked": Blocked, "fire_lane_cleared": NoArgs,
        "falling_object": Thrown, "stream_lost": NoArgs, "stream_back": NoArgs,
    }

    def __init__(self, device_id: str, community: Community, rng: random.Random, *,
                 spontaneous: bool = True, routine: bool = True, seq_base: int = 0) -> None:
        super().__init__(device_id, community, rng, spontaneous=spontaneous, routine=routine,
                         seq_base=seq_base)
        self.spec = spec = self.spec_as(CameraSpec)
        self.zone = spec.fire_lane
        self.floors = community.building(spec.facade).floors if spec.facade else 0
        self.blocked = False
        self.stream_ok = True

    def tick(self, now: datetime) -> list[Message]:
        """Rare incidents (live mode), then health telemetry."""
        dt, hour = self.period_s, self.hour(now)
        out: list[Message] = []
        daytime = 7 <= hour < 22
        if self.zone and not self.blocked and self.chance(0.15 if daytime else 0.03, dt):
            stay = self.rng.lognormvariate(math.log(240), 0.8)
            out += self.act_park_car(ParkCar(for_s=stay), now)
        if self.floors and self.chance(0.004 if daytime else 0.001, dt):
            self.schedule(self.soon(now, dt), lambda t: self.act_falling_object(Thrown(), t))
        fps = round(min(30.0, max(0.0, self.rng.gauss(25, 0.3))), 1) if self.stream_ok else 0.0
        model = CameraTelemetry(ts=now, seq=self.seq("telemetry"), fps=fps,
                                stream_ok=self.stream_ok)
        out.append(self.message("telemetry", model))
        return out

    # ---- scripted actions --------------------------------------------------------------------

    def act_park_car(self, args: ParkCar, now: datetime) -> list[Message]:
        """Blocked once the dwell threshold passes, cleared when the vehicle leaves."""
        if not self.zone:
            raise ValueError(f"{self.id} watches no fire lane")
        if args.for_s >= DWELL_S:
            blocked = Blocked(dwell_s=DWELL_S, confidence=args.confidence)
            self.schedule(now + timedelta(seconds=DWELL_S),
                          lambda t: self.act_fire_lane_blocked(blocked, t))
            self.schedule(now + timedelta(seconds=args.for_s),
                          lambda t: self.act_fire_lane_cleared(NoArgs(), t))
        return []

    def act_fire_lane_blocked(self, args: Blocked, now: datetime) -> list[Message]:
        """The analyzer's 'blocked' event."""
        self.blocked = True
        model = FireLaneBlockedEvent(ts=now, seq=self.seq("event"), zone=self.zone or "",
                                     confidence=args.confidence, dwell_s=args.dwell_s)
        return [self.message("event", model)]

    def act_fire_lane_cleared(self, args: NoArgs, now: datetime) -> list[Message]:
        """The lane is free again."""
        self.blocked = False
        model = FireLaneClearedEvent(ts=now, seq=self.seq("event"), zone=self.zone or "",
                                     confidence=round(self.rng.uniform(0.85, 0.97), 2))
        return [self.message("event", model)]

    def act_falling_object(self, args: Thrown, now: datetime) -> list[Message]:
        """A falling-object event with a free-fall track in image coordinates."""
        if not self.floors:
            raise ValueError(f"{self.id} watches no facade")
        floor = min(args.floor or self.rng.randint(3, self.floors), self.floors)
        model = FallingObjectEvent(ts=now, seq=self.seq("event"), floor=floor,
                                   confidence=args.confidence, track=self._track(now, floor))
        return [self.message("event", model)]

    def _track(self, now: datetime, floor: int) -> list[TrackPoint]:
        # The facade fills the frame height: pixels per metre from the building's height.
        px_per_m = (FRAME_H - 40) / (self.floors * FLOOR_M)
        y0 = FRAME_H - 20 - floor * FLOOR_M * px_per_m
        x = self.rng.uniform(200, FRAME_W - 200)
        t0 = (now - now.replace(hour=0, minute=0, second=0, microsecond=0)).total_seconds()
        points, t = [], 0.0
        while len(points) < 60:
            y = y0 + 0.5 * G * t * t * px_per_m
            if y > FRAME_H - 10:
                break
            points.append(TrackPoint(t=round(t0 + t, 2), x=round(x + 3 * t, 1), y=round(y, 1)))
            t += 0.04
        return points

    def act_stream_lost(self, args: NoArgs, now: datetime) -> list[Message]:
        """The video source fails (fps 0, stream_ok false)."""
        self.stream_ok = False
        return []

    def act_stream_back(self, args: NoArgs, now: datetime) -> list[Message]:
        """The video source recovers."""
        self.stream_ok = True
        return []
