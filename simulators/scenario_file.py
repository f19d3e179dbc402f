"""The scenario file format: a timed script of device actions and what it must produce."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal, Self
from zoneinfo import ZoneInfo

import yaml
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, model_validator

from simulators.community.model import DEFAULT_FILE, Community, load_community
from simulators.kinds.base import Args
from simulators.world import SIMULATORS

SCENARIO_DIR = Path(__file__).with_name("scenarios")
_OFFSET = re.compile(r"^\+(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
_CLOCK = re.compile(r"^(?:D\+(\d+)\s+)?(\d{1,2}):(\d{2})(?::(\d{2}))?$")
Severity = Literal["critical", "major", "minor", "info"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Title(_Strict):
    """Scenario title in both languages."""

    zh: str = Field(description="Chinese title")
    en: str = Field(description="English title")


class Step(_Strict):
    """One scripted action: at a time, on a device, do something with arguments."""

    at: str = Field(description="'HH:MM[:SS]' on the start day, 'D+N HH:MM', or '+1h30m'")
    device: str = Field(description="Device id from the community model")
    do: str = Field(description="Action name of the device's kind (see docs/simulators.md)")
    args: dict[str, Any] = Field(default_factory=dict, description="Action arguments")
    note: str = Field("", description="What happens, for readers")


class AlertExpectation(_Strict):
    """An alert the gateway must raise while (or after) the scenario runs."""

    rule: str = Field(description="Rule id, e.g. wristband.fall_no_movement")
    device: str = Field(description="Device the alert is about")
    severity: Severity | None = Field(None, description="Expected severity")
    state: Literal["active", "acknowledged", "cleared"] | None = Field(
        None, description="State at the end of the scenario, if it matters")


class TicketExpectation(_Strict):
    """A ticket the workflow must open."""

    category: str = Field(pattern=r"^[a-z][a-z0-9_]{0,39}$", description="Ticket category")
    device: str | None = Field(None, description="Device whose alert opened it")
    resident: str | None = Field(None, description="Subject resident, if any")
    grid: str | None = Field(None, description="Grid it must be dispatched to")


class Expectations(_Strict):
    """What the scenario must produce."""

    alerts: list[AlertExpectation] = Field(default_factory=list, description="Alerts")
    tickets: list[TicketExpectation] = Field(default_factory=list, description="Tickets")
    only: bool = Field(False, description="No alerts other than those listed may appear")


class Scenario(_Strict):
    """A scenario file."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$", description="Scenario id")
    title: Title
    description: str = Field("", description="The story, for people")
    community: str = Field(DEFAULT_FILE.name, description="Community file (next to the model)")
    start: AwareDatetime = Field(description="Scenario start, RFC 3339 with offset")
    end: str = Field(description="End: an offset '+2h' or a clock time like the steps' `at`")
    seed: int = Field(0, description="Random seed; same seed, same messages")
    devices: list[str] = Field(
        default_factory=list, description="Devices simulated in the background; default: "
        "those the steps name")
    routine: bool = Field(False, description="Wearers follow their daily routine")
    spontaneous: bool = Field(False, description="Random incidents too (off: only scripted)")
    steps: list[Step] = Field(default_factory=list, description="Scripted actions")
    expect: Expectations = Field(default_factory=Expectations, description="Expected outcome")

    @model_validator(mode="after")
    def _times(self) -> Self:
        end = self.offset(self.end)
        if end <= timedelta(0):
            raise ValueError(f"end {self.end!r} is not after the start")
        for i, step in enumerate(self.steps):
            at = self.offset(step.at)
            if not timedelta(0) <= at <= end:
                raise ValueError(f"steps[{i}].at {step.at!r} is outside the scenario")
        return self

    def offset(self, text: str) -> timedelta:
        """A step or end time as an offset from the start."""
        m = _OFFSET.match(text.strip())
        if m and any(m.groups()):
            d, h, mi, s = (int(x or 0) for x in m.groups())
            return timedelta(days=d, hours=h, minutes=mi, seconds=s)
        m = _CLOCK.match(text.strip())
        if not m:
            raise ValueError(f"time {text!r}: use 'HH:MM[:SS]', 'D+N HH:MM' or '+1h30m'")
        day, hh, mm, ss = (int(x or 0) for x in m.groups())
        base = self.start.replace(hour=0, minute=0, second=0, microsecond=0)
        return base + timedelta(days=day, hours=hh, minutes=mm, seconds=ss) - self.start

    def device_ids(self) -> list[str]:
        """Devices that take part: the declared background ones plus those the steps name."""
        ids = list(self.devices)
        ids += [s.device for s in self.steps if s.device not in ids]
        ids += [a.device for a in self.expect.alerts if a.device not in ids]
        return ids

    def load_community(self) -> Community:
        """The community this scenario plays in."""
        return load_community(DEFAULT_FILE.with_name(self.community))

    def compiled_steps(self, community: Community) -> list[tuple[timedelta, Step, Args]]:
        """Steps in time order with validated arguments; errors name the step."""
        out = []
        for i, step in enumerate(self.steps):
            where = f"scenario {self.id} steps[{i}] ({step.do} on {step.device})"
            try:
                spec = community.device(step.device)
            except KeyError:
                raise ScenarioError(f"{where}: unknown device") from None
            action = SIMULATORS[spec.kind].actions.get(step.do)
            if action is None:
                known = ", ".join(sorted(SIMULATORS[spec.kind].actions))
                raise ScenarioError(f"{where}: {spec.kind} has no action {step.do!r} ({known})")
            try:
                args = action.model_validate(step.args)
            except ValidationError as exc:
                raise ScenarioError(f"{where}: {exc}") from None
            problem = _semantic_problem(community, spec, args)
            if problem:
                raise ScenarioError(f"{where}: {problem}")
            out.append((self.offset(step.at), step, args))
        out.sort(key=lambda item: item[0])
        return out

    def check(self, community: Community | None = None) -> None:
        """Validate every reference against the community (devices, places, residents)."""
        community = community or self.load_community()
        self.compiled_steps(community)
        for ref in [*self.devices, *(a.device for a in self.expect.alerts),
                    *(t.device for t in self.expect.tickets if t.device)]:
            try:
                community.device(ref)
            except KeyError:
                raise ScenarioError(f"scenario {self.id}: unknown device {ref!r}") from None
        for ticket in self.expect.tickets:
            if ticket.resident:
                _resident(community, ticket.resident)

    def local_start(self, community: Community) -> datetime:
        """Start in the community's time zone."""
        return self.start.astimezone(ZoneInfo(community.site.timezone))


