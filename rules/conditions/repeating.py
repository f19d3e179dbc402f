"""`repeating`: at least k matching events within a sliding window of W seconds."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field

from devices.base import DeviceKind
from rules.conditions.base import (
    CompileEnv,
    ConditionModel,
    Effects,
    Evaluator,
    State,
    Where,
    check_where_fields,
    compile_where,
    event_keys,
    event_models,
)
from rules.ports import Message

if TYPE_CHECKING:
    from rules.model import Rule


class RepeatingCondition(ConditionModel):
    """Fires when `count` matching events fall within `within_s`; clears when the window thins."""

    type: Literal["repeating"] = "repeating"
    event: str | list[str] = Field(description="Event type(s) counted")
    where: Where = Field(default_factory=dict, description="Payload field filters")
    count: int = Field(ge=2, le=10_000, description="Occurrences needed (k)")
    within_s: float = Field(gt=0, le=30 * 86_400, description="Window length (W), seconds")

    def events(self) -> list[str]:
        """The event types as a list."""
        return [self.event] if isinstance(self.event, str) else list(self.event)


class RepeatingEvaluator(Evaluator):
    """State: the times of the occurrences still inside the window, and `on`."""

    cond: RepeatingCondition

    def __init__(self, cond: RepeatingCondition, rule: Rule, fx: Effects, env: CompileEnv) -> None:
        super().__init__(cond, rule, fx, env)
        self._where = compile_where(cond.where)

    def keys(self, kind: DeviceKind) -> set[str]:
        """The counted event types."""
        check_where_fields(self.cond.where, event_models(kind, self.cond.events()), "where")
        return event_keys(kind, self.cond.events())

    def on_message(self, msg: Message, now: float) -> None:
        """Count the occurrence; fire once k are inside the window."""
        if self._where is not None and not self._where(msg):
            return
        st = self.state(msg.device_id)
        times = self._prune(st, now)
        times.append(now)
        st.due = times[0] + self.cond.within_s
        self.fx.persist(self.rule, st)
        self.fx.wake(self.rule, st)
        if len(times) >= self.cond.count:
            st.data["on"] = True
            self.fx.fire(self.rule, msg.device_id, now, msg=msg,
                         detail={"count": len(times), "within_s": self.cond.within_s})

    def on_timer(self, st: State, now: float) -> None:
        """The oldest occurrence left the window."""
        times = self._prune(st, now)
        st.due = times[0] + self.cond.within_s if times else None
        if st.data.get("on") and len(times) < self.cond.count:
            st.data["on"] = False
            if self.rule.options.auto_clear:
                self.fx.clear(self.rule, st.device_id, now, "fewer occurrences in the window")
        self.fx.persist(self.rule, st)
        self.fx.wake(self.rule, st)

    def _prune(self, st: State, now: float) -> list[float]:
        cutoff = now - self.cond.within_s
        times = [t for t in st.data.get("times", []) if t > cutoff]
        st.data["times"] = times
        return times
