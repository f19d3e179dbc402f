"""`schedule`: the inner condition opens alerts only within time windows (community time zone)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, field_validator

from devices.base import DeviceKind
from rules.conditions.base import CompileEnv, ConditionModel, Effects, Evaluator, State
from rules.ports import Message, Subject

if TYPE_CHECKING:
    from rules.model import Rule

Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DAYS: tuple[Day, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _minutes(text: str) -> int:
    hours, _, minutes = text.partition(":")
    return int(hours) * 60 + int(minutes)


class Window(ConditionModel):
    """A daily window `start`–`end` (HH:MM, local time); end before start crosses midnight."""

    days: list[Day] = Field(default_factory=lambda: list(DAYS), description="Days it starts on")
    start: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$", description="Start, HH:MM")
    end: str = Field(pattern=r"^([01]\d|2[0-4]):[0-5]\d$", description="End, HH:MM (24:00 ok)")

    @field_validator("end")
    @classmethod
    def _not_empty(cls, value: str, info: Any) -> str:
        if value == info.data.get("start"):
            raise ValueError("end equals start: the window is empty")
        return value

    def contains(self, local: datetime) -> bool:
        """Whether the local time falls in the window."""
        t = local.hour * 60 + local.minute
        start, end = _minutes(self.start), _minutes(self.end)
        day = DAYS[local.weekday()]
        if start < end:
            return day in self.days and start <= t < end
        previous = DAYS[(local.weekday() - 1) % 7]
        return (day in self.days and t >= start) or (previous in self.days and t < end)


class ScheduleCondition(ConditionModel):
    """Wraps another condition; outside every window its firings are dropped."""

    type: Literal["schedule"] = "schedule"
    windows: list[Window] = Field(min_length=1, description="When the rule may open alerts")
    condition: Condition = Field(description="The gated condition (any kind)")  # noqa: F821


class _Gate:
    """Effects that drop `fire` outside the windows and pass everything else through."""

    def __init__(self, fx: Effects, schedule: ScheduleEvaluator) -> None:
        self._fx = fx
        self._schedule = schedule

    def fire(self, rule: Rule, device_id: str, at: float, **kwargs: Any) -> None:
        if self._schedule.open_at(at):
            self._fx.fire(rule, device_id, at, **kwargs)

    def clear(self, rule: Rule, device_id: str, at: float, reason: str) -> None:
        self._fx.clear(rule, device_id, at, reason)

    def persist(self, rule: Rule, st: State) -> None:
        self._fx.persist(rule, st)

    def annotate(self, rule: Rule, device_id: str, at: float,
                 detail: dict[str, Any]) -> bool:
        return self._fx.annotate(rule, device_id, at, detail)

    def wake(self, rule: Rule, st: State) -> None:
        self._fx.wake(rule, st)


class ScheduleEvaluator(Evaluator):
    """Delegates to the inner evaluator, sharing its states, through a gate."""

    cond: ScheduleCondition

    def __init__(self, cond: ScheduleCondition, rule: Rule, fx: Effects, env: CompileEnv) -> None:
        super().__init__(cond, rule, fx, env)
        from rules.conditions import build_evaluator  # the registry imports this module

        self.inner = build_evaluator(cond.condition, rule, _Gate(fx, self), env)
        self.states = self.inner.states
        self.tracks_activity = self.inner.tracks_activity

    def forget(self, device_id: str) -> None:
        """The inner evaluator owns the states."""
        self.inner.forget(device_id)

    def open_at(self, at: float) -> bool:
        """Whether epoch second `at` is inside a window, in the community's time zone."""
        local = datetime.fromtimestamp(at, self.env.tz)
        return any(w.contains(local) for w in self.cond.windows)

    def keys(self, kind: DeviceKind) -> set[str]:
        """The inner condition's keys."""
        return self.inner.keys(kind)

    def extra_keys(self) -> dict[str, set[str]]:
        """The inner condition's keys on other kinds."""
        return self.inner.extra_keys()

    def children(self) -> tuple[Evaluator, ...]:
        """The inner condition's evaluator."""
        return (self.inner,)

    def on_message(self, msg: Message, now: float) -> None:
        """Pass through."""
        self.inner.on_message(msg, now)

    def on_timer(self, st: State, now: float) -> None:
        """Pass through."""
        self.inner.on_timer(st, now)

    def seed(self, subject: Subject, last_seen: float, now: float) -> None:
        """Pass through."""
        self.inner.seed(subject, last_seen, now)
