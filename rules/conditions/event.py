"""`event`: an event type (plus field filters) occurred; optionally cleared by another event."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field

from devices.base import DeviceKind
from rules.conditions.base import (
    CompileEnv,
    ConditionModel,
    Effects,
    Evaluator,
    Where,
    check_where_fields,
    compile_where,
    event_keys,
    event_models,
)
from rules.ports import Message

if TYPE_CHECKING:
    from rules.model import Rule


class EventCondition(ConditionModel):
    """Fires on every matching event; each repeat raises the open alert's count."""

    type: Literal["event"] = "event"
    event: str | list[str] = Field(description="Event type(s) of the kind's vocabulary")
    where: Where = Field(
        default_factory=dict, description="Payload field filters: value, or {eq, in, gt, ...}"
    )
    clear_on: list[str] = Field(
        default_factory=list, description="Event types that clear the alert (auto-clear)"
    )

    def events(self) -> list[str]:
        """The event types as a list."""
        return [self.event] if isinstance(self.event, str) else list(self.event)


class EventEvaluator(Evaluator):
    """Stateless: a match fires, a `clear_on` event clears."""

    cond: EventCondition

    def __init__(self, cond: EventCondition, rule: Rule, fx: Effects, env: CompileEnv) -> None:
        super().__init__(cond, rule, fx, env)
        self._where = compile_where(cond.where)
        self._fire_types = frozenset(cond.events())

    def keys(self, kind: DeviceKind) -> set[str]:
        """The event types, and those that clear."""
        keys = event_keys(kind, self.cond.events())
        check_where_fields(self.cond.where, event_models(kind, self.cond.events()), "where")
        return keys | event_keys(kind, self.cond.clear_on, "clear_on")

    def on_message(self, msg: Message, now: float) -> None:
        """Fire on a match, clear on a `clear_on` event."""
        if msg.type in self._fire_types:
            if self._where is None or self._where(msg):
                self.fx.fire(self.rule, msg.device_id, now, msg=msg)
        elif self.rule.options.auto_clear:
            self.fx.clear(self.rule, msg.device_id, now, f"event {msg.type}")