class ScenarioError(ValueError):
    """A scenario file that does not fit its community."""


def _resident(community: Community, resident_id: str) -> None:
    try:
        community.resident(resident_id)
    except KeyError:
        raise ScenarioError(f"unknown resident {resident_id!r}") from None


def _semantic_problem(community: Community, spec: Any, args: Args) -> str | None:
    """References inside arguments: places, residents, compartments, what a camera watches."""
    values = args.model_dump()
    place = values.get("place")
    if place is not None and place != "home" and place not in {p.id for p in community.pois}:
        return f"unknown place {place!r}"
    for key in ("resident", "recipient"):
        if values.get(key) is not None and values[key] not in {r.id for r in community.residents}:
            return f"unknown resident {values[key]!r}"
    compartment = values.get("compartment")
    if spec.kind == "locker" and compartment and compartment not in spec.compartments():
        return f"{spec.id} has no compartment {compartment!r}"
    if spec.kind == "camera":
        lane_action = type(args).__name__ in ("ParkCar", "Blocked")
        if lane_action and spec.fire_lane is None:
            return f"{spec.id} watches no fire lane"
        if type(args).__name__ == "Thrown" and spec.facade is None:
            return f"{spec.id} watches no facade"
    return None


def load_scenario(path: Path | str) -> Scenario:
    """Read and validate a scenario file (including references into its community)."""
    source = Path(path)
    try:
        scenario = Scenario.model_validate(yaml.safe_load(source.read_text(encoding="utf-8")))
    except ValidationError as exc:
        raise ScenarioError(f"{source}: {exc}") from None
    scenario.check()
    return scenario


def scenario_files() -> list[Path]:
    """The scenarios shipped with the simulators."""
    return sorted(SCENARIO_DIR.glob("*.yaml"))
