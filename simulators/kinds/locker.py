"""Lockers: couriers' rounds, parcels collected (or left), tools borrowed, doors, tamper."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar

from pydantic import Field

from devices.locker import (
    DoorOpenTimeoutEvent,
    LockerTelemetry,
    ParcelDepositedEvent,
    ParcelPickedUpEvent,
    TamperEvent,
    ToolBorrowedEvent,
    ToolReturnedEvent,
)
from simulators.community.model import Community, LockerSpec
from simulators.kinds.base import Args, DeviceSim, Message

COURIER_ROUNDS = (10.5, 15.0, 18.5)  # local hours when the couriers come
CARRIERS = ("SF", "YT", "ZTO", "JD")


@dataclass
class Parcel:
    """A parcel waiting in a compartment."""

    parcel_id: str
    recipient: str | None


class Deposit(Args):
    """A courier puts a parcel in (free compartment and parcel id chosen when omitted)."""

    compartment: str | None = Field(None, max_length=16, description="Compartment, e.g. L-3")
    parcel_id: str | None = Field(None, max_length=64, description="Courier's parcel id")
    recipient: str | None = Field(None, description="Recipient resident id")


class PickUp(Args):
    """The recipient collects: by compartment or by parcel id."""

    compartment: str | None = Field(None, max_length=16, description="Compartment")
    parcel_id: str | None = Field(None, max_length=64, description="Parcel id")


class DoorTimeout(Args):
    """A compartment door left open."""

    compartment: str = Field(max_length=16, description="Compartment")
    open_s: int = Field(120, ge=0, le=7 * 86_400, description="Seconds open")


class Tamper(Args):
    """The cabinet senses prying or tilting."""

    detail: str = Field("cabinet tilted", max_length=200, description="What the sensor saw")


class Tool(Args):
    """A tool borrowed or returned (by compartment or tool name)."""

    compartment: str | None = Field(None, max_length=16, description="Tool compartment")
    tool: str | None = Field(None, max_length=64, description="Tool name")
    resident: str | None = Field(None, description="Borrower")


class LockerSim(DeviceSim):
    """A parcel locker bank or a shared tool cabinet."""

    kind = "locker"
    telemetry_period_s = 300.0
    actions: ClassVar[dict[str, type[Args]]] = {
        "deposit": Deposit, "pick_up": PickUp, "door_open_timeout": DoorTimeout,
        "tamper": Tamper, "borrow": Tool, "return_tool": Tool,
    }

    def __init__(self, device_id: str, community: Community, rng: random.Random, *,
                 spontaneous: bool = True, routine: bool = True, seq_base: int = 0) -> None:
        super().__init__(device_id, community, rng, spontaneous=spontaneous, routine=routine,
                         seq_base=seq_base)
        self.spec = self.spec_as(LockerSpec)
        self.parcels: dict[str, Parcel] = {}
        self.lent: dict[str, str | None] = {}  # tool compartment → borrower
        self.rounds_done: set[tuple[Any, float]] = set()

    def tick(self, now: datetime) -> list[Message]:
        """Courier rounds, tool traffic and rare incidents, then occupancy telemetry."""
        dt, hour = self.period_s, self.hour(now)
        out: list[Message] = []
        if self.routine and self.spec.parcel_compartments:
            for round_hour in COURIER_ROUNDS:
                key = (self.local(now).date(), round_hour)
                if hour >= round_hour and key not in self.rounds_done:
                    self.rounds_done.add(key)
                    out += self._courier_round(now)
        if self.spec.tools and 7 <= hour < 20:
            free = [c for c in self.spec.tools if c not in self.lent]
            if free and self.chance(0.2, dt, routine=True):
                out += self._lend(self.rng.choice(free), now)
        if self.chance(0.001, dt):
            out += self.act_tamper(Tamper(detail=self.rng.choice(
                ["cabinet tilted", "door pried", "power cable cut"])), now)
        occupied = len(self.parcels) + len(self.spec.tools) - len(self.lent)
        # A cabinet outdoors in Jining: about 8 °C at dawn, 16 °C mid-afternoon in late autumn.
        temp = 12 + 4 * math.sin((hour - 9) / 24 * 2 * math.pi) + self.rng.gauss(0, 0.3)
        model = LockerTelemetry(ts=now, seq=self.seq("telemetry"),
                                compartments_total=len(self.spec.compartments()),
                                compartments_occupied=occupied, temperature_c=round(temp, 1))
        out.append(self.message("telemetry", model))
        return out

    def _courier_round(self, now: datetime) -> list[Message]:
        out: list[Message] = []
        for _ in range(self.count(4 * self.spec.parcel_compartments / 48, 3600, routine=True)):
            recipient = (self.rng.choice(self.community.residents).id
                         if self.rng.random() < 0.85 else None)
            msgs = self.act_deposit(Deposit(recipient=recipient), now)
            if not msgs:
                break
            out += msgs
            compartment = next(c for c, p in self.parcels.items() if p.recipient == recipient)
            if self.rng.random() < 0.92:  # some parcels are simply left
                delay = self.rng.lognormvariate(math.log(4 * 3600), 0.9)
                self.schedule(now + timedelta(seconds=delay),
                              lambda t, c=compartment: self._collect(c, t))
        return out

    def _collect(self, compartment: str, now: datetime) -> list[Message]:
        out = self.act_pick_up(PickUp(compartment=compartment), now)
        if out and self.rng.random() < 0.02:
            out += self.act_door_open_timeout(DoorTimeout(compartment=compartment), now)
        return out

    def _lend(self, compartment: str, now: datetime) -> list[Message]:
        resident = self.rng.choice(self.community.residents).id
        out = self.act_borrow(Tool(compartment=compartment, resident=resident), now)
        back = now + timedelta(hours=self.rng.uniform(1, 30))
        self.schedule(back, lambda t: self.act_return_tool(
            Tool(compartment=compartment, resident=resident), t))
        return out

    def _parcel_id(self) -> str:
        return f"{self.rng.choice(CARRIERS)}{self.rng.randrange(10**11, 10**12)}"

    # ---- scripted actions --------------------------------------------------------------------

    def act_deposit(self, args: Deposit, now: datetime) -> list[Message]:
        """A parcel goes in; nothing happens when the bank is full."""
        free = [c for c in self.spec.compartments()
                if c.startswith("L-") and c not in self.parcels]
        compartment = args.compartment or (free[0] if free else None)
        if compartment is None:
            return []
        parcel = Parcel(args.parcel_id or self._parcel_id(), args.recipient)
        self.parcels[compartment] = parcel
        model = ParcelDepositedEvent(ts=now, seq=self.seq("event"), compartment=compartment,
                                     parcel_id=parcel.parcel_id, recipient_id=parcel.recipient)
        return [self.message("event", model)]

    def act_pick_up(self, args: PickUp, now: datetime) -> list[Message]:
        """A parcel comes out (no message if there is none)."""
        compartment = args.compartment or next(
            (c for c, p in self.parcels.items() if p.parcel_id == args.parcel_id), None)
        parcel = self.parcels.pop(compartment, None) if compartment else None
        if parcel is None or compartment is None:
            return []
        model = ParcelPickedUpEvent(ts=now, seq=self.seq("event"), compartment=compartment,
                                    parcel_id=parcel.parcel_id)
        return [self.message("event", model)]

    def act_door_open_timeout(self, args: DoorTimeout, now: datetime) -> list[Message]:
        """A door left open."""
        model = DoorOpenTimeoutEvent(ts=now, seq=self.seq("event"),
                                     compartment=args.compartment, open_s=args.open_s)
        return [self.message("event", model)]

    def act_tamper(self, args: Tamper, now: datetime) -> list[Message]:
        """Tamper alarm."""
        return [self.message("event", TamperEvent(ts=now, seq=self.seq("event"),
                                                  detail=args.detail))]

    def _tool_compartment(self, args: Tool) -> str:
        if args.compartment:
            return args.compartment
        for compartment, tool in self.spec.tools.items():
            if tool == args.tool:
                return compartment
        raise ValueError(f"{self.id} has no tool {args.tool!r}")

    def act_borrow(self, args: Tool, now: datetime) -> list[Message]:
        """A tool goes out."""
        compartment = self._tool_compartment(args)
        self.lent[compartment] = args.resident
        model = ToolBorrowedEvent(ts=now, seq=self.seq("event"), compartment=compartment,
                                  tool=self.spec.tools[compartment], resident_id=args.resident)
        return [self.message("event", model)]

    def act_return_tool(self, args: Tool, now: datetime) -> list[Message]:
        """A tool comes back."""
        compartment = self._tool_compartment(args)
        borrower = self.lent.pop(compartment, None)
        model = ToolReturnedEvent(ts=now, seq=self.seq("event"), compartment=compartment,
                                  tool=self.spec.tools[compartment],
                                  resident_id=args.resident or borrower)
        return [self.message("event", model)]

    # ---- commands ----------------------------------------------------------------------------

    def cmd_open_compartment(self, args: dict[str, Any], now: datetime
                             ) -> tuple[bool, dict | None, str | None]:
        """Open one compartment remotely (a grid worker helping an elder collect)."""
        compartment = str(args.get("compartment", ""))
        if compartment not in self.spec.compartments():
            return False, None, f"no compartment {compartment!r}"
        parcel = self.parcels.get(compartment)
        result: dict[str, Any] = {"compartment": compartment, "opened": True}
        if parcel:
            result["parcel_id"] = parcel.parcel_id
        return True, result, None

    cmd_open = cmd_open_compartment
