"""Wristband wearers: a daily routine over the map, vitals with day/night rhythm, incidents."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, ClassVar, Literal

from pydantic import Field

from devices.base import Location
from devices.wristband import (
    FallEvent,
    LowBatteryEvent,
    RemovedEvent,
    SosEvent,
    WornEvent,
    WristbandTelemetry,
)
from simulators.community.geo import Point, contains, distance, random_point
from simulators.community.model import Community, WristbandSpec
from simulators.kinds import vitals
from simulators.kinds.base import Args, DeviceSim, Message, NoArgs
from simulators.kinds.routine import Outing, gate_at, plan_day, route

# Door hook: (where kind 'unit'|'gate', place id, resident id, when) → the world routes it.
DoorHook = Callable[[str, str, str, datetime], None]
LOW_BATTERY_PCT = 20.0
STRIDE_M = 0.55


class BeAt(Args):
    """Put the wearer somewhere at once (scenario set-up): a place id or `home`."""

    place: str = Field(description="Place id or 'home'")


class Go(Args):
    """Walk to a place (through the nearest gate when leaving the compound)."""

    place: str = Field(description="Place id or 'home'")
    speed_mps: float | None = Field(None, gt=0, le=3, description="Walking speed")


class Fall(Args):
    """The band detects a fall; the wearer stays down unless told to get up."""

    confidence: float = Field(0.92, ge=0, le=1, description="Detector confidence")
    gets_up_after_s: float | None = Field(None, ge=0, description="Gets up after this long")


class Silence(Args):
    """The band stops sending (battery dead, firmware hang)."""

    drop_connection: bool = Field(
        False, description="Also lose the connection, so the broker publishes the will"
    )


class Battery(Args):
    """Set the battery level (a crossing below 20 % sends low_battery)."""

    pct: float = Field(ge=0, le=100, description="Battery charge, percent")


class Vitals(Args):
    """Hold vitals at these values (with a little noise) for a while."""

    heart_rate_bpm: int | None = Field(None, ge=20, le=250, description="Heart rate")
    spo2_pct: float | None = Field(None, ge=50, le=100, description="SpO2")
    systolic_mmhg: int | None = Field(None, ge=50, le=280, description="Systolic")
    diastolic_mmhg: int | None = Field(None, ge=30, le=180, description="Diastolic")
    glucose_mmol_l: float | None = Field(None, ge=1, le=35, description="Glucose")
    for_s: float | None = Field(None, gt=0, description="How long; default until changed")


class Gps(Args):
    """Force the positioning source (e.g. `cell` fallback with poor accuracy)."""

    source: Literal["gps", "wifi", "cell"] | None = Field(description="Forced source or auto")
    for_s: float | None = Field(None, gt=0, description="How long; default until changed")


class WristbandSim(DeviceSim):
    """One wearer's band: moves them around, measures them, reports what happens."""

    kind = "wristband"
    telemetry_period_s = 60.0
    actions: ClassVar[dict[str, type[Args]]] = {
        "be_at": BeAt, "go": Go, "fall": Fall, "get_up": NoArgs, "sos": NoArgs,
        "remove": NoArgs, "wear": NoArgs, "battery": Battery, "silence": Silence,
        "resume": NoArgs, "vitals": Vitals, "gps": Gps, "report": NoArgs,
    }

    def __init__(self, device_id: str, community: Community, rng: random.Random, *,
                 spontaneous: bool = True, routine: bool = True, seq_base: int = 0) -> None:
        super().__init__(device_id, community, rng, spontaneous=spontaneous, routine=routine,
                         seq_base=seq_base)
        spec = self.spec_as(WristbandSpec)
        self.resident = community.resident(spec.resident)
        self.home: Point = community.home(self.resident.id)
        self.pos: Point = self.home
        self.route: list[Point] = []
        self.goal = "home"
        self.leave_at: datetime | None = None
        self.speed = rng.uniform(0.6, 1.0)
        self.plan: list[Outing] = []
        self.plan_date: Any = None
        self.worn = True
        self.charging = False
        self.battery = rng.uniform(55, 100)
        self.low_sent = False
        self.steps = 0
        self.steps_date: Any = None
        self.lying = False
        self.body = vitals.Body(self.resident, rng)
        self.gps_forced: tuple[str | None, datetime | None] = (None, None)
        self.hooks: list[DoorHook] = []
        self._places = {p.id for p in community.pois}

    # ---- the period --------------------------------------------------------------------------

    def tick(self, now: datetime) -> list[Message]:
        """Move, drain, maybe an incident, then telemetry."""
        dt = self.period_s
        out: list[Message] = []
        local = self.local(now)
        if self.steps_date != local.date():
            self.steps_date, self.steps = local.date(), 0
        if self.routine:
            out += self._follow_routine(now)
        if not self.lying and self.route:
            self._walk(now, self.speed * dt)
        elif not self.lying and self.goal != "home":
            self._potter(dt)
        out += self._battery(now, dt)
        out += self._spontaneous(now, dt)
        if not self.silent:
            out.append(self.telemetry(now))
        return out

    def telemetry(self, now: datetime) -> Message:
        """A reading of everything the band measures right now."""
        fields: dict[str, Any] = {"steps": self.steps, "worn": self.worn,
                                  "battery_pct": round(self.battery, 1)}
        if self.worn:
            fields.update(self.body.measure(now, self.hour(now), walking=bool(self.route),
                                            lying=self.lying))
        fields["location"] = self.fix(now)
        model = WristbandTelemetry(ts=now, seq=self.seq("telemetry"), **fields)
        return self.message("telemetry", model)

    def fix(self, now: datetime) -> Location:
        """A position fix: GPS outdoors, Wi-Fi at home, sometimes only a coarse cell fix."""
        forced, until = self.gps_forced
        if until is not None and now >= until:
            forced, self.gps_forced = None, (None, None)
        indoors = self.pos == self.home and not self.route
        source = forced or ("wifi" if indoors else "gps")
        if source == "cell":
            accuracy = self.rng.uniform(300, 1500)
        elif source == "wifi":
            accuracy = self.rng.uniform(15, 35)
        else:
            accuracy = self.rng.uniform(3, 12)
        # Reported error is about half the 68 % radius per axis: fixes scatter like real ones.
        x = self.pos[0] + self.rng.gauss(0, accuracy / 2)
        y = self.pos[1] + self.rng.gauss(0, accuracy / 2)
        lat, lon = self.community.frame.to_latlon((x, y))
        return Location(lat=round(lat, 6), lon=round(lon, 6), accuracy_m=round(accuracy, 1),
                        source=source)  # type: ignore[arg-type]

    # ---- behaviour ---------------------------------------------------------------------------

    def _follow_routine(self, now: datetime) -> list[Message]:
        local = self.local(now)
        if self.plan_date != local.date():
            self.plan_date = local.date()
            self.plan = plan_day(self.rng, self.resident, local.date(), self.tz)
        out: list[Message] = []
        hour = self.hour(now)
        # Charged overnight: off the wrist after 21:30, back on from 06:15.
        if self.worn and not self.lying and (hour >= 21.5 or hour < 6.0) and self.at_home():
            self.worn, self.charging = False, True
            out.append(self.event(RemovedEvent, now))
        elif not self.worn and self.charging and 6.25 <= hour < 21.5:
            self.worn, self.charging = True, False
            out.append(self.event(WornEvent, now))
        if self.lying:
            return out
        if self.at_home() and self.plan and self.plan[0].start <= now:
            outing = self.plan.pop(0)
            self.leave_at = None
            self.go(outing.place, now)
            self.leave_at = now + timedelta(seconds=outing.stay_s)
        elif self.goal != "home" and not self.route and self.leave_at and now >= self.leave_at:
            self.go("home", now)
        return out

    def at_home(self) -> bool:
        """Whether the wearer is at their own door (and not walking)."""
        return self.goal == "home" and not self.route

    def go(self, place: str, now: datetime, speed: float | None = None) -> None:
        """Start walking to a place or home."""
        if self.at_home() and place != "home":
            self._door("unit", f"{self.resident.building}/{self.resident.unit}", now)
        target = f"home:{self.resident.id}" if place == "home" else place
        self.route = route(self.community, self.pos, target, self.rng)
        self.goal = place
        if speed:
            self.speed = speed

    def _walk(self, now: datetime, metres: float) -> None:
        walked = 0.0
        while metres > 1e-9 and self.route:
            target = self.route[0]
            gap = distance(self.pos, target)
            if gap <= metres:
                self.pos, metres, walked = target, metres - gap, walked + gap
                self.route.pop(0)
                gate = gate_at(self.community, target)
                if gate:
                    self._door("gate", gate, now)
            else:
                f = metres / gap
                self.pos = (self.pos[0] + (target[0] - self.pos[0]) * f,
                            self.pos[1] + (target[1] - self.pos[1]) * f)
                walked, metres = walked + metres, 0.0
        self.steps += int(walked / STRIDE_M)
        if not self.route and self.goal == "home":
            self._door("unit", f"{self.resident.building}/{self.resident.unit}", now)

    def _potter(self, dt: float) -> None:
        """At a place people amble about (tai chi, market stalls): a few steps, small drift."""
        place = self.community.poi(self.goal) if self.goal in self._places else None
        self.steps += int(self.rng.uniform(0.05, 0.6) * dt)
        if place is not None:
            nudge = (self.pos[0] + self.rng.gauss(0, 3), self.pos[1] + self.rng.gauss(0, 3))
            if contains(place.polygon, nudge):
                self.pos = nudge

    def _door(self, where: str, place: str, now: datetime) -> None:
        for hook in self.hooks:
            hook(where, place, self.resident.id, now)

    def _battery(self, now: datetime, dt: float) -> list[Message]:
        if self.charging:
            self.battery = min(100.0, self.battery + 25 * dt / 3600)
        else:
            self.battery = max(0.0, self.battery - (2.0 if self.route else 1.0) * dt / 3600)
        return self._battery_events(now)

    def _battery_events(self, now: datetime) -> list[Message]:
        out: list[Message] = []
        if self.battery < LOW_BATTERY_PCT and not self.low_sent:
            self.low_sent = True
            out.append(self.event(LowBatteryEvent, now, battery_pct=round(self.battery, 1)))
        elif self.battery > LOW_BATTERY_PCT + 10:
            self.low_sent = False
        if self.battery <= 0 and not self.silent:
            out += self.act_silence(Silence(drop_connection=True), now)
        return out

    def _spontaneous(self, now: datetime, dt: float) -> list[Message]:
        out: list[Message] = []
        daytime = 7 <= self.hour(now) < 21
        if self.worn and self.chance(0.002, dt):
            # Pressed a moment later: only if the band is still on the wrist by then.
            self.schedule(self.soon(now, dt),
                          lambda t: self.act_sos(NoArgs(), t) if self.worn else [])
        if self.worn and not self.lying and self.chance(0.001, dt):
            out += self.act_fall(Fall(gets_up_after_s=self.rng.uniform(20, 400)), now)
        if self.worn and not self.lying and daytime and self.chance(0.01, dt):
            out += self.act_remove(NoArgs(), now)
            self.schedule(now + timedelta(minutes=self.rng.uniform(5, 40)),
                          lambda t: self.act_wear(NoArgs(), t))
        if self.gps_forced[0] is None and self.route and self.chance(0.3, dt, routine=True):
            self.gps_forced = ("cell", now + timedelta(seconds=self.rng.uniform(60, 300)))
        return out

    def event(self, model: type, now: datetime, **fields: Any) -> Message:
        """An event message with the next event sequence number."""
        return self.message("event", model(ts=now, seq=self.seq("event"), **fields))

    # ---- scripted actions --------------------------------------------------------------------

    def act_be_at(self, args: BeAt, now: datetime) -> list[Message]:
        """Teleport (set-up only: no doors, no steps)."""
        self.route, self.goal = [], args.place
        self.pos = (self.home if args.place == "home"
                    else random_point(self.community.poi(args.place).polygon, self.rng))
        return []

    def act_go(self, args: Go, now: datetime) -> list[Message]:
        """Walk somewhere."""
        self.lying = False
        self.go(args.place, now, args.speed_mps)
        self.leave_at = None  # scripted walks stay until told otherwise
        return []

    def act_fall(self, args: Fall, now: datetime) -> list[Message]:
        """Fall: event now, then lie still (no steps) until getting up. A band detects its
        wearer's fall only on the wrist: a scripted fall puts it on first."""
        out = self._wear_first(now)
        self.lying = True
        self.body.shock(now)
        msg = self.event(FallEvent, now, confidence=args.confidence, location=self.fix(now))
        if args.gets_up_after_s is not None:
            self.schedule(now + timedelta(seconds=args.gets_up_after_s),
                          lambda t: self.act_get_up(NoArgs(), t))
        return [*out, msg]

    def _wear_first(self, now: datetime) -> list[Message]:
        """Whoever presses SOS or falls has the band on: never an event a band off the wrist
        could not have sent."""
        if self.worn:
            return []
        self.worn, self.charging = True, False
        return [self.event(WornEvent, now)]

    def act_get_up(self, args: NoArgs, now: datetime) -> list[Message]:
        """Stand up and take a few steps; the band reports soon after."""
        self.lying = False
        self.steps += self.rng.randint(8, 20)
        self.schedule(now + timedelta(seconds=20), lambda t: self.act_report(NoArgs(), t))
        return []

    def act_sos(self, args: NoArgs, now: datetime) -> list[Message]:
        """The SOS button (一键报警); a scripted press puts the band on first."""
        return [*self._wear_first(now), self.event(SosEvent, now, location=self.fix(now))]

    def act_remove(self, args: NoArgs, now: datetime) -> list[Message]:
        """Take the band off (not while lying after a fall)."""
        if not self.worn or self.lying:
            return []
        self.worn = False
        return [self.event(RemovedEvent, now)]

    def act_wear(self, args: NoArgs, now: datetime) -> list[Message]:
        """Put the band back on."""
        if self.worn:
            return []
        self.worn, self.charging = True, False
        return [self.event(WornEvent, now)]

    def act_battery(self, args: Battery, now: datetime) -> list[Message]:
        """Jump the battery level."""
        self.battery = args.pct
        return self._battery_events(now)

    def act_silence(self, args: Silence, now: datetime) -> list[Message]:
        """Stop sending; with a lost connection the broker publishes the will ~1.5 keepalives
        later, which we emit on the band's behalf so virtual runs see it too."""
        self.silent = True
        if args.drop_connection:
            topic, body = self.will()
            self.schedule(now + timedelta(seconds=90), lambda t: [
                Message(t, self.id, topic, body, qos=1, retain=True)])
        return []

    def act_resume(self, args: NoArgs, now: datetime) -> list[Message]:
        """Start sending again (back online)."""
        self.silent = False
        return [self.status("online", now), self.telemetry(now)]

    def act_vitals(self, args: Vitals, now: datetime) -> list[Message]:
        """Hold vitals at given values."""
        until = now + timedelta(seconds=args.for_s) if args.for_s else None
        self.body.override(args.model_dump(exclude_none=True, exclude={"for_s"}), until)
        return []

    def act_gps(self, args: Gps, now: datetime) -> list[Message]:
        """Force a positioning source."""
        until = now + timedelta(seconds=args.for_s) if args.for_s else None
        self.gps_forced = (args.source, until)
        return []

    def act_report(self, args: NoArgs, now: datetime) -> list[Message]:
        """Send a telemetry reading now (outside the period)."""
        return [] if self.silent else [self.telemetry(now)]

    # ---- commands ----------------------------------------------------------------------------

    def cmd_locate(self, args: dict[str, Any], now: datetime) -> tuple[bool, dict | None, None]:
        """Locate now (family 'where is he?'): a fresh fix in the ack."""
        return True, {"location": self.fix(now).model_dump()}, None

    cmd_locate_now = cmd_locate
