"""Fall and presence radars: visits to the bathroom all day, now and then a fall or a stay too
long, and the elder getting up (or being helped up) again."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import ClassVar

from pydantic import Field

from devices.radar import FallEvent, LeftEvent, LongStayEvent, RadarTelemetry
from simulators.community.device_specs import RadarSpec
from simulators.community.model import Community
from simulators.kinds.base import Args, DeviceSim, Message


class Fall(Args):
    """The elder falls in the room and stays down until helped."""

    confidence: float = Field(0.92, ge=0, le=1, description="The radar's certainty")
    helped_after_s: int = Field(900, ge=60, le=86_400, description="Seconds until helped up")


class LongStay(Args):
    """The elder stays in the room (on the toilet, collapsed without a seen fall)."""

    stay_s: int = Field(1800, ge=60, le=86_400, description="The stay the radar reports")
    leaves_after_s: int = Field(600, ge=60, le=86_400,
                                description="Seconds after the report until they leave")


class RadarSim(DeviceSim):
    """A ceiling radar in an elder's bathroom."""

    kind = "radar"
    telemetry_period_s = 60.0
    actions: ClassVar[dict[str, type[Args]]] = {"fall": Fall, "long_stay": LongStay}

    def __init__(self, device_id: str, community: Community, rng: random.Random, *,
                 spontaneous: bool = True, routine: bool = True, seq_base: int = 0) -> None:
        super().__init__(device_id, community, rng, spontaneous=spontaneous, routine=routine,
                         seq_base=seq_base)
        self.spec = self.spec_as(RadarSpec)
        self.inside_since: datetime | None = None
        self.down = False

    def tick(self, now: datetime) -> list[Message]:
        """A few visits a day, then the minute's heartbeat."""
        dt = self.period_s
        if self.inside_since is None and 6 <= self.hour(now) < 23 and self.chance(0.6, dt):
            self.inside_since = now
        elif self.inside_since is not None and not self.down \
                and now - self.inside_since > timedelta(minutes=self.rng.uniform(3, 12)):
            self.inside_since = None
        inside = self.inside_since is not None
        stay = int((now - self.inside_since).total_seconds()) if self.inside_since else 0
        model = RadarTelemetry(
            ts=now, seq=self.seq("telemetry"), presence=inside, target_count=int(inside),
            stay_s=stay if inside else None,
            posture=("lying" if self.down else "standing") if inside else None,
            breath_rpm=round(self.rng.gauss(16, 1.5), 1) if inside else None,
            signal_dbm=int(self.rng.gauss(-70, 4)))
        return [self.message("telemetry", model)]

    def act_fall(self, args: Fall, now: datetime) -> list[Message]:
        """The fall, and the elder up again (helped) later."""
        self.inside_since = self.inside_since or now
        self.down = True

        def helped(t: datetime) -> list[Message]:
            self.down = False
            self.inside_since = None
            return [self.message("event", LeftEvent(ts=t, seq=self.seq("event"),
                                                     room=self.spec.room))]

        self.schedule(now + timedelta(seconds=args.helped_after_s), helped)
        return [self.message("event", FallEvent(
            ts=now, seq=self.seq("event"), room=self.spec.room, confidence=args.confidence,
            posture="lying"))]

    def act_long_stay(self, args: LongStay, now: datetime) -> list[Message]:
        """The radar reports the stay; the elder leaves the room later."""
        self.inside_since = now - timedelta(seconds=args.stay_s)

        def left(t: datetime) -> list[Message]:
            self.inside_since = None
            return [self.message("event", LeftEvent(ts=t, seq=self.seq("event"),
                                                     room=self.spec.room))]

        self.schedule(now + timedelta(seconds=args.leaves_after_s), left)
        return [self.message("event", LongStayEvent(
            ts=now, seq=self.seq("event"), room=self.spec.room, stay_s=args.stay_s,
            posture="sitting"))]
