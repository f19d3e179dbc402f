"""Alarm poles: a press rings the control room (answered or not), power cuts, tamper, faults."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any, ClassVar

from pydantic import Field

from devices.alarm_pole import (
    AlarmPoleTelemetry,
    ButtonPressedEvent,
    CallConnectedEvent,
    CallEndedEvent,
    FaultEvent,
    TamperEvent,
)
from simulators.community.model import AlarmPoleSpec, Community
from simulators.kinds.base import Args, DeviceSim, Message

MAINS_V = 220.0


class Press(Args):
    """Someone presses the button; the pole rings the control room."""

    answer_after_s: int | None = Field(
        15, ge=1, le=600, description="Seconds until the control room answers (null: never)")
    talk_s: int = Field(90, ge=1, le=3600, description="How long the call lasts once answered")
    ring_s: int = Field(60, ge=1, le=600, description="How long an unanswered call rings")


class Detail(Args):
    """A tamper report."""

    detail: str = Field("door opened", max_length=200, description="What the sensor saw")


class Fault(Args):
    """A fault report."""

    code: str = Field("speaker", min_length=1, max_length=32, description="Vendor fault code")
    detail: str | None = Field(None, max_length=200, description="Readable detail")


class PowerCut(Args):
    """Mains power is off for a while; the pole runs on its battery."""

    for_s: int = Field(3600, ge=1, le=7 * 86_400, description="Seconds without mains")


class AlarmPoleSim(DeviceSim):
    """A one-button alarm pole with an intercom to the control room."""

    kind = "alarm_pole"
    telemetry_period_s = 300.0
    actions: ClassVar[dict[str, type[Args]]] = {
        "press": Press, "tamper": Detail, "fault": Fault, "power_cut": PowerCut,
    }

    def __init__(self, device_id: str, community: Community, rng: random.Random, *,
                 spontaneous: bool = True, routine: bool = True, seq_base: int = 0) -> None:
        super().__init__(device_id, community, rng, spontaneous=spontaneous, routine=routine,
                         seq_base=seq_base)
        self.spec = self.spec_as(AlarmPoleSpec)
        self.mains_off_until: datetime | None = None
        self.battery = 100.0
        self.calls = 0

    def on_mains(self, now: datetime) -> bool:
        """Whether mains power is on."""
        return self.mains_off_until is None or now >= self.mains_off_until

    def tick(self, now: datetime) -> list[Message]:
        """Rare incidents (a child's press in the day, tamper at night), then a heartbeat."""
        dt, hour = self.period_s, self.hour(now)
        if self.chance(0.003 if 8 <= hour < 20 else 0.0005, dt):
            self.schedule(self.soon(now, dt), lambda t: self.act_press(Press(), t))
        if self.chance(0.002 if hour < 5 else 0.0002, dt):
            self.schedule(self.soon(now, dt),
                          lambda t: self.act_tamper(Detail(detail="pole struck"), t))
        mains = self.on_mains(now)
        # The backup battery lasts about 8 h and recharges in about 4.
        self.battery = (min(100.0, self.battery + 25 * dt / 3600) if mains
                        else max(0.0, self.battery - 12.5 * dt / 3600))
        model = AlarmPoleTelemetry(
            ts=now, seq=self.seq("telemetry"), battery_pct=round(self.battery, 1),
            mains_v=round(MAINS_V + self.rng.gauss(0, 3), 1) if mains else 0.0,
            network="4g", signal_dbm=int(self.rng.gauss(-85, 4)))
        return [self.message("telemetry", model)]

    # ---- scripted actions --------------------------------------------------------------------

    def act_press(self, args: Press, now: datetime) -> list[Message]:
        """The alarm: a snapshot from the linked camera, then the intercom call."""
        camera = self.spec.camera
        snapshot = (f"nvr://{camera}/snapshot/{now.astimezone(self.tz):%Y%m%dT%H%M%S}"
                    if camera else None)
        model = ButtonPressedEvent(ts=now, seq=self.seq("event"), camera_id=camera,
                                   snapshot_ref=snapshot)
        self.calls += 1
        call_id = f"{self.id}-{self.calls}"
        if args.answer_after_s is None:
            end = now + timedelta(seconds=args.ring_s)
            self.schedule(end, lambda t: self._ended(call_id, None, t))
        else:
            answered = now + timedelta(seconds=args.answer_after_s)
            self.schedule(answered, lambda t: self._connected(call_id, t))
            end = answered + timedelta(seconds=args.talk_s)
            self.schedule(end, lambda t: self._ended(call_id, args.talk_s, t))
        return [self.message("event", model)]

    def _connected(self, call_id: str, now: datetime) -> list[Message]:
        model = CallConnectedEvent(ts=now, seq=self.seq("event"), call_id=call_id,
                                   answered_by="control-room-1")
        return [self.message("event", model)]

    def _ended(self, call_id: str, talk_s: int | None, now: datetime) -> list[Message]:
        model = CallEndedEvent(ts=now, seq=self.seq("event"), call_id=call_id,
                               duration_s=talk_s)
        return [self.message("event", model)]

    def act_tamper(self, args: Detail, now: datetime) -> list[Message]:
        """The pole senses tampering."""
        return [self.message("event", TamperEvent(ts=now, seq=self.seq("event"),
                                                  detail=args.detail))]

    def act_fault(self, args: Fault, now: datetime) -> list[Message]:
        """The pole reports a fault."""
        return [self.message("event", FaultEvent(ts=now, seq=self.seq("event"), code=args.code,
                                                 detail=args.detail))]

    def act_power_cut(self, args: PowerCut, now: datetime) -> list[Message]:
        """Mains goes off (visible in the heartbeats) and comes back after `for_s`."""
        self.mains_off_until = now + timedelta(seconds=args.for_s)
        return []

    # ---- commands ----------------------------------------------------------------------------

    def cmd_sound_siren(self, args: dict[str, Any], now: datetime
                        ) -> tuple[bool, dict | None, str | None]:
        """Siren and strobe for a while."""
        duration = args.get("duration_s", 30)
        if type(duration) is not int or not 1 <= duration <= 300:
            return False, None, "duration_s must be 1..300"
        return True, {"siren_s": duration}, None
