"""What every device simulator shares: messages, sequence numbers, an agenda, commands."""

from __future__ import annotations

import heapq
import itertools
import json
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, TypeVar
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict

from devices import topics
from devices.base import CommandAck, Status
from simulators.community.model import Community


@dataclass(frozen=True, slots=True)
class Message:
    """One MQTT publication: when (scenario time), where, what, and how."""

    ts: datetime
    device_id: str
    topic: str
    payload: bytes
    qos: int = 1
    retain: bool = False


class Args(BaseModel):
    """Base of an action's arguments (strict, so a typo in a scenario file is caught)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class NoArgs(Args):
    """An action without arguments."""


@dataclass(order=True)
class _Agendum:
    when: datetime
    order: int
    run: Callable[[datetime], list[Message]] = field(compare=False)


_order = itertools.count()


SpecT = TypeVar("SpecT")

class DeviceSim:
    """A device: publishes on a schedule, acts on scripted actions, answers commands."""

    kind: ClassVar[str]
    telemetry_period_s: ClassVar[float] = 60.0
    # Scripted actions a scenario may call: name → argument model; method `act_<name>`.
    actions: ClassVar[dict[str, type[Args]]] = {}

    def __init__(self, device_id: str, community: Community, rng: random.Random, *,
                 spontaneous: bool = True, routine: bool = True, seq_base: int = 0) -> None:
        self.id = device_id
        self.community = community
        self.rng = rng
        # Random incidents (falls, tampering …) only when asked: scenarios script theirs.
        self.spontaneous = spontaneous
        # Everyday traffic (people passing doors, couriers, wearers' outings); off in most
        # scenarios so that only scripted things happen.
        self.routine = routine
        self.silent = False
        self.tz = ZoneInfo(community.site.timezone)
        self._seq: dict[str, int] = {}
        self._seq_base = seq_base
        self._agenda: list[_Agendum] = []
        self._next_telemetry: datetime | None = None
        self.period_s = self.telemetry_period_s

    def spec_as(self, spec_type: type[SpecT]) -> SpecT:
        """This device's entry in the community model, checked to be of the expected kind."""
        spec = self.community.device(self.id)
        if not isinstance(spec, spec_type):
            raise TypeError(f"{self.id} is a {type(spec).__name__}, not a {spec_type.__name__}")
        return spec

    # ---- contract helpers -----------------------------------------------------------------

    def topic(self, channel: str) -> str:
        """This device's topic on a channel (`telemetry`, `event`, `status`, `cmd/ack`)."""
        return topics.topic(self.kind, self.id, channel)

    def seq(self, channel: str) -> int:
        """Next sequence number of a channel; the base keeps restarted runs from colliding."""
        self._seq[channel] = self._seq.get(channel, 0) + 1
        return self._seq_base + self._seq[channel]

    def message(self, channel: str, model: BaseModel, *, qos: int = 1,
                retain: bool = False) -> Message:
        """Serialise a payload model the way the vendor guide shows it."""
        ts = getattr(model, "ts", None) or datetime.now(UTC)
        body = model.model_dump_json(exclude_none=True).encode()
        return Message(ts, self.id, self.topic(channel), body, qos, retain)

    def will(self) -> tuple[str, bytes]:
        """The MQTT last will: retained `offline` status."""
        return self.topic("status"), b"offline"

    def local(self, when: datetime) -> datetime:
        """Scenario time in the community's time zone (routines are local)."""
        return when.astimezone(self.tz)

    def hour(self, when: datetime) -> float:
        """Local hour of day as a float."""
        t = self.local(when)
        return t.hour + t.minute / 60 + t.second / 3600

    # ---- lifecycle ------------------------------------------------------------------------

    def start(self, now: datetime) -> list[Message]:
        """Come online: retained status, and the first telemetry within one period."""
        self._next_telemetry = now + timedelta(seconds=self.rng.randint(1, int(self.period_s)))
        return [self.status("online", now)]

    def stop(self, now: datetime) -> list[Message]:
        """Clean shutdown: say offline (the will covers unclean ones)."""
        return [self.status("offline", now)]

    def status(self, state: str, now: datetime) -> Message:
        """A retained status message with a timestamp and sequence."""
        model = Status(state=state, ts=now, seq=self.seq("status"))  # type: ignore[arg-type]
        return self.message("status", model, retain=True)

    def schedule(self, when: datetime, run: Callable[[datetime], list[Message]]) -> None:
        """Do `run(when)` once scenario time reaches `when`."""
        heapq.heappush(self._agenda, _Agendum(when, next(_order), run))

    def next_due(self) -> datetime | None:
        """Earliest time this device has something to do."""
        candidates = [t for t in (self._next_telemetry,) if t is not None]
        if self._agenda:
            candidates.append(self._agenda[0].when)
        return min(candidates) if candidates else None

    def advance(self, now: datetime) -> list[Message]:
        """Everything due up to `now`, in time order: agenda items and telemetry ticks."""
        out: list[Message] = []
        while True:
            due = self.next_due()
            if due is None or due > now:
                break
            if self._agenda and self._agenda[0].when == due:
                item = heapq.heappop(self._agenda)
                out += item.run(item.when)
                continue
            self._next_telemetry = due + timedelta(seconds=self.period_s)
            tick = self.tick(due)
            if not self.silent:
                out += tick
        out.sort(key=lambda m: m.ts)
        return [m for m in out if not self.silent or m.topic.endswith("/status")]

    def tick(self, now: datetime) -> list[Message]:
        """One telemetry period: update state, maybe spontaneous events, then telemetry."""
        raise NotImplementedError

    # ---- actions and commands -------------------------------------------------------------

    def act(self, action: str, args: Args, now: datetime) -> list[Message]:
        """Run a scripted action (validated against `actions`)."""
        if action not in self.actions:
            raise ValueError(f"{self.kind} has no action {action!r}")
        handler = getattr(self, f"act_{action}")
        result: list[Message] = handler(args, now)
        return [] if self.silent else result

    def command(self, payload: bytes, now: datetime) -> list[Message]:
        """Answer a command from `…/cmd` with a `cmd/ack` echoing its id."""
        if self.silent:
            return []
        try:
            cmd = json.loads(payload)
        except (ValueError, UnicodeDecodeError):
            return []  # no id to echo: nothing a device could answer
        if not isinstance(cmd, dict) or not isinstance(cmd.get("id"), str):
            return []
        name = str(cmd.get("name") or cmd.get("type") or cmd.get("command") or "")
        args = cmd.get("args") or cmd.get("params") or {}
        handler = getattr(self, "cmd_" + name.replace("-", "_"), None)
        if handler is None or not isinstance(args, dict):
            ack = CommandAck(id=cmd["id"][:64], ok=False, ts=now, seq=self.seq("cmd/ack"),
                             error=f"unsupported command {name!r}")
        else:
            ok, result, error = handler(args, now)
            ack = CommandAck(id=cmd["id"][:64], ok=ok, ts=now, seq=self.seq("cmd/ack"),
                             result=result, error=error)
        return [self.message("cmd/ack", ack)]

    def cmd_ping(self, args: dict[str, Any], now: datetime) -> tuple[bool, dict | None, str | None]:
        """Every device answers `ping`."""
        return True, {"pong": True}, None

    # ---- randomness -----------------------------------------------------------------------

    def _enabled(self, routine: bool) -> bool:
        return self.routine if routine else self.spontaneous

    def chance(self, per_hour: float, dt_s: float, *, routine: bool = False) -> bool:
        """Whether a Poisson process of `per_hour` fires within `dt_s`; incidents need
        `spontaneous`, everyday traffic (`routine=True`) needs `routine`."""
        if not self._enabled(routine) or per_hour <= 0:
            return False
        return self.rng.random() < 1 - math.exp(-per_hour * dt_s / 3600)

    def count(self, per_hour: float, dt_s: float, *, routine: bool = False) -> int:
        """How many times a Poisson process of `per_hour` fires within `dt_s` (Knuth)."""
        if not self._enabled(routine) or per_hour <= 0:
            return 0
        limit, k, p = math.exp(-per_hour * dt_s / 3600), 0, 1.0
        while True:
            p *= self.rng.random()
            if p <= limit:
                return k
            k += 1

    def soon(self, now: datetime, dt_s: float) -> datetime:
        """A random instant in the coming period: incidents drawn at a tick happen between
        ticks, through the agenda, so every channel's seq follows its timestamps."""
        return now + timedelta(milliseconds=self.rng.randint(1, int(dt_s * 1000)))
